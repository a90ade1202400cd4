#!/usr/bin/env bash
# `vtoken p12 new|info`: an empty .p12 token in NCA's or OpenSSL 3's algorithms, readable
# by openssl with its password and only with it; NCA's password rule enforced (or the one
# configured); never replacing a file. In a directory the module serves, the file is a
# slot of kind pkcs12 labelled with its name, which the token commands accept as TOKEN:
# its password changes as a PIN, NCA's key imported into it signs.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/cli.sh"
vt_need openssl pkcs11-tool grep stat cmp
vt_setup
vt_cli_check
unset VTOKEN_MODULE VTOKEN_P12_PATH VTOKEN_P12_RULE VTOKEN_TRACE
P12=$VT_TMP/p12
mkdir -p "$P12"

vt_note "NCA's password rule by default"
for pw in Abc12 abcdef12 ABCDEF12 Abcdefgh Abcdefghijklmnopqrstuvwxyz1234567; do
  expect_rc 1 vt p12 new "$P12/weak.p12" --password "$pw"
  err_has "password refused"
  none_has "$pw"
  [ ! -e "$P12/weak.p12" ] || vt_fail "a refused password left a file"
done

vt_note "new, NCA style: openssl reads it with the password (SHA-1 MAC, 1024 iterations)"
expect_rc 0 vt p12 new "$P12/mine.p12" --password Secret12 --json
jcheck "d == {'file': '$P12/mine.p12', 'style': 'nca', 'rule': 'min=6,max=32,upper,lower,digit', 'served': False}"
[ "$(stat -c %a "$P12/mine.p12")" = 600 ] || vt_fail "mode $(stat -c %a "$P12/mine.p12")"
expect_rc 0 openssl pkcs12 -in "$P12/mine.p12" -info -noout -legacy -passin pass:Secret12
err_has "MAC: sha1, Iteration 1024"
expect_rc 1 openssl pkcs12 -in "$P12/mine.p12" -info -noout -legacy -passin pass:Secret13
expect_rc 0 vt p12 info "$P12/mine.p12" --password Secret12 --json
jcheck "d['keys'] == 0 and d['certificates'] == [] and d['mac'] == {'digest': 'SHA1', 'iterations': 1024}"
expect_rc 6 vt p12 info "$P12/mine.p12" --password Secret13
err_has "wrong password"
# Never replaced.
cp "$P12/mine.p12" "$VT_TMP/mine.copy"
expect_rc 1 vt p12 new "$P12/mine.p12" --password Other123
cmp "$P12/mine.p12" "$VT_TMP/mine.copy" || vt_fail "an existing .p12 was replaced"
expect_rc 1 vt p12 new "$VT_TMP/nodir/x.p12" --password Secret12

vt_note "new, modern style: PBES2/AES, SHA-256 MAC"
expect_rc 0 vt p12 new "$P12/modern.p12" --style modern --password Modern12
expect_rc 0 openssl pkcs12 -in "$P12/modern.p12" -info -noout -passin pass:Modern12
err_has "MAC: sha256, Iteration 2048"
expect_rc 0 vt p12 info "$P12/modern.p12" --password Modern12 --json
jcheck "d['mac'] == {'digest': 'SHA256', 'iterations': 2048}"

vt_note "the password from a file or standard input; another rule when configured"
printf 'FromFile1\n' >"$VT_TMP/pw"
expect_rc 0 vt p12 new "$P12/file.p12" --pin-file "$VT_TMP/pw"
expect_rc 0 openssl pkcs12 -in "$P12/file.p12" -info -noout -legacy -passin pass:FromFile1
expect_rc_in "$VT_TMP/pw" 0 vt p12 new "$P12/stdin.p12" --pin-file -
expect_rc 0 openssl pkcs12 -in "$P12/stdin.p12" -info -noout -legacy -passin pass:FromFile1
expect_rc 0 vt p12 new "$P12/norule.p12" --rule none --password x
expect_rc 0 openssl pkcs12 -in "$P12/norule.p12" -info -noout -legacy -passin pass:x
expect_rc 2 vt p12 new "$P12/badrule.p12" --rule 'min=banana' --password x
VTOKEN_P12_RULE=min=3 expect_rc 0 vt p12 new "$P12/envrule.p12" --password abc
expect_rc 0 vt list   # a fresh home's vtoken.conf, to add to
printf '[pkcs12]\npassword_rule = min=8,digit\n' >>"$VTOKEN_HOME/vtoken.conf"
expect_rc 1 vt p12 new "$P12/confrule.p12" --password Abcdefghx
err_has "digit"
expect_rc 1 vt p12 new "$P12/confrule.p12" --password abc1
expect_rc 0 vt p12 new "$P12/confrule.p12" --password abcdefg1

vt_note "NCA's own files: info shows the alias and NCALayer's key entry"
expect_rc 0 vt p12 info "$NCA/$AUTH.p12" --password Qwerty12 --json
jcheck "d['keys'] == 1 and d['certificates'] == [{'alias': '${AUTH#AUTH_RSA256_}', 'ncalayer': '$(nca_entry_of "$NCA/$AUTH.cer")'}]"
jcheck "d['key_bags']['pbe'] == 'PBE-SHA1-3DES' and d['cert_safe']['pbe'] == 'PBE-SHA1-RC2-40'"
expect_rc 6 vt p12 info "$NCA/$AUTH.p12" --password qwerty12

vt_note "a served directory: each file is a pkcs12 slot, named by TOKEN=FILE.p12"
export VTOKEN_P12_PATH=$P12
expect_rc 0 vt p12 new "$P12/fresh.p12" --password Fresh123 --json
jcheck "d['served'] is True"
expect_rc 0 vt list --json
jcheck "sorted(s['label'] for s in d['slots'] if s['kind'] == 'pkcs12') == ['confrule', 'envrule', 'file', 'fresh', 'mine', 'modern', 'norule', 'stdin']"
jcheck "[(s['name'], s['user_pin']['tries_left'], s['objects']) for s in d['slots'] if s['label'] == 'fresh'] == [(None, None, 0)]"
expect_rc 0 vt list
out_has "pkcs12"
expect_rc 0 vt show "$P12/fresh.p12" --pin Fresh123 --json
jcheck "d['logged_in'] is True and d['label'] == 'fresh' and d['objects'] == []"
expect_rc 0 vt show fresh.p12 --json
jcheck "d['label'] == 'fresh'"
expect_rc 6 vt show fresh.p12 --pin Fresh124
err_has "CKR_PIN_INCORRECT"
# A .p12 token is no card of the home: reset does not touch it.
expect_rc 0 vt list --json
FRESH_SLOT=$(jget "[s['slot'] for s in d['slots'] if s['label'] == 'fresh'][0]")
expect_rc 3 vt reset "slot:$FRESH_SLOT" --yes
# Its password is its PIN: changed through the module under NCA's rule.
expect_rc 1 vt pin fresh.p12 --old Fresh123 --new weak
expect_rc 0 vt pin fresh.p12 --old Fresh123 --new Fresher12
expect_rc 0 openssl pkcs12 -in "$P12/fresh.p12" -info -noout -legacy -passin pass:Fresher12

vt_note "NCA's key imported into a .p12 token: it signs, and the file is NCA's again"
AUTH_SKI=${AUTH#AUTH_RSA256_}
expect_rc 0 vt import fresh.p12 "$NCA/$AUTH.p12" --password Qwerty12 --pin Fresher12 --json
jcheck "[(i['id'], i['private_key'], i['certificate']) for i in d['imported']] == [('$AUTH_SKI', True, True)]"
expect_rc 0 vt show fresh.p12 --pin Fresher12 --json
jcheck "[o['certificate']['ncalayer'] for o in d['objects'] if o['class'] == 'certificate'] == ['$(nca_entry_of "$NCA/$AUTH.cer")']"
expect_rc 0 vt p12 info "$P12/fresh.p12" --password Fresher12 --json
jcheck "d['keys'] == 1 and [c['alias'] for c in d['certificates']] == ['$AUTH_SKI']"
expect_rc 0 vt export-cert fresh.p12 "$AUTH_SKI" --pin Fresher12 --out "$VT_TMP/auth.pem"
cmp "$VT_TMP/auth.pem" "$NCA/$AUTH.cer" || vt_fail "the certificate from the .p12 token differs"
expect_rc 0 vt list --json
FRESH_SLOT=$(jget "[s['slot'] for s in d['slots'] if s['label'] == 'fresh'][0]")
printf 'signed by a .p12 token\n' >"$VT_TMP/data"
expect_rc 0 p11 --slot "$FRESH_SLOT" --login --pin Fresher12 --sign --mechanism SHA256-RSA-PKCS \
  --id "$AUTH_SKI" --input-file "$VT_TMP/data" --output-file "$VT_TMP/sig"
openssl x509 -in "$NCA/$AUTH.cer" -noout -pubkey >"$VT_TMP/pub.pem"
expect_rc 0 openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/sig" "$VT_TMP/data"
out_has "Verified OK"

vt_note "NCA's file names, longer than a token label, still name their token"
install -m 600 "$NCA/$AUTH.p12" "$P12/$AUTH.p12"
expect_rc 0 vt show "$AUTH.p12" --pin Qwerty12 --json
jcheck "d['label'] == '${AUTH:0:32}' and [o['certificate']['alias'] for o in d['objects'] if o['class'] == 'certificate'] == ['$AUTH_SKI']"
expect_rc 0 vt show "$P12/$AUTH.p12" --json
jcheck "d['label'] == '${AUTH:0:32}'"
# A path is that very file: elsewhere, or missing, it is no token of the module.
install -m 600 "$NCA/$AUTH.p12" "$VT_TMP/$AUTH.p12"
expect_rc 3 vt show "$VT_TMP/$AUTH.p12"
err_has "not in a directory the module serves"
expect_rc 3 vt show "$P12/nosuch.p12"
err_has "No such file"
vt_note "ok"
