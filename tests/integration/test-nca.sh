#!/usr/bin/env bash
# `vtoken nca`: NCA's flows (reissue, keys, login, passwd, revoke) on each token kind
# (kaztoken, etoken, jacarta) and on a .p12 file, through the module. The certificates
# are read back with a third-party client (pkcs11-tool) and checked with openssl against
# NCA's profile and the test CA; signatures made on the token are verified by openssl;
# revocation shows in the CA's index, `keys` and the CRL; wrong and blocked PINs say
# what is left; every --json output is parsed back.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_setup
vt_need openssl pkcs11-tool sha1sum /usr/bin/python3

export VTOKEN_MODULE=$VT_MODULE
export VTOKEN_P12_PATH=$VT_TMP/p12
mkdir -p "$VTOKEN_P12_PATH"
CA=$VTOKEN_HOME/ca
PERSON=(--iin 123456789011 --name "ТЕСТОВ ТЕСТ" --patronymic "ТЕСТОВИЧ")
W=$VT_TMP/work
mkdir -p "$W"

nca() { "$VTOKEN" nca "$@"; }
p11() { vt_host pkcs11-tool --module "$VT_MODULE" "$@"; }
# jget FILE EXPR: a Python expression over the parsed JSON document d.
jget() { /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# run_rc WANT cmd...: run, keep stdout/stderr in $W/out, $W/err; fail unless the exit code is WANT.
run_rc() {
  local want=$1 rc=0; shift
  "$@" >"$W/out" 2>"$W/err" || rc=$?
  if [ "$rc" != "$want" ]; then
    cat "$W/out" "$W/err" >&2
    vt_fail "exit $rc, wanted $want: $*"
  fi
}
has() { grep -qF -- "$2" "$1" || { cat "$1" >&2; vt_fail "missing in $(basename "$1"): $2"; }; }

# ---- the certificate checks (openssl on what pkcs11-tool reads from the token) ----------

# The subject's RDNs as encoded: "name:TYPE" per line, in order.
rdns() {
  openssl x509 -inform DER -in "$1" -noout -subject -nameopt sep_multiline,sname,show_type |
    sed -n 's/^ *\([A-Za-z]*\)=\([A-Z0-9]*\):.*/\1:\2/p'
}

check_cert() { # DER TEMPLATE DAYS
  local der=$1 tmpl=$2 days=$3 text ski spki aki ca_ski nb na
  text=$(openssl x509 -inform DER -in "$der" -noout -text) || vt_fail "not a certificate: $der"
  # subject: NCA's RDN order and string types (as in NCA's test certificates)
  [ "$(rdns "$der" | tr '\n' ' ')" = "CN:UTF8STRING SN:UTF8STRING serialNumber:PRINTABLESTRING C:PRINTABLESTRING L:UTF8STRING ST:UTF8STRING GN:UTF8STRING " ] ||
    { rdns "$der" >&2; vt_fail "$tmpl subject RDNs differ from NCA's"; }
  openssl x509 -inform DER -in "$der" -noout -subject -nameopt RFC2253,-esc_msb |
    grep -qF 'GN=ТЕСТОВИЧ,ST=АСТАНА,L=АСТАНА,C=KZ,serialNumber=IIN123456789011,SN=ТЕСТОВ,CN=ТЕСТОВ ТЕСТ' ||
    vt_fail "$tmpl subject values"
  grep -q 'X509v3 Key Usage: critical' <<<"$text" || vt_fail "$tmpl keyUsage not critical"
  if [ "$tmpl" = AUTH ]; then
    grep -q '^ *Digital Signature, Key Encipherment$' <<<"$text" || vt_fail "AUTH keyUsage"
    grep -q '^ *TLS Web Client Authentication, 1.2.398.3.3.4.1.1$' <<<"$text" || vt_fail "AUTH EKU"
    grep -q 'Policy: 1.2.398.3.3.2.4$' <<<"$text" || vt_fail "AUTH policy"
  else
    grep -q '^ *Digital Signature, Non Repudiation$' <<<"$text" || vt_fail "SIGN keyUsage"
    grep -q '^ *E-mail Protection, 1.2.398.3.3.4.1.1$' <<<"$text" || vt_fail "SIGN EKU"
    grep -q 'Policy: 1.2.398.3.3.2.3$' <<<"$text" || vt_fail "SIGN policy"
  fi
  grep -q 'CPS: http://pki.gov.kz/cps' <<<"$text" || vt_fail "$tmpl CPS qualifier"
  grep -q 'Signature Algorithm: sha256WithRSAEncryption' <<<"$text" || vt_fail "$tmpl signature algorithm"
  grep -q 'Public-Key: (2048 bit)' <<<"$text" || vt_fail "$tmpl key size"
  # SKI = SHA-1 of the DER SubjectPublicKeyInfo (NCA's way); AKI = the CA's SKI
  ski=$(openssl x509 -inform DER -in "$der" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)
  spki=$(openssl x509 -inform DER -in "$der" -noout -pubkey | openssl pkey -pubin -outform DER | sha1sum | cut -c1-40)
  [ "$ski" = "$spki" ] || vt_fail "$tmpl SKI $ski is not SHA-1(SPKI) $spki"
  aki=$(openssl x509 -inform DER -in "$der" -noout -ext authorityKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)
  ca_ski=$(openssl x509 -in "$CA/ca.crt" -noout -ext subjectKeyIdentifier | tail -1 | tr -d ' :' | tr A-F a-f)
  [ "${aki#keyid}" = "$ca_ski" ] || vt_fail "$tmpl AKI $aki is not the CA's SKI $ca_ski"
  # validity per media
  nb=$(date -d "$(openssl x509 -inform DER -in "$der" -noout -startdate | cut -d= -f2)" +%s)
  na=$(date -d "$(openssl x509 -inform DER -in "$der" -noout -enddate | cut -d= -f2)" +%s)
  [ $(((na - nb) / 86400)) = "$days" ] || vt_fail "$tmpl validity $(((na - nb) / 86400)) days, wanted $days"
  # the chain
  openssl x509 -inform DER -in "$der" -out "$der.pem"
  openssl verify -CAfile "$CA/ca.crt" "$der.pem" >/dev/null || vt_fail "$tmpl does not verify against the test CA"
}

# ---- one token ---------------------------------------------------------------------------

# flows NAME LABEL PIN NEWPIN DAYS TRIES: every flow on one token.
flows() {
  local tok=$1 label=$2 pin=$3 newpin=$4 days=$5 tries=$6 t id serial auth_serial sign_serial
  vt_note "$tok: reissue"
  run_rc 0 nca reissue "$tok" --pin "$pin" "${PERSON[@]}" --json
  cp "$W/out" "$W/reissue.json"
  [ "$(jget "$W/reissue.json" 'd["ok"]')" = True ] || vt_fail "reissue json ok"
  [ "$(jget "$W/reissue.json" '[k["template"] for k in d["issued"]]')" = "['AUTH', 'SIGN']" ] ||
    vt_fail "reissue: two certificates, AUTH and SIGN"
  [ "$(jget "$W/reissue.json" 'd["token"]["media"]')" = "$([ "$days" = 365 ] && echo file || echo token)" ] ||
    vt_fail "reissue: media"
  for i in 0 1; do
    t=$(jget "$W/reissue.json" "d['issued'][$i]['template']")
    id=$(jget "$W/reissue.json" "d['issued'][$i]['id']")
    serial=$(jget "$W/reissue.json" "d['issued'][$i]['serial']")
    [ "$(jget "$W/reissue.json" "d['issued'][$i]['label']")" = "$id" ] || vt_fail "$t label is not the alias"
    [ "$(jget "$W/reissue.json" "d['issued'][$i]['status']")" = valid ] || vt_fail "$t status"
    [ "$t" = AUTH ] && auth_serial=$serial || sign_serial=$serial
    # what a third-party client reads from the token: certificate, keys, CKA_ID = SKI
    p11 --token-label "$label" --login --pin "$pin" --read-object --type cert --id "$id" \
      -o "$W/$t.der" >/dev/null 2>&1 || vt_fail "$tok: pkcs11-tool cannot read the $t certificate (id $id)"
    check_cert "$W/$t.der" "$t" "$days"
    [ "$(openssl x509 -inform DER -in "$W/$t.der" -noout -serial | cut -d= -f2 | tr A-F a-f)" = "$serial" ] ||
      vt_fail "$t serial on the token differs from the CA's"
    # a signature made by the token's key verifies with the certificate
    printf 'document for %s %s\n' "$tok" "$t" >"$W/doc"
    p11 --token-label "$label" --login --pin "$pin" --sign -m SHA256-RSA-PKCS --id "$id" \
      -i "$W/doc" -o "$W/doc.sig" >/dev/null 2>&1 || vt_fail "$tok: pkcs11-tool cannot sign with $t"
    openssl x509 -inform DER -in "$W/$t.der" -noout -pubkey >"$W/pub.pem"
    openssl dgst -sha256 -verify "$W/pub.pem" -signature "$W/doc.sig" "$W/doc" >/dev/null ||
      vt_fail "$tok: the $t key's signature does not verify with its certificate"
  done
  grep -q "^$auth_serial	V	.*	AUTH	" "$CA/index" || vt_fail "AUTH not valid in the CA index"

  vt_note "$tok: keys"
  run_rc 0 nca keys "$tok" --pin "$pin" --json
  cp "$W/out" "$W/keys.json"
  [ "$(jget "$W/keys.json" 'len(d["keys"])')" = 2 ] || vt_fail "keys: two certificates"
  [ "$(jget "$W/keys.json" 'all(k["private_key"] and k["status"]=="valid" and k["iin"]=="IIN123456789011" for k in d["keys"])')" = True ] ||
    vt_fail "keys: both valid, with their private keys"
  run_rc 0 nca keys "$tok" --pin "$pin"
  has "$W/out" "serial $auth_serial"
  has "$W/out" "status  valid"

  vt_note "$tok: login"
  run_rc 0 nca login "$tok" --pin "$pin"
  has "$W/out" "signed challenge verified: CN=ТЕСТОВ ТЕСТ, IIN123456789011"
  run_rc 0 nca login "$tok" --pin "$pin" --json
  [ "$(jget "$W/out" 'd["verified"] and d["certificate"]["serial"]')" = "$auth_serial" ] || vt_fail "login json"

  vt_note "$tok: wrong PIN"
  if [ "$tries" = 0 ]; then
    run_rc 6 nca login "$tok" --pin Wrong9pass
    has "$W/err" "wrong password for $tok (a .p12 file counts no tries)"
  else
    run_rc 6 nca login "$tok" --pin 99999999
    has "$W/err" "wrong PIN for $tok: $((tries - 1)) of $tries tries left"
    run_rc 6 nca login "$tok" --pin 99999999 --json
    [ "$(jget "$W/out" '(d["ok"], d["ckr"], d["pin"]["tries_left"], d["pin"]["tries_max"])')" = \
      "(False, 'CKR_PIN_INCORRECT', $((tries - 2)), $tries)" ] || vt_fail "wrong PIN json"
  fi
  run_rc 0 nca login "$tok" --pin "$pin" # a good PIN gives the tries back
  if [ "$tries" != 0 ]; then
    run_rc 6 nca login "$tok" --pin 99999999
    has "$W/err" "$((tries - 1)) of $tries tries left"
    run_rc 0 nca login "$tok" --pin "$pin"
  fi

  vt_note "$tok: passwd"
  run_rc 0 nca passwd "$tok" --old "$pin" --new "$newpin" --json
  [ "$(jget "$W/out" 'd["changed"]')" = True ] || vt_fail "passwd json"
  run_rc 6 nca login "$tok" --pin "$pin"
  run_rc 0 nca login "$tok" --pin "$newpin"
  if [ "$tries" = 0 ]; then
    run_rc 1 nca passwd "$tok" --old "$newpin" --new qwerty12
    has "$W/err" "NCA's rule: 6 to 32 characters"
  else
    run_rc 1 nca passwd "$tok" --old "$newpin" --new 123
    has "$W/err" "length is outside what $tok accepts"
  fi
  run_rc 0 nca passwd "$tok" --old "$newpin" --new "$pin"
  has "$W/out" "C_Login with the new"
  run_rc 0 nca login "$tok" --pin "$pin"

  vt_note "$tok: revoke SIGN"
  run_rc 0 nca revoke "$tok" --pin "$pin" --template SIGN --reason keyCompromise --json
  [ "$(jget "$W/out" '(d["revoked"]["serial"], d["revoked"]["reason"], d["signer"])')" = \
    "('$sign_serial', 'keyCompromise', '$auth_serial')" ] || vt_fail "revoke json"
  grep -q "^$sign_serial	R	.*	keyCompromise	SIGN	" "$CA/index" || vt_fail "SIGN not revoked in the index"
  ls "$CA/requests/$sign_serial"-*.txt >/dev/null || vt_fail "the signed request is not kept"
  run_rc 0 nca keys "$tok" --pin "$pin" --json
  [ "$(jget "$W/out" '[(k["template"], k["status"]) for k in d["keys"]]')" = "[('AUTH', 'valid'), ('SIGN', 'revoked')]" ] ||
    vt_fail "keys after revoke"
  run_rc 0 nca keys "$tok" --pin "$pin"
  has "$W/out" "REVOKED"
  # the CRL says so too
  openssl verify -crl_check -CAfile "$CA/ca.crt" -CRLfile "$CA/crl.pem" "$W/SIGN.der.pem" >"$W/v" 2>&1 &&
    vt_fail "the CRL does not list the revoked SIGN certificate"
  has "$W/v" "certificate revoked"
  openssl verify -crl_check -CAfile "$CA/ca.crt" -CRLfile "$CA/crl.pem" "$W/AUTH.der.pem" >/dev/null ||
    vt_fail "AUTH fails the CRL check"
  run_rc 1 nca revoke "$tok" --pin "$pin" --serial "$sign_serial"
  has "$W/err" "already revoked"
  run_rc 0 nca login "$tok" --pin "$pin" # AUTH still valid

  vt_note "$tok: reissue over a set (the old one removed; its certificates stay valid, as at NCA)"
  run_rc 0 nca reissue "$tok" --pin "$pin" "${PERSON[@]}" --json
  [ "$(jget "$W/out" 'sorted((r["template"], r["serial"], r["revoked_by_ca"], r["status"]) for r in d["removed"])')" = \
    "[('AUTH', '$auth_serial', False, 'valid'), ('SIGN', '$sign_serial', False, 'revoked')]" ] ||
    vt_fail "reissue: the old set"
  grep -q "^$auth_serial	V	" "$CA/index" || vt_fail "the old AUTH is no longer valid at the CA"
  p11 --token-label "$label" --login --pin "$pin" -O >"$W/objects" 2>&1 || vt_fail "pkcs11-tool -O"
  [ "$(grep -c '^Certificate Object' "$W/objects")" = 2 ] || { cat "$W/objects"; vt_fail "not 2 certificates"; }
  [ "$(grep -c '^Private Key Object' "$W/objects")" = 2 ] || { cat "$W/objects"; vt_fail "not 2 private keys"; }
  grep -qi "$auth_serial" "$W/objects" && vt_fail "the old AUTH certificate is still on the token"
  # the old AUTH, gone from the token, revoked by a request the new AUTH key signs
  run_rc 0 nca revoke "$tok" --pin "$pin" --serial "$auth_serial" --reason superseded
  grep -q "^$auth_serial	R	.*	superseded	AUTH	" "$CA/index" || vt_fail "old AUTH not revoked"

  vt_note "$tok: reissue --revoke-old"
  run_rc 0 nca keys "$tok" --pin "$pin" --json
  auth_serial=$(jget "$W/out" '[k["serial"] for k in d["keys"] if k["template"]=="AUTH"][0]')
  sign_serial=$(jget "$W/out" '[k["serial"] for k in d["keys"] if k["template"]=="SIGN"][0]')
  run_rc 0 nca reissue "$tok" --pin "$pin" "${PERSON[@]}" --revoke-old --json
  [ "$(jget "$W/out" 'sorted((r["template"], r["serial"], r["revoked_by_ca"]) for r in d["removed"])')" = \
    "[('AUTH', '$auth_serial', True), ('SIGN', '$sign_serial', True)]" ] || vt_fail "reissue --revoke-old"
  grep -q "^$auth_serial	R	.*	superseded	AUTH	" "$CA/index" || vt_fail "--revoke-old: AUTH not superseded"
  grep -q "^$sign_serial	R	.*	superseded	SIGN	" "$CA/index" || vt_fail "--revoke-old: SIGN not superseded"

  vt_note "$tok: revoke AUTH: login refused"
  auth_serial=$(jget "$W/out" 'd["issued"][0]["serial"]')
  run_rc 0 nca revoke "$tok" --pin "$pin" --serial "$auth_serial"
  run_rc 1 nca login "$tok" --pin "$pin"
  has "$W/err" "login refused: AUTH certificate $auth_serial is revoked"
  run_rc 1 nca revoke "$tok" --pin "$pin" --template SIGN
  has "$W/err" "no valid AUTH key"
  run_rc 0 nca reissue "$tok" --pin "$pin" "${PERSON[@]}"
  run_rc 0 nca login "$tok" --pin "$pin"
}

# ---- the runs ----------------------------------------------------------------------------

vt_note "usage errors"
run_rc 2 nca
run_rc 2 nca frobnicate
run_rc 2 nca reissue kaztoken --pin 12345678 --iin 12345 --name "ТЕСТОВ ТЕСТ"
run_rc 2 nca reissue kaztoken --pin 12345678 --iin 123456789011 --name "ТЕСТОВ"
run_rc 2 nca revoke kaztoken --pin 12345678
run_rc 2 nca revoke kaztoken --pin 12345678 --template BOTH
run_rc 3 nca keys nosuchtoken --pin 12345678
run_rc 0 nca --help
has "$W/out" "reissue"

vt_note "the test CA"
run_rc 0 nca ca --json
[ "$(jget "$W/out" 'd["dir"]')" = "$CA" ] || vt_fail "ca json dir"
ca_sum=$(cat "$CA/ca.key" "$CA/ca.crt" | sha256sum)
openssl x509 -in "$CA/ca.crt" -noout -subject -nameopt RFC2253,-esc_msb | grep -qF 'CN=ҰКО 3.0 (RSA TEST) [vtoken],C=KZ' ||
  vt_fail "CA name"
openssl x509 -in "$CA/ca.crt" -noout -text | grep -q 'CA:TRUE' || vt_fail "CA basicConstraints"
[ "$(stat -c %a "$CA/ca.key")" = 600 ] || vt_fail "CA key mode"

flows kaztoken KAZTOKEN 12345678 87654312 1095 10
flows etoken eToken 1234567890 0987612345 1095 15
flows jacarta JaCarta 1234567890 0987612345 1095 10

vt_note "PKCS#12 file"
"$VTOKEN" p12 new "$VTOKEN_P12_PATH/personal.p12" --password Qwerty12 >/dev/null ||
  vt_fail "vtoken p12 new"
flows "$VTOKEN_P12_PATH/personal.p12" personal Qwerty12 Qwerty34 365 0

vt_note "a reissue that fails half-way removes what it made and keeps the previous set"
run_rc 0 nca keys kaztoken --pin 12345678 --json
before=$(jget "$W/out" 'sorted(k["serial"] for k in d["keys"])')
"$VTOKEN" fault kaztoken --sw 6A84 --ins 46 --nth 2 >/dev/null || vt_fail "vtoken fault"
run_rc 1 nca reissue kaztoken --pin 12345678 "${PERSON[@]}"
"$VTOKEN" fault kaztoken --clear >/dev/null
has "$W/err" "SIGN key pair: C_GenerateKeyPair (RSA-2048): CKR_DEVICE_MEMORY"
has "$W/err" "the previous key set is unchanged"
run_rc 0 nca keys kaztoken --pin 12345678 --json
[ "$(jget "$W/out" 'sorted(k["serial"] for k in d["keys"])')" = "$before" ] || vt_fail "the key set changed"
p11 --token-label KAZTOKEN --login --pin 12345678 -O >"$W/objects" 2>&1 || vt_fail "pkcs11-tool -O"
[ "$(grep -c 'Object;' "$W/objects")" = 6 ] || { cat "$W/objects"; vt_fail "leftover objects"; }
tail -n 1 "$CA/index" | grep -q "	R	.*	cessationOfOperation	AUTH	" ||
  vt_fail "the AUTH certificate issued for the failed reissue is not revoked"
run_rc 0 nca login kaztoken --pin 12345678

vt_note "objects an interrupted reissue left (its temporary label) are removed by the next"
p11 --token-label KAZTOKEN --login --pin 12345678 --keypairgen --key-type rsa:1024 \
  --label vtoken-nca-pending --id 99 >/dev/null 2>&1 || vt_fail "pkcs11-tool --keypairgen"
run_rc 0 nca reissue kaztoken --pin 12345678 "${PERSON[@]}"
has "$W/out" "leftovers removed"
p11 --token-label KAZTOKEN --login --pin 12345678 -O >"$W/objects" 2>&1 || vt_fail "pkcs11-tool -O"
grep -q vtoken-nca-pending "$W/objects" && vt_fail "pending objects left"
[ "$(grep -c 'Object;' "$W/objects")" = 6 ] || { cat "$W/objects"; vt_fail "not one key set"; }

vt_note "the CA checks who asks: a request signed for another IIN is refused"
run_rc 0 nca reissue etoken --pin 1234567890 --iin 990101300123 --name "ЕКІНШІ АДАМ"
sign_serial=$(nca keys kaztoken --pin 12345678 --json | /usr/bin/python3 -c \
  'import json,sys; print([k["serial"] for k in json.load(sys.stdin)["keys"] if k["template"]=="SIGN"][0])')
run_rc 1 nca revoke etoken --pin 1234567890 --serial "$sign_serial"
has "$W/err" "belongs to IIN123456789011, the signer is IIN990101300123"

vt_note "a blocked PIN says how to unblock it"
for i in $(seq 9); do run_rc 6 nca login kaztoken --pin 99999999; done
has "$W/err" "1 of 10 tries left; one more wrong PIN blocks it"
run_rc 7 nca login kaztoken --pin 99999999
has "$W/err" "vtoken pin kaztoken --unblock"
run_rc 7 nca login kaztoken --pin 12345678 --json
[ "$(jget "$W/out" '(d["ckr"], d["pin"]["locked"])')" = "('CKR_PIN_LOCKED', True)" ] || vt_fail "locked json"
p11 --token-label KAZTOKEN --login --login-type so --so-pin 87654321 --init-pin --new-pin 12345678 \
  >/dev/null 2>&1 || vt_fail "unblock with pkcs11-tool --init-pin"
run_rc 0 nca login kaztoken --pin 12345678

[ "$(cat "$CA/ca.key" "$CA/ca.crt" | sha256sum)" = "$ca_sum" ] || vt_fail "the CA was rewritten"
vt_note "ok"
