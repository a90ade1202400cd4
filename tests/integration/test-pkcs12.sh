#!/usr/bin/env bash
# PKCS#12 files as tokens through pkcs11-tool, with $VTOKEN_P12_PATH naming a directory
# of COPIES of NCA's test files (password Qwerty12). Proves: -L shows one slot per file;
# after login -O lists the key and the certificate named by the SubjectKeyIdentifier;
# a signature verifies with OpenSSL against the .cer; wrong passwords cost nothing;
# --change-pin keeps the file's algorithms (`openssl pkcs12 -info -legacy` the same
# before and after) and the old password stops working; a password against NCA's rule is
# refused and the file left alone; key generation and certificate write-back on a new
# file; a damaged file is a slot whose login fails cleanly; a read-only file signs but is
# write-protected; the module loads and unloads under LeakSanitizer.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need pkcs11-tool openssl cmp
vt_setup

HELPER=$VT_BUILD_DIR/tests/integration/pkcs12_helper
[ -x "$HELPER" ] || vt_fail "pkcs12_helper not built ($HELPER)"
NCA=$VT_SOURCE_DIR/../shared/vectors/nca
AUTH=AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d
SIGN=RSA256_11c707bd54cbfcccb3815e39c4eb57b1dc7dfea9
[ -r "$NCA/$AUTH.p12" ] || vt_fail "NCA vectors not found in $NCA"
P12=$VT_TMP/p12
mkdir -p "$P12"
cp "$NCA/$AUTH.p12" "$NCA/$SIGN.p12" "$P12/"
chmod 600 "$P12"/*.p12
export VTOKEN_P12_PATH=$P12

p11() { vt_host pkcs11-tool --module "$VT_MODULE" "$@"; }
# must_fail <name> <expected text> cmd...
must_fail() {
  local name=$1 want=$2; shift 2
  if "$@" >"$VT_TMP/$name.out" 2>&1; then
    cat "$VT_TMP/$name.out" >&2
    vt_fail "$name: succeeded, expected $want"
  fi
  grep -q "$want" "$VT_TMP/$name.out" || { cat "$VT_TMP/$name.out" >&2; vt_fail "$name: no $want"; }
}

vt_note "-L: one slot per file, labelled by the file name"
vt_run list p11 -L
for f in "$AUTH" "$SIGN"; do
  grep -q "$f.p12" "$VT_TMP/list.out" || vt_fail "no slot described as $f.p12"
done
grep -q "token label *: AUTH_RSA256_b2c70a9ff7a5dc59de0c$" "$VT_TMP/list.out" ||
  vt_fail "AUTH token label is not the first 32 characters of the file name"
grep -q "token model *: PKCS#12 file" "$VT_TMP/list.out" || vt_fail "no PKCS#12 token model"
grep -q "pin min/max *: 6/32" "$VT_TMP/list.out" || vt_fail "PIN range is not NCA's 6-32"
TA=(--token-label AUTH_RSA256_b2c70a9ff7a5dc59de0c)
TS=(--token-label RSA256_11c707bd54cbfcccb3815e39c)

vt_note "nothing visible before login; -O after login: key and certificate named by the SKI"
vt_run before-login p11 "${TA[@]}" -O
if grep -q "Object;" "$VT_TMP/before-login.out"; then vt_fail "objects visible before login"; fi
vt_run objects p11 "${TA[@]}" --login --pin Qwerty12 -O
SKI=b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d
grep -q "Private Key Object; RSA" "$VT_TMP/objects.out" || vt_fail "no private key"
grep -q "Certificate Object; type = X.509 cert" "$VT_TMP/objects.out" || vt_fail "no certificate"
[ "$(grep -c "ID: *$SKI" "$VT_TMP/objects.out")" -ge 3 ] || vt_fail "CKA_ID is not the SKI"
[ "$(grep -c "label: *$SKI" "$VT_TMP/objects.out")" -ge 3 ] || vt_fail "CKA_LABEL is not the SKI"
grep -q "Access: *sensitive" "$VT_TMP/objects.out" || vt_fail "private key not sensitive"

vt_note "signing: SHA256-RSA-PKCS and PSS, verified by OpenSSL with the .cer"
printf 'a document signed with a PKCS#12 token\n' >"$VT_TMP/data.txt"
openssl x509 -in "$NCA/$AUTH.cer" -noout -pubkey >"$VT_TMP/auth.pub"
vt_run sign p11 "${TA[@]}" --login --pin Qwerty12 --sign -m SHA256-RSA-PKCS \
  -i "$VT_TMP/data.txt" -o "$VT_TMP/data.sig"
vt_run verify openssl dgst -sha256 -verify "$VT_TMP/auth.pub" -signature "$VT_TMP/data.sig" "$VT_TMP/data.txt"
grep -qx "Verified OK" "$VT_TMP/verify.out" || vt_fail "signature does not verify"
if openssl dgst -sha256 -verify "$VT_TMP/auth.pub" -signature "$VT_TMP/data.sig" \
  "$VT_TMP/auth.pub" >/dev/null 2>&1; then vt_fail "the signature verifies over other data"; fi
vt_run pss p11 "${TA[@]}" --login --pin Qwerty12 --sign -m SHA256-RSA-PKCS-PSS \
  -i "$VT_TMP/data.txt" -o "$VT_TMP/data.pss"
vt_run pss-verify openssl dgst -sha256 -verify "$VT_TMP/auth.pub" -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:-1 -signature "$VT_TMP/data.pss" "$VT_TMP/data.txt"
vt_run test-all p11 "${TA[@]}" --login --pin Qwerty12 --test
grep -q "No errors" "$VT_TMP/test-all.out" || vt_fail "pkcs11-tool --test found errors"

vt_note "wrong passwords: CKR_PIN_INCORRECT every time, no counter, the right one still works"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12; do
  must_fail wrong CKR_PIN_INCORRECT p11 "${TS[@]}" --login --pin Qwerty13 -O
done
vt_run after-wrong p11 -L
if sed -n "/$SIGN/,/pin min/p" "$VT_TMP/after-wrong.out" | grep -qi "count low\|final try\|locked"; then
  vt_fail "a file shows PIN counter flags"
fi
vt_run right p11 "${TS[@]}" --login --pin Qwerty12 -O

vt_note "--change-pin: same algorithms before and after, the old password stops working"
F=$P12/$SIGN.p12
vt_run info-before openssl pkcs12 -info -legacy -noout -in "$F" -passin pass:Qwerty12
cp "$F" "$VT_TMP/before.p12"
must_fail bad-rule CKR_PIN_INVALID p11 "${TS[@]}" --login --pin Qwerty12 --change-pin --new-pin abcdefgh1
must_fail bad-len CKR_PIN_LEN_RANGE p11 "${TS[@]}" --login --pin Qwerty12 --change-pin --new-pin Ab1
cmp -s "$F" "$VT_TMP/before.p12" || vt_fail "a refused password changed the file"
vt_run change p11 "${TS[@]}" --login --pin Qwerty12 --change-pin --new-pin Alma2024ty
vt_run info-after openssl pkcs12 -info -legacy -noout -in "$F" -passin pass:Alma2024ty
diff "$VT_TMP/info-before.out" "$VT_TMP/info-after.out" >&2 || vt_fail "algorithms changed"
grep -q "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 1024" "$VT_TMP/info-after.out" ||
  vt_fail "the key bag is no longer NCA's 3DES"
grep -q "PKCS7 Encrypted data: pbeWithSHA1And40BitRC2-CBC, Iteration 1024" "$VT_TMP/info-after.out" ||
  vt_fail "the certificate safe is no longer NCA's RC2-40"
if openssl pkcs12 -info -legacy -noout -in "$F" -passin pass:Qwerty12 >/dev/null 2>&1; then
  vt_fail "the old password still opens the file"
fi
must_fail old-pin CKR_PIN_INCORRECT p11 "${TS[@]}" --login --pin Qwerty12 -O
vt_run new-pin p11 "${TS[@]}" --login --pin Alma2024ty -O
grep -q "Private Key Object" "$VT_TMP/new-pin.out" || vt_fail "key gone after the change"
# NCA's own view: the certificate and key read back by OpenSSL under the new password
vt_run extract openssl pkcs12 -legacy -in "$F" -passin pass:Alma2024ty -nokeys -clcerts -out "$VT_TMP/cert-after.pem"
cmp -s <(openssl x509 -in "$VT_TMP/cert-after.pem" -outform DER) <(openssl x509 -in "$NCA/$SIGN.cer" -outform DER) ||
  vt_fail "the certificate changed"

vt_note "key generation and certificate write-back on a new file"
vt_run create "$HELPER" create "$P12/new.p12" Qwerty12 nca
TN=(--token-label new)
vt_run keygen p11 "${TN[@]}" --login --pin Qwerty12 --keypairgen --key-type rsa:2048 --id 01 --label fresh
vt_run readpub p11 "${TN[@]}" --login --pin Qwerty12 --read-object --type pubkey --id 01 -o "$VT_TMP/new-pub.der"
openssl pkey -pubin -inform DER -in "$VT_TMP/new-pub.der" -out "$VT_TMP/new-pub.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VT_TMP/ca.key" -out "$VT_TMP/ca.pem" \
  -subj "/C=KZ/CN=vtoken test CA" -days 2 >/dev/null 2>&1
printf 'subjectKeyIdentifier=hash\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >"$VT_TMP/ext.cnf"
vt_run issue openssl x509 -new -subj "/C=KZ/CN=TESTOV TEST/serialNumber=IIN123456789011" \
  -force_pubkey "$VT_TMP/new-pub.pem" -CA "$VT_TMP/ca.pem" -CAkey "$VT_TMP/ca.key" \
  -extfile "$VT_TMP/ext.cnf" -days 2 -outform DER -out "$VT_TMP/new-cert.der"
NEWSKI=$(openssl x509 -inform DER -in "$VT_TMP/new-cert.der" -noout -ext subjectKeyIdentifier |
  tail -n1 | tr -d ' :' | tr 'A-F' 'a-f')
[ ${#NEWSKI} -eq 40 ] || vt_fail "could not read the new certificate's SKI"
vt_run writecert p11 "${TN[@]}" --login --pin Qwerty12 --write-object "$VT_TMP/new-cert.der" --type cert --id 01
vt_run new-objects p11 "${TN[@]}" --login --pin Qwerty12 -O
[ "$(grep -c "ID: *$NEWSKI" "$VT_TMP/new-objects.out")" -ge 3 ] ||
  vt_fail "key and certificate are not both named by the SKI after write-back"
vt_run new-sign p11 "${TN[@]}" --login --pin Qwerty12 --sign -m SHA256-RSA-PKCS \
  -i "$VT_TMP/data.txt" -o "$VT_TMP/new.sig"
openssl x509 -inform DER -in "$VT_TMP/new-cert.der" -noout -pubkey >"$VT_TMP/new-cert-pub.pem"
vt_run new-verify openssl dgst -sha256 -verify "$VT_TMP/new-cert-pub.pem" -signature "$VT_TMP/new.sig" "$VT_TMP/data.txt"
vt_run new-info openssl pkcs12 -info -legacy -noout -in "$P12/new.p12" -passin pass:Qwerty12
grep -q "Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC" "$VT_TMP/new-info.out" ||
  vt_fail "the generated key is not in an NCA-style key bag"
vt_run new-dump openssl pkcs12 -legacy -in "$P12/new.p12" -passin pass:Qwerty12 -nodes -info
[ "$(grep -c "friendlyName: $NEWSKI" "$VT_TMP/new-dump.out")" -eq 2 ] ||
  vt_fail "friendlyName of key and certificate is not the SKI in hex"

vt_note "a damaged file is a slot; its login fails cleanly and the file stays as it was"
head -c 1500 "$NCA/$AUTH.p12" >"$P12/broken.p12"
cp "$P12/broken.p12" "$VT_TMP/broken.orig"
vt_run list-broken p11 -L
grep -q "broken.p12" "$VT_TMP/list-broken.out" || vt_fail "no slot for the damaged file"
must_fail broken-login CKR_DEVICE_ERROR p11 --token-label broken --login --pin Qwerty12 -O
cmp -s "$P12/broken.p12" "$VT_TMP/broken.orig" || vt_fail "the damaged file was changed"
rm -f "$P12/broken.p12"

vt_note "a read-only file: write-protected, still signs"
chmod 400 "$P12/$AUTH.p12"
vt_run list-ro p11 -L
sed -n "/$AUTH/,/pin min/p" "$VT_TMP/list-ro.out" | grep -q "token flags.*readonly" ||
  vt_fail "read-only file not shown write-protected"
vt_run ro-sign p11 "${TA[@]}" --login --pin Qwerty12 --sign -m SHA256-RSA-PKCS \
  -i "$VT_TMP/data.txt" -o "$VT_TMP/ro.sig"
must_fail ro-change CKR_TOKEN_WRITE_PROTECTED p11 "${TA[@]}" --login --pin Qwerty12 --change-pin --new-pin Alma2024ty
chmod 600 "$P12/$AUTH.p12"

vt_note "the module loads and unloads cleanly (LeakSanitizer in the sanitised build)"
if [ "${VT_SANITIZE:-0}" = 1 ]; then
  # The helper is sanitised itself: leak checking runs at its exit, after dlclose.
  ASAN_OPTIONS=detect_leaks=1 vt_run host "$HELPER" host "$VT_MODULE" "home=$VTOKEN_HOME pcsc=0"
else
  vt_run host "$HELPER" host "$VT_MODULE" "home=$VTOKEN_HOME pcsc=0"
fi
grep -q "AUTH_RSA256" "$VT_TMP/host.out" || vt_fail "host saw no PKCS#12 token"
grep -q "KAZTOKEN" "$VT_TMP/host.out" || vt_fail "host saw no embedded token"
vt_note "ok"
