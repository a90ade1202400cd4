#!/usr/bin/env bash
# Java's SunPKCS11 provider on the module (the configuration of docs/clients/java.md),
# against the embedded Kaztoken holding a key and its certificate. java/VtokenJavaTest.java,
# compiled here with javac, proves: a wrong PIN fails cleanly as CKR_PIN_INCORRECT and
# costs exactly one try; the PKCS11 KeyStore loads with the PIN and its alias pairs the
# private key with the token's certificate; SHA256withRSA and RSASSA-PSS signatures
# verify; 4 threads signing at once all produce valid signatures.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/clients.sh"
vt_need java javac pkcs11-tool openssl
vt_setup

vt_token_with_cert

vt_note "javac VtokenJavaTest"
vt_run javac javac -d "$VT_TMP/classes" "$VT_SOURCE_DIR/tests/integration/java/VtokenJavaTest.java"

CFG=$VT_TMP/vtoken-pkcs11.cfg
cat >"$CFG" <<EOF
name = vtoken
library = $VT_MODULE
slotListIndex = 0
EOF
# The JVM turns SIGSEGV into NullPointerExceptions and safepoints: under ASan it must
# keep that signal to itself.
jvm() {
  VT_HOST_ASAN_EXTRA=handle_segv=0:allow_user_segv_handler=1 \
    vt_host java -cp "$VT_TMP/classes" VtokenJavaTest "$CFG" "$@"
}

vt_note "a wrong PIN fails cleanly and costs one try"
before=$(vt_user_tries)
[ "$before" -ge 2 ] || vt_fail "the token has only $before tries left"
vt_run wrong-pin jvm wrong-pin 00000000
grep -q "^ok: wrong PIN rejected (CKR_PIN_INCORRECT)$" "$VT_TMP/wrong-pin.out" ||
  vt_fail "wrong PIN: $(cat "$VT_TMP/wrong-pin.out")"
after=$(vt_user_tries)
[ "$after" -eq $((before - 1)) ] || vt_fail "tries left $before -> $after after one wrong PIN"

vt_note "KeyStore with the right PIN, signatures, 4 threads at once"
vt_run sign jvm sign "$VT_PIN" "$VT_KEY_LABEL" "$VT_TMP/cert.der"
cat "$VT_TMP/sign.out"
for line in "ok: KeyStore loaded, aliases \[$VT_KEY_LABEL\]" \
  "ok: alias '$VT_KEY_LABEL' pairs a RSA private key with .*CN=TESTOV TEST, C=KZ" \
  "ok: SHA256withRSA signature made on the token verifies" \
  "ok: RSASSA-PSS signature made on the token verifies" \
  "ok: 4 threads made 20 signatures at once, all verify"; do
  grep -q "^$line$" "$VT_TMP/sign.out" || vt_fail "missing: $line"
done
# The good login reset the counter: the token is not left low.
[ "$(vt_user_tries)" -eq "$before" ] || vt_fail "tries not reset by a good PIN"

vt_note "ok"
