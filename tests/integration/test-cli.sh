#!/usr/bin/env bash
# The everyday token commands: list, show, import, export-cert, through the module as
# applications use it. Every command's --help; bad usage exits 2 and an unknown token 3;
# --json parses and says what the text says. After a key generation (pkcs11-tool) and
# the import of NCA's test keys, list and show report them (with NCALayer's key entry),
# the imported keys sign on the card and the signatures verify with NCA's certificates,
# and export-cert gives back the certificates byte for byte.
# PINs and tries: test-cli-pin.sh; init/reset: test-cli-init.sh; PKCS#12: test-cli-p12.sh.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/cli.sh"
vt_need pkcs11-tool openssl grep sed cmp
vt_setup
vt_cli_check
unset VTOKEN_MODULE VTOKEN_P12_PATH VTOKEN_P12_RULE VTOKEN_TRACE

vt_note "--help of every command names its usage and the exit codes"
for c in list show import export-cert pin init reset p12 sim card fault trace nca; do
  expect_rc 0 vt "$c" --help
  out_has "Usage: vtoken $c"
  out_has "Exit status:"
  expect_rc 0 vt help "$c"
  out_has "Usage: vtoken $c"
done
expect_rc 0 vt --help
for c in list show import export-cert pin init reset p12; do out_has "  $c "; done
expect_rc 0 vt show --help
out_has "NCALayer"

vt_note "the man page has a section for every command vtoken --help lists"
MAN=$VT_SOURCE_DIR/tools/vtoken.1
expect_rc 0 vt --help
for c in $(sed -n '/^Commands:/,/^$/s/^  \([a-z0-9-]*\) .*/\1/p' <<<"$OUT"); do
  pat=$(sed 's/-/\\\\-/g' <<<"$c")   # troff writes export\-cert
  grep -q "^\.SS \"vtoken $pat[ \"]" "$MAN" || vt_fail "tools/vtoken.1 has no section for '$c'"
done
[ "$(sed -n '/^Commands:/,/^$/p' <<<"$OUT" | grep -c '^  [a-z]')" -ge 13 ] ||
  vt_fail "vtoken --help lists fewer commands than expected: $OUT"
vt_need man
warn=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -l "$MAN" 2>&1 >/dev/null || true)
[ -z "$warn" ] || vt_fail "man -l tools/vtoken.1 warns: $warn"

vt_note "bad usage exits 2"
expect_rc 2 vt list extra
expect_rc 2 vt list --bogus
err_has "unknown option '--bogus'"
expect_rc 2 vt show
expect_rc 2 vt show kaztoken etoken
expect_rc 2 vt show kaztoken --pin 1 --pin-file /dev/null
expect_rc 2 vt import kaztoken
expect_rc 2 vt export-cert kaztoken
expect_rc 2 vt export-cert kaztoken 01 --pem --der
expect_rc 2 vt pin
expect_rc 2 vt pin kaztoken --unblock --old 1
expect_rc 2 vt pin kaztoken --so-pin 1
expect_rc 2 vt init newtok
expect_rc 2 vt init newtok --profile nosuch
expect_rc 2 vt init 'bad name' --profile kaztoken
expect_rc 2 vt init x.p12 --profile kaztoken
expect_rc 2 vt init newtok --profile kaztoken --label 123456789012345678901234567890123
expect_rc 2 vt reset kaztoken
expect_rc 2 vt p12
expect_rc 2 vt p12 frobnicate x.p12
expect_rc 2 vt p12 new
expect_rc 2 vt p12 new "$VT_TMP/x.p12" --style weird --password Abcdef12
[ ! -e "$VT_TMP/x.p12" ] || vt_fail "a refused p12 new left a file"

vt_note "an unknown token exits 3 and says what exists"
expect_rc 3 vt show nosuch
err_has "no token 'nosuch'"
err_has "configured tokens: kaztoken etoken jacarta"
err_has "slot:0 (KAZTOKEN)"
expect_rc 3 vt show slot:99
expect_rc 3 vt show slot:x
expect_rc 3 vt show label:NOSUCH
expect_rc 3 vt show nosuch.p12
err_has "VTOKEN_P12_PATH"
expect_rc 3 vt pin nosuch --old 12345678 --new 87654321
expect_rc 3 vt import nosuch "$NCA/$AUTH.p12" --password Qwerty12 --pin 12345678
expect_rc 3 vt export-cert nosuch 01
expect_rc 3 vt reset nosuch --yes

vt_note "list: the home's three factory tokens, through the module of this build"
expect_rc 0 vt list --json
jcheck "d['module'].endswith('/pkcs11/libvtoken-pkcs11.so')"
jcheck "d['home'] == '$VTOKEN_HOME'"
jcheck "[s['name'] for s in d['slots']] == ['kaztoken', 'etoken', 'jacarta']"
jcheck "[s['kind'] for s in d['slots']] == ['kaztoken', 'etoken', 'jacarta']"
jcheck "[s['slot'] for s in d['slots']] == [0, 1, 2]"
jcheck "[(s['user_pin']['tries_left'], s['user_pin']['tries_max']) for s in d['slots']] == [(10, 10), (15, 15), (10, 10)]"
jcheck "[(s['so_pin']['tries_left'], s['so_pin']['tries_max']) for s in d['slots']] == [(10, 10), (15, 15), (10, 10)]"
jcheck "all(s['objects'] == 0 and not s['user_pin']['locked'] for s in d['slots'])"
jcheck "all(0 < s['memory_free'] <= s['memory_total'] for s in d['slots'])"
jcheck "d['slots'][0]['label'] == 'KAZTOKEN' and d['slots'][0]['model'] == 'KAZTOKEN'"
jcheck "all(len(s['serial']) >= 8 for s in d['slots'])"
KZ_SERIAL=$(jget "d['slots'][0]['serial']")
KZ_FREE=$(jget "d['slots'][0]['memory_free']")
expect_rc 0 vt list
out_has "kaztoken"
out_has "$KZ_SERIAL"
out_has "10/10"
out_has "15/15"
# The three ways to name a token agree.
expect_rc 0 vt show kaztoken --json
jcheck "d['slot'] == 0 and d['serial'] == '$KZ_SERIAL' and d['objects'] == []"
expect_rc 0 vt show slot:0 --json
jcheck "d['serial'] == '$KZ_SERIAL'"
expect_rc 0 vt show label:KAZTOKEN --json
jcheck "d['serial'] == '$KZ_SERIAL'"
# An explicit module that is not there is an error, never another module.
VTOKEN_MODULE=$VT_TMP/nosuch.so expect_rc 1 vt list
err_has "nosuch.so"
expect_rc 1 vt list --module "$VT_TMP/nosuch.so"

# A home whose vtoken.conf is broken: the list says so and fails, rather than look empty.
mkdir -p "$VT_TMP/bad"
printf 'not an ini line\n' >"$VT_TMP/bad/vtoken.conf"
expect_rc 1 vt list --home "$VT_TMP/bad"
err_has "vtoken.conf:1"
expect_rc 1 vt show kaztoken --home "$VT_TMP/bad"
err_has "vtoken.conf:1"

vt_note "keys generated on the card: public parts without login, private with --pin"
expect_rc 0 p11 --slot 0 --login --pin 12345678 --keypairgen --key-type rsa:2048 --id 01 \
  --label gen1
expect_rc 0 vt list --json
jcheck "d['slots'][0]['objects'] == 1"   # the public key
jcheck "d['slots'][0]['memory_free'] < $KZ_FREE"
expect_rc 0 vt show kaztoken --json
jcheck "d['logged_in'] is False and [o['class'] for o in d['objects']] == ['public-key']"
jcheck "d['objects'][0]['id'] == '01' and d['objects'][0]['label'] == 'gen1' and d['objects'][0]['bits'] == 2048"
expect_rc 0 vt show kaztoken --pin 12345678 --json
jcheck "d['logged_in'] is True and sorted(o['class'] for o in d['objects']) == ['private-key', 'public-key']"
jcheck "[(o['local'], o['sensitive'], o['extractable'], o['sign']) for o in d['objects'] if o['class'] == 'private-key'] == [(True, True, False, True)]"
expect_rc 0 vt show kaztoken --pin 12345678
out_has "generated on the token"
none_has 12345678
echo 12345678 >"$VT_TMP/pin"
expect_rc 0 vt show kaztoken --pin-file "$VT_TMP/pin" --json
jcheck "len(d['objects']) == 2"
expect_rc_in "$VT_TMP/pin" 0 vt show kaztoken --login --json
jcheck "len(d['objects']) == 2"

vt_note "import NCA's AUTH key onto the Kaztoken, SIGN onto the eToken and the JaCarta"
AUTH_SKI=${AUTH#AUTH_RSA256_}
SIGN_SKI=${SIGN#RSA256_}
AUTH_ENTRY=$(nca_entry_of "$NCA/$AUTH.cer")
SIGN_ENTRY=$(nca_entry_of "$NCA/$SIGN.cer")
# The form research/tokens.md section 7 quotes for this very certificate.
case $AUTH_ENTRY in
  "RSA|ТЕСТОВ ТЕСТ|391759e5"*"53e7|b2c70a9f"*"f12d") ;;
  *) vt_fail "openssl gives an unexpected key entry for $AUTH.cer: $AUTH_ENTRY" ;;
esac
expect_rc 0 vt import kaztoken "$NCA/$AUTH.p12" --password Qwerty12 --pin 12345678 --json
jcheck "d['imported'] == [{'id': '$AUTH_SKI', 'label': '$AUTH_SKI', 'private_key': True, 'certificate': True, 'ncalayer': '$AUTH_ENTRY'}]"
printf 'Qwerty12\n1234567890\n' >"$VT_TMP/secrets"
expect_rc 0 vt import etoken "$NCA/$SIGN.p12" --pin-file "$VT_TMP/secrets"
out_has "$SIGN_ENTRY"
none_has Qwerty12
none_has 1234567890
expect_rc_in "$VT_TMP/secrets" 0 vt import jacarta "$NCA/$SIGN.p12" --pin-file -
# The same key again is refused, and nothing is added.
expect_rc 1 vt import kaztoken "$NCA/$AUTH.p12" --password Qwerty12 --pin 12345678
err_has "already holds"
# A wrong file password exits 6 and costs the token no PIN try.
expect_rc 6 vt import kaztoken "$NCA/$SIGN.p12" --password Qwerty13 --pin 12345678
expect_rc 0 vt list --json
jcheck "d['slots'][0]['user_pin']['tries_left'] == 10"
jcheck "d['slots'][0]['objects'] == 2"   # generated public key + certificate
# (an imported key's public half stays with the key on every card: no public key object)
jcheck "d['slots'][1]['objects'] == 1 and d['slots'][2]['objects'] == 1"
expect_rc 0 vt show jacarta --json
jcheck "'certificate' in [o['class'] for o in d['objects']] and 'private-key' not in [o['class'] for o in d['objects']]"

vt_note "show: the certificate as NCALayer lists it; the key imported, sensitive"
expect_rc 0 vt show kaztoken --pin 12345678 --json
jcheck "len(d['objects']) == 4"
jcheck "[o['certificate']['ncalayer'] for o in d['objects'] if o['class'] == 'certificate'] == ['$AUTH_ENTRY']"
jcheck "[o['certificate']['ski'] for o in d['objects'] if o['class'] == 'certificate'] == ['$AUTH_SKI']"
jcheck "[o['certificate']['serial'] for o in d['objects'] if o['class'] == 'certificate'] == ['391759e5658dca490117417838e6c72cd8a853e7']"
jcheck "[(o['certificate']['not_before'], o['certificate']['not_after'], o['certificate']['expired']) for o in d['objects'] if o['class'] == 'certificate'] == [('2020-01-28T06:23:03Z', '2021-01-27T06:23:03Z', True)]"
jcheck "[o['certificate']['issuer'] for o in d['objects'] if o['class'] == 'certificate'] == ['C=KZ, CN=ҰКО 3.0 (RSA TEST)']"
jcheck "[o['certificate']['subject'].split(', ')[:3] for o in d['objects'] if o['class'] == 'certificate'] == [['CN=ТЕСТОВ ТЕСТ', 'SN=ТЕСТОВ', 'serialNumber=IIN123456789011']]"
jcheck "[(o['label'], o['local'], o['sensitive'], o['extractable'], o['sign'], o['decrypt'], o['bits']) for o in d['objects'] if o['class'] == 'private-key' and o['id'] == '$AUTH_SKI'] == [('$AUTH_SKI', False, True, False, True, True, 2048)]"
expect_rc 0 vt show kaztoken
out_has "NCALayer:  $AUTH_ENTRY"
out_has "issuer:    C=KZ, CN=ҰКО 3.0 (RSA TEST)"
out_has "(expired)"
# NCA's SIGN key may sign, not decrypt (its certificate has no keyEncipherment).
expect_rc 0 vt show etoken --pin 1234567890 --json
jcheck "[(o['sign'], o['decrypt'], o['local']) for o in d['objects'] if o['class'] == 'private-key'] == [(True, False, False)]"
jcheck "[o['certificate']['ncalayer'] for o in d['objects'] if o['class'] == 'certificate'] == ['$SIGN_ENTRY']"

vt_note "the imported keys sign on the card; NCA's certificates verify the signatures"
printf 'vtoken signs this\n' >"$VT_TMP/data"
sign_verify() { # slot pin ski cert
  rm -f "$VT_TMP/sig"
  expect_rc 0 p11 --slot "$1" --login --pin "$2" --sign --mechanism SHA256-RSA-PKCS --id "$3" \
    --input-file "$VT_TMP/data" --output-file "$VT_TMP/sig"
  openssl x509 -in "$4" -noout -pubkey >"$VT_TMP/pub.pem"
  expect_rc 0 openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/sig" "$VT_TMP/data"
  out_has "Verified OK"
}
sign_verify 0 12345678 "$AUTH_SKI" "$NCA/$AUTH.cer"
sign_verify 1 1234567890 "$SIGN_SKI" "$NCA/$SIGN.cer"
sign_verify 2 1234567890 "$SIGN_SKI" "$NCA/$SIGN.cer"
# And a signature by the other key does not verify (the check can fail).
openssl x509 -in "$NCA/$AUTH.cer" -noout -pubkey >"$VT_TMP/pub.pem"
expect_rc 1 openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/sig" "$VT_TMP/data"

vt_note "export-cert gives back the imported certificates byte for byte"
expect_rc 0 vt export-cert kaztoken "$AUTH_SKI"
cmp "$VT_TMP/out" "$NCA/$AUTH.cer" || vt_fail "exported PEM differs from $AUTH.cer"
expect_rc 0 vt export-cert kaztoken "$AUTH_SKI" --der --out "$VT_TMP/auth.der"
openssl x509 -in "$NCA/$AUTH.cer" -outform DER >"$VT_TMP/auth-ref.der"
cmp "$VT_TMP/auth.der" "$VT_TMP/auth-ref.der" || vt_fail "exported DER differs from $AUTH.cer"
expect_rc 0 vt export-cert etoken "$SIGN_SKI" --pem --out "$VT_TMP/sign.pem"
cmp "$VT_TMP/sign.pem" "$NCA/$SIGN.cer" || vt_fail "exported PEM differs from $SIGN.cer"
# By label (NCA's alias) and with colons in the ID.
expect_rc 0 vt export-cert jacarta "$SIGN_SKI" --der --out "$VT_TMP/sign1.der"
expect_rc 0 vt export-cert jacarta "$(sed 's/../&:/g; s/:$//' <<<"$SIGN_SKI")" --der --out "$VT_TMP/sign2.der"
cmp "$VT_TMP/sign1.der" "$VT_TMP/sign2.der" || vt_fail "ID with colons found another certificate"
openssl x509 -in "$NCA/$SIGN.cer" -outform DER | cmp - "$VT_TMP/sign1.der" ||
  vt_fail "exported DER differs from $SIGN.cer"
expect_rc 1 vt export-cert kaztoken "$SIGN_SKI"
err_has "no certificate"
expect_rc 1 vt export-cert kaztoken 01   # a key pair, no certificate
expect_rc 1 vt export-cert kaztoken "$AUTH_SKI" --out "$VT_TMP/nodir/x.pem"

vt_note "NCALayer's entry: the serial without leading zeros; without SKI the CKA_ID is the alias"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VT_TMP/z.key" -out "$VT_TMP/z.pem" \
  -subj "/CN=Leading Zero/O=QA" -set_serial 0x0ABC -days 30 2>/dev/null
openssl pkcs12 -export -inkey "$VT_TMP/z.key" -in "$VT_TMP/z.pem" -out "$VT_TMP/z.p12" \
  -passout pass:Abcdef12
Z_SKI=$(openssl x509 -in "$VT_TMP/z.pem" -noout -ext subjectKeyIdentifier | tail -n1 |
  tr -d ' :' | tr 'A-F' 'a-f')
expect_rc 0 vt import jacarta "$VT_TMP/z.p12" --password Abcdef12 --pin 1234567890 --json
jcheck "[(i['id'], i['ncalayer']) for i in d['imported']] == [('$Z_SKI', 'RSA|Leading Zero|abc|$Z_SKI')]"
openssl req -x509 -newkey rsa:1024 -nodes -keyout "$VT_TMP/n.key" -out "$VT_TMP/n.pem" \
  -subj "/O=No CN" -addext "subjectKeyIdentifier=none" -days 30 2>/dev/null
openssl pkcs12 -export -inkey "$VT_TMP/n.key" -in "$VT_TMP/n.pem" -out "$VT_TMP/n.p12" \
  -passout pass:Abcdef12
# openssl names the pair by the certificate's SHA-1 (localKeyID).
N_ID=$(openssl x509 -in "$VT_TMP/n.pem" -outform DER | openssl dgst -sha1 -r | cut -d' ' -f1)
N_SERIAL=$(openssl x509 -in "$VT_TMP/n.pem" -noout -serial | sed 's/^serial=//; s/^0*//' | tr 'A-F' 'a-f')
expect_rc 0 vt import jacarta "$VT_TMP/n.p12" --password Abcdef12 --pin 1234567890
expect_rc 0 vt show jacarta --json
jcheck "[(o['certificate']['ski'], o['certificate']['alias'], o['certificate']['ncalayer']) for o in d['objects'] if o['id'] == '$N_ID' and o['class'] == 'certificate'] == [('', '$N_ID', 'RSA||$N_SERIAL|$N_ID')]"
jcheck "[o['certificate']['ncalayer'] for o in d['objects'] if o['id'] == '$Z_SKI' and o['class'] == 'certificate'] == ['RSA|Leading Zero|abc|$Z_SKI']"

vt_note "JSON strings survive labels that need escaping"
expect_rc 0 p11 --slot 1 --login --pin 1234567890 --keypairgen --key-type rsa:1024 --id 0a0b \
  --label 'quote " and \ backslash'
expect_rc 0 vt show etoken --json
jcheck "[o['label'] for o in d['objects'] if o['class'] == 'public-key'] == ['quote \" and \\\\ backslash']"

vt_note "import --json: when a later object fails, JSON still says what was written"
for n in p1 p2; do
  openssl req -x509 -newkey rsa:1024 -nodes -keyout "$VT_TMP/$n.key" -out "$VT_TMP/$n.pem" \
    -subj "/CN=Partial $n" -days 30 2>/dev/null
done
P1_SKI=$(openssl x509 -in "$VT_TMP/p1.pem" -noout -ext subjectKeyIdentifier | tail -n1 |
  tr -d ' :' | tr 'A-F' 'a-f')
# p2's certificate alone goes first; then a file with p1's pair and p2's certificate: the
# pair is written, the certificate is refused (the token holds it already).
openssl pkcs12 -export -nokeys -in "$VT_TMP/p2.pem" -out "$VT_TMP/p2.p12" -passout pass:Abcdef12
openssl pkcs12 -export -inkey "$VT_TMP/p1.key" -in "$VT_TMP/p1.pem" -certfile "$VT_TMP/p2.pem" \
  -out "$VT_TMP/p12.p12" -passout pass:Abcdef12
expect_rc 0 vt import etoken "$VT_TMP/p2.p12" --password Abcdef12 --pin 1234567890 --json
jcheck "d['complete'] is True and [(i['private_key'], i['certificate']) for i in d['imported']] == [(False, True)]"
expect_rc 1 vt import etoken "$VT_TMP/p12.p12" --password Abcdef12 --pin 1234567890 --json
err_has "already holds a certificate"
jcheck "d['complete'] is False and d['token'] == 'etoken'"
jcheck "[(i['id'], i['private_key'], i['certificate']) for i in d['imported']] == [('$P1_SKI', True, True)]"
grep -q '^imported' <<<"$OUT" && vt_fail "text lines in --json output: $OUT"
# Without --json the same is said in text.
expect_rc 0 p11 --slot 1 --login --pin 1234567890 --delete-object --type privkey --id "$P1_SKI"
expect_rc 0 p11 --slot 1 --login --pin 1234567890 --delete-object --type cert --id "$P1_SKI"
expect_rc 1 vt import etoken "$VT_TMP/p12.p12" --password Abcdef12 --pin 1234567890
out_has "imported private key + certificate id=$P1_SKI"
vt_note "ok"
