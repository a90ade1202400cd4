#!/usr/bin/env bash
# OpenSSL 3 through the libp11 pkcs11 engine (Debian's libengine-pkcs11-openssl), with a
# private openssl.cnf naming our module as MODULE_PATH, against the embedded Kaztoken
# holding a key and its certificate. Proves: `req -x509` signed on the token;
# `dgst -sign` (PKCS#1 v1.5 and PSS) verified with the public key; `cms -sign` verified
# against the CA; TLS 1.2 and TLS 1.3 client authentication with the token's key against
# `s_server -Verify 1`, which reports the client certificate it verified.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/clients.sh"
vt_need openssl pkcs11-tool
vt_setup

ENGINES=$(openssl version -e | sed -n 's/^ENGINESDIR: "\(.*\)"$/\1/p')
ENGINE_SO=$ENGINES/pkcs11.so
[ -e "$ENGINE_SO" ] || vt_fail "libp11 engine not found at $ENGINE_SO (package libengine-pkcs11-openssl)"

vt_token_with_cert

# The engine configuration of docs/clients/openssl.md. Only the commands that use the
# token get it (OPENSSL_CONF per command): with the engine loaded, plain CA operations
# are not this test's business.
CNF=$VT_TMP/openssl-pkcs11.cnf
cat >"$CNF" <<EOF
openssl_conf = openssl_init

[openssl_init]
engines = engine_section

[engine_section]
pkcs11 = pkcs11_section

[pkcs11_section]
engine_id = pkcs11
dynamic_path = $ENGINE_SO
MODULE_PATH = $VT_MODULE
init = 0

[req]
distinguished_name = req_dn

[req_dn]
EOF
ossl() { OPENSSL_CONF=$CNF vt_host openssl "$@"; }
ENG=(-engine pkcs11 -keyform engine)
printf 'signed by a Kaztoken that exists only in software\n' >"$VT_TMP/data.txt"

vt_note "req -x509: a self-signed certificate made by the token's key"
vt_run req ossl req -new -x509 "${ENG[@]}" -key "$VT_KEY_URI" -passin "pass:$VT_PIN" \
  -subj "/C=KZ/CN=vtoken self-signed" -days 2 -sha256 -out "$VT_TMP/self.pem"
vt_run self-verify openssl verify -CAfile "$VT_TMP/self.pem" "$VT_TMP/self.pem"
cmp -s <(openssl x509 -in "$VT_TMP/self.pem" -noout -pubkey) "$VT_TMP/pub.pem" ||
  vt_fail "the self-signed certificate does not carry the token's public key"

vt_note "dgst -sign (PKCS#1 v1.5), verified with the public key"
vt_run dgst-sign ossl dgst -sha256 "${ENG[@]}" -sign "$VT_KEY_URI" -passin "pass:$VT_PIN" \
  -out "$VT_TMP/data.sig" "$VT_TMP/data.txt"
vt_run dgst-verify openssl dgst -sha256 -verify "$VT_TMP/pub.pem" \
  -signature "$VT_TMP/data.sig" "$VT_TMP/data.txt"
grep -qx "Verified OK" "$VT_TMP/dgst-verify.out" || vt_fail "signature does not verify"
# A signature of other data must not verify: the check above can fail.
printf 'other data\n' >"$VT_TMP/other.txt"
if openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/data.sig" \
  "$VT_TMP/other.txt" >/dev/null 2>&1; then
  vt_fail "the signature verifies over other data"
fi

vt_note "dgst -sign (RSA-PSS, salt 32), verified with the public key"
vt_run pss-sign ossl dgst -sha256 "${ENG[@]}" -sign "$VT_KEY_URI" -passin "pass:$VT_PIN" \
  -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out "$VT_TMP/data.pss" "$VT_TMP/data.txt"
vt_run pss-verify openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -sigopt rsa_padding_mode:pss \
  -sigopt rsa_pss_saltlen:32 -signature "$VT_TMP/data.pss" "$VT_TMP/data.txt"
grep -qx "Verified OK" "$VT_TMP/pss-verify.out" || vt_fail "PSS signature does not verify"

vt_note "cms -sign with the token's key and certificate, cms -verify against the CA"
vt_run cms-sign ossl cms -sign "${ENG[@]}" -inkey "$VT_KEY_URI" -passin "pass:$VT_PIN" \
  -signer "$VT_TMP/cert.pem" -md sha256 -binary -in "$VT_TMP/data.txt" -outform DER \
  -out "$VT_TMP/data.p7s"
vt_run cms-verify openssl cms -verify -inform DER -in "$VT_TMP/data.p7s" -binary \
  -content "$VT_TMP/data.txt" -CAfile "$VT_TMP/ca.pem" -out "$VT_TMP/cms-content.txt"
grep -q "Verification successful" "$VT_TMP/cms-verify.out" || vt_fail "CMS does not verify"
cmp -s "$VT_TMP/cms-content.txt" "$VT_TMP/data.txt" || vt_fail "CMS content differs"

vt_note "TLS client authentication with the token's key"
openssl req -new -newkey rsa:2048 -nodes -keyout "$VT_TMP/srv.key" -subj "/CN=127.0.0.1" \
  -out "$VT_TMP/srv.csr" >"$VT_TMP/srv-cert.log" 2>&1 || vt_fail "server key"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$VT_TMP/srv.ext"
openssl x509 -req -in "$VT_TMP/srv.csr" -CA "$VT_TMP/ca.pem" -CAkey "$VT_TMP/ca.key" \
  -set_serial 7 -days 2 -extfile "$VT_TMP/srv.ext" -out "$VT_TMP/srv.pem" \
  >>"$VT_TMP/srv-cert.log" 2>&1 || vt_fail "server certificate"

PORT=$(vt_port_base openssl)
SUBJECT_LINE="depth=0 C = KZ, CN = TESTOV TEST, serialNumber = IIN123456789011, emailAddress = testov@example.kz"

# tls <name> <version flag> [s_server options...]: one handshake. s_server -www answers
# with a page describing the connection, the client certificate it saw included; its log
# shows the chain it verified.
tls() {
  local name=$1 version=$2; shift 2
  PORT=$((PORT + 1))
  vt_bg "s_server-$name" openssl s_server -accept "127.0.0.1:$PORT" -cert "$VT_TMP/srv.pem" \
    -key "$VT_TMP/srv.key" -CAfile "$VT_TMP/ca.pem" -Verify 1 -verify_return_error \
    "$version" -naccept 1 -www "$@"
  local srv=$VT_LAST_PID
  vt_wait_for 10 grep -q ACCEPT "$VT_TMP/s_server-$name.log" || vt_fail "s_server did not start"
  printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=$CNF vt_host timeout 60 openssl s_client \
    -connect "127.0.0.1:$PORT" "$version" "${ENG[@]}" -key "$VT_KEY_URI" -pass "pass:$VT_PIN" \
    -cert "$VT_TMP/cert.pem" -CAfile "$VT_TMP/ca.pem" -verify_return_error \
    -verify_hostname 127.0.0.1 -ign_eof >"$VT_TMP/s_client-$name.out" 2>&1 ||
    { tail -n 40 "$VT_TMP/s_client-$name.out" >&2; vt_fail "s_client ($name) failed"; }
  wait "$srv" || vt_fail "s_server ($name) exited with an error"
  grep -qxF "$SUBJECT_LINE" "$VT_TMP/s_server-$name.log" ||
    vt_fail "s_server ($name) did not verify the token's certificate"
  grep -q "^Client certificate" "$VT_TMP/s_client-$name.out" ||
    vt_fail "s_server ($name) saw no client certificate"
  grep -q "Subject: C=KZ, CN=TESTOV TEST/serialNumber=IIN123456789011" "$VT_TMP/s_client-$name.out" ||
    vt_fail "s_server ($name) saw another client certificate"
}

vt_note "TLS 1.2, the client signs RSA PKCS#1 v1.5 (server allows only RSA+SHA256)"
tls tls12-pkcs1 -tls1_2 -client_sigalgs RSA+SHA256
grep -q "New, TLSv1.2" "$VT_TMP/s_client-tls12-pkcs1.out" || vt_fail "not TLS 1.2"
grep -q "^Peer signature type: RSA$" "$VT_TMP/s_client-tls12-pkcs1.out" ||
  vt_fail "the client did not sign PKCS#1 v1.5"

vt_note "TLS 1.2, default signature algorithms (the client signs RSA-PSS)"
tls tls12 -tls1_2
grep -q "New, TLSv1.2" "$VT_TMP/s_client-tls12.out" || vt_fail "not TLS 1.2"

vt_note "TLS 1.3 (RSA-PSS only)"
tls tls13 -tls1_3
grep -q "New, TLSv1.3" "$VT_TMP/s_client-tls13.out" || vt_fail "not TLS 1.3"
grep -q "^Peer signature type: RSA-PSS$" "$VT_TMP/s_client-tls13.out" ||
  vt_fail "the client did not sign RSA-PSS"

vt_note "a wrong PIN makes the handshake fail"
before=$(vt_user_tries)
PORT=$((PORT + 1))
vt_bg s_server-wrong openssl s_server -accept "127.0.0.1:$PORT" -cert "$VT_TMP/srv.pem" \
  -key "$VT_TMP/srv.key" -CAfile "$VT_TMP/ca.pem" -Verify 1 -verify_return_error -naccept 1 -www
vt_wait_for 10 grep -q ACCEPT "$VT_TMP/s_server-wrong.log" || vt_fail "s_server did not start"
rc=0
printf 'GET / HTTP/1.0\r\n\r\n' | OPENSSL_CONF=$CNF vt_host timeout 60 openssl s_client \
  -connect "127.0.0.1:$PORT" "${ENG[@]}" -key "$VT_KEY_URI" -pass pass:00000000 \
  -cert "$VT_TMP/cert.pem" -CAfile "$VT_TMP/ca.pem" -ign_eof >"$VT_TMP/s_client-wrong.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "s_client with a wrong PIN succeeded"
grep -q "Client certificate" "$VT_TMP/s_client-wrong.out" && vt_fail "the server got a certificate"
after=$(vt_user_tries)
[ "$after" -eq $((before - 1)) ] || vt_fail "tries left $before -> $after after one wrong PIN"
# log in correctly once so the token is not left low
vt_run relogin vt_p11 --login --pin "$VT_PIN" --list-objects
[ "$(vt_user_tries)" -eq "$before" ] || vt_fail "a good PIN did not reset the tries"

vt_note "ok"
