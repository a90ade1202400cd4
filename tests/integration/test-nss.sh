#!/usr/bin/env bash
# NSS's own tools (libnss3-tools) on the module, as Firefox and Chromium load it: modutil
# adds it to a fresh NSS database; certutil -U and -L -h all list the Kaztoken and its
# certificate (paired with its key: trust u,u,u); cmsutil -S signs CMS with the token's
# key and openssl cms -verify accepts it; certutil -R makes a certificate request signed
# by the token's key, which openssl verifies.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/clients.sh"
vt_need modutil certutil cmsutil openssl pkcs11-tool
vt_setup

vt_token_with_cert

DB=sql:$VT_TMP/nssdb
mkdir -p "$VT_TMP/nssdb"
printf '%s\n' "$VT_PIN" >"$VT_TMP/pin.txt"
NICK="$VT_TOKEN_LABEL:$VT_KEY_LABEL"

vt_note "modutil -add into a fresh NSS database"
vt_run nss-create certutil -N -d "$DB" --empty-password
vt_run modutil-add vt_host modutil -dbdir "$DB" -add vtoken -libfile "$VT_MODULE" -force
# (`modutil -list vtoken` would exit non-zero while the eToken and JaCarta slots are
# empty: it cannot describe a slot without a token. The full list is enough.)
vt_run modutil-list vt_host modutil -dbdir "$DB" -list
sed -n '/^  2\. vtoken$/,/^---/p' "$VT_TMP/modutil-list.out" >"$VT_TMP/modutil-vtoken.out"
grep -q "library name: $VT_MODULE" "$VT_TMP/modutil-vtoken.out" || vt_fail "modutil: no library"
grep -q "status: loaded" "$VT_TMP/modutil-vtoken.out" || vt_fail "modutil: module not loaded"
grep -q "token: $VT_TOKEN_LABEL$" "$VT_TMP/modutil-vtoken.out" || vt_fail "modutil: no Kaztoken"

vt_note "certutil -U lists the token"
vt_run certutil-U vt_host certutil -U -d "$DB"
grep -q "slot: DigiFlow LLP. KAZTOKEN" "$VT_TMP/certutil-U.out" || vt_fail "certutil -U: no slot"
grep -q "token: $VT_TOKEN_LABEL$" "$VT_TMP/certutil-U.out" || vt_fail "certutil -U: no token"

vt_note "certutil -L -h all lists the certificate as a user certificate (key found)"
vt_run certutil-L vt_host certutil -L -d "$DB" -h all -f "$VT_TMP/pin.txt"
grep -Eq "^$NICK +u,u,u$" "$VT_TMP/certutil-L.out" ||
  vt_fail "certutil -L: no '$NICK' with trust u,u,u"
vt_run certutil-L-cert vt_host certutil -L -d "$DB" -h "$VT_TOKEN_LABEL" -n "$NICK" -a \
  -f "$VT_TMP/pin.txt"
cmp -s <(openssl x509 -in "$VT_TMP/certutil-L-cert.out" -outform DER) "$VT_TMP/cert.der" ||
  vt_fail "the certificate NSS reads differs from the one written"
vt_run certutil-K vt_host certutil -K -d "$DB" -h "$VT_TOKEN_LABEL" -f "$VT_TMP/pin.txt"
grep -Eq "rsa +$VT_KEY_ID +$VT_KEY_LABEL$" "$VT_TMP/certutil-K.out" ||
  vt_fail "certutil -K: no RSA key $VT_KEY_ID"

vt_note "cmsutil -S signs with the token's key; openssl cms -verify accepts it"
# NSS checks the signer's chain for S/MIME signing: trust the test CA. (Every NSS
# tool run on this database loads the module, hence vt_host.)
vt_run ca-add vt_host certutil -A -d "$DB" -n "vtoken test CA" -t "C,C,C" -i "$VT_TMP/ca.pem"
printf 'CMS signed by NSS with a virtual Kaztoken\n' >"$VT_TMP/data.txt"
vt_run cmsutil vt_host cmsutil -S -d "$DB" -N "$NICK" -H SHA256 -T -G -p "$VT_PIN" \
  -i "$VT_TMP/data.txt" -o "$VT_TMP/data.p7s"
vt_run cms-verify openssl cms -verify -inform DER -in "$VT_TMP/data.p7s" -binary \
  -content "$VT_TMP/data.txt" -CAfile "$VT_TMP/ca.pem" -signer "$VT_TMP/signer.pem" \
  -out /dev/null
grep -q "Verification successful" "$VT_TMP/cms-verify.out" || vt_fail "CMS does not verify"
cmp -s <(openssl x509 -in "$VT_TMP/signer.pem" -outform DER) "$VT_TMP/cert.der" ||
  vt_fail "the CMS signer is not the token's certificate"
printf 'tampered\n' >"$VT_TMP/tampered.txt"
if openssl cms -verify -inform DER -in "$VT_TMP/data.p7s" -binary -content "$VT_TMP/tampered.txt" \
  -CAfile "$VT_TMP/ca.pem" -out /dev/null >/dev/null 2>&1; then
  vt_fail "the CMS signature verifies over other content"
fi

vt_note "certutil -R: a certificate request signed by the token's key"
# -k takes the key's CKA_ID in hex. (A nickname works only for a token NSS treats as
# "friendly": certutil then looks the certificate up without the password file.)
vt_run certutil-R vt_host certutil -R -d "$DB" -h "$VT_TOKEN_LABEL" -k "$VT_KEY_ID" \
  -s "C=KZ,CN=TESTOV TEST,serialNumber=IIN123456789011" -Z SHA256 -f "$VT_TMP/pin.txt" \
  -o "$VT_TMP/req.der"
vt_run req-verify openssl req -in "$VT_TMP/req.der" -inform DER -verify -noout -subject
grep -q "self-signature verify OK" "$VT_TMP/req-verify.out" || vt_fail "the request does not verify"
grep -q "CN = TESTOV TEST" "$VT_TMP/req-verify.out" || vt_fail "the request has another subject"
cmp -s <(openssl req -in "$VT_TMP/req.der" -inform DER -noout -pubkey) "$VT_TMP/pub.pem" ||
  vt_fail "the request does not carry the token's public key"

vt_note "ok"
