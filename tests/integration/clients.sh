# Shared by the real-client tests (test-nss.sh, test-java.sh, test-openssl.sh,
# test-browser.sh). Sourced after lib.sh. Gives an embedded Kaztoken holding an RSA key
# and a certificate for it, and small helpers around lib.sh's vt_host.
# shellcheck shell=bash

VT_PIN=12345678
VT_TOKEN_LABEL=KAZTOKEN
VT_KEY_ID=01
VT_KEY_LABEL=auth
VT_SUBJECT="/C=KZ/CN=TESTOV TEST/serialNumber=IIN123456789011/emailAddress=testov@example.kz"
VT_KEY_URI="pkcs11:token=$VT_TOKEN_LABEL;id=%$VT_KEY_ID;type=private"

# vt_host (lib.sh) runs a program that loads the module, with the ASan runtime preloaded
# in the sanitized build. vt_host_env gives the same as VT_HOST_ENV=(VAR=value ...) for
# `env`, so that a background service started through vt_bg is the host program itself
# (its PID is the one vt_bg stops), not a shell around it.
vt_host_env() {
  VT_HOST_ENV=()
  if [ "${VT_SANITIZE:-0}" = 1 ]; then
    VT_HOST_ENV=("LD_PRELOAD=$(vt_asan_runtime)${LD_PRELOAD:+ $LD_PRELOAD}"
      "ASAN_OPTIONS=$(vt_host_asan_options)")
  fi
}

# vt_p11 args...: pkcs11-tool on our module.
vt_p11() { vt_host pkcs11-tool --module "$VT_MODULE" "$@"; }

# vt_token_with_cert: on the embedded Kaztoken, an on-card RSA-2048 key pair (id 01,
# label "auth") and a certificate for it written back to the token with the same id and
# label. The certificate is issued by a throwaway software CA, so the chain is real:
#   $VT_TMP/ca.pem, ca.key   the CA
#   $VT_TMP/cert.pem, .der   the token's certificate
#   $VT_TMP/pub.pem          the token's public key
vt_token_with_cert() {
  [ -e "$VT_MODULE" ] || vt_fail "module not built: $VT_MODULE"
  vt_run keygen vt_p11 --login --pin "$VT_PIN" --keypairgen --key-type rsa:2048 \
    --id "$VT_KEY_ID" --label "$VT_KEY_LABEL"
  vt_run read-pub vt_p11 --read-object --type pubkey --id "$VT_KEY_ID" \
    --output-file "$VT_TMP/pub.der"
  vt_run pub-pem openssl pkey -pubin -inform DER -in "$VT_TMP/pub.der" -out "$VT_TMP/pub.pem"

  cat >"$VT_TMP/ext.cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ca
[dn]
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[user]
basicConstraints = CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation,keyEncipherment
extendedKeyUsage = clientAuth,emailProtection
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  vt_run ca openssl req -x509 -config "$VT_TMP/ext.cnf" -newkey rsa:2048 -nodes \
    -keyout "$VT_TMP/ca.key" -out "$VT_TMP/ca.pem" -subj "/C=KZ/O=vtoken tests/CN=vtoken test CA" \
    -days 2
  # OpenSSL 3.0 has no "x509 -new": a request signed by the CA key carries the subject,
  # -force_pubkey puts the token's key in the certificate.
  vt_run csr openssl req -new -config "$VT_TMP/ext.cnf" -key "$VT_TMP/ca.key" \
    -subj "$VT_SUBJECT" -out "$VT_TMP/user.csr"
  vt_run cert openssl x509 -req -in "$VT_TMP/user.csr" -force_pubkey "$VT_TMP/pub.pem" \
    -CA "$VT_TMP/ca.pem" -CAkey "$VT_TMP/ca.key" -set_serial 0x5eed01 -days 2 \
    -extfile "$VT_TMP/ext.cnf" -extensions user -out "$VT_TMP/cert.pem"
  vt_run cert-der openssl x509 -in "$VT_TMP/cert.pem" -outform DER -out "$VT_TMP/cert.der"
  vt_run write-cert vt_p11 --login --pin "$VT_PIN" --write-object "$VT_TMP/cert.der" \
    --type cert --id "$VT_KEY_ID" --label "$VT_KEY_LABEL"
  vt_run list-objects vt_p11 --login --pin "$VT_PIN" --list-objects
  grep -q "Certificate Object; type = X.509 cert" "$VT_TMP/list-objects.out" ||
    vt_fail "the certificate is not on the token"
}

# vt_user_tries: the user PIN tries left on the embedded Kaztoken, as the card itself
# reports them. C_GetTokenInfo has only the COUNT_LOW/FINAL_TRY/LOCKED flags, so this
# reads the card's answer to VERIFY without data (00 20 00 02 -> 63Cx, x tries left) from
# the module's APDU trace of a `pkcs11-tool -T`. The module is loaded under the name
# libkaztoken-pkcs11.so, so that it opens the Kaztoken only (docs/pkcs11.md, vendor
# personalities) and the trace holds no other card's VERIFY.
vt_user_tries() {
  local trace=$VT_TMP/tries.trace sw kaz=$VT_TMP/kaztoken-only/libkaztoken-pkcs11.so
  mkdir -p "${kaz%/*}"
  ln -sf "$VT_MODULE" "$kaz"
  rm -f "$trace"
  VTOKEN_TRACE=$trace vt_host pkcs11-tool --module "$kaz" --list-token-slots >/dev/null 2>&1 ||
    vt_fail "pkcs11-tool -T failed"
  sw=$(grep -A1 '> 00200002$' "$trace" | sed -n 's/.*  < .* \([0-9a-f]\{4\}\)$/\1/p' | tail -1)
  case $sw in
    63c?) echo $((16#${sw#63c})) ;;
    6983) echo 0 ;;
    *) vt_fail "no user PIN tries in the module trace (VERIFY answered '$sw'; $trace)" ;;
  esac
}
