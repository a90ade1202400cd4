#!/usr/bin/env bash
# valgrind memcheck over the module as it ships (the normal build): pkcs11-tool drives
# key generation, --test (every mechanism), signing, certificate write and removal and
# two PIN changes on each embedded card, then login, signing and a password change on a
# PKCS#12 file; pkcs12_helper loads and unloads the module. Any memory error, and any
# definite or indirect leak not in tests/integration/valgrind.supp (third-party noise
# only, each entry explained), fails the test.
#
# Defined only in the normal build (tests/integration/CMakeLists.txt): valgrind cannot
# run ASan-instrumented code, and the sanitized build checks the same flows with ASan.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need valgrind pkcs11-tool openssl
vt_setup
[ "${VT_SANITIZE:-0}" = 1 ] && vt_fail "valgrind cannot run the sanitized build's module"

SUPP=$VT_SOURCE_DIR/tests/integration/valgrind.supp
HELPER=$VT_BUILD_DIR/tests/integration/pkcs12_helper
NCA=$VT_SOURCE_DIR/../shared/vectors/nca
AUTH=AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d
runs=0

# vg <what> cmd...: run cmd under memcheck; fail on any error or leak.
vg() {
  local what=$1; shift
  local log=$VT_TMP/vg.$runs.log
  runs=$((runs + 1))
  if ! valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
      --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --keep-debuginfo=yes \
      --num-callers=40 --suppressions="$SUPP" "$@" >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    vt_fail "$what (valgrind log: $log)"
  fi
}

P12=$VT_TMP/p12
mkdir -p "$P12"
cp "$NCA/$AUTH.p12" "$P12/"
chmod 600 "$P12/$AUTH.p12"
export VTOKEN_P12_PATH=$P12
openssl x509 -in "$NCA/$AUTH.cer" -outform DER -out "$VT_TMP/cert.der"
printf 'vtoken under valgrind' >"$VT_TMP/data"

tool() { vg "$1" pkcs11-tool --module "$VT_MODULE" "${@:2}"; }

vg "pkcs11-tool -L" pkcs11-tool --module "$VT_MODULE" -L
slot=0
for fam in kaztoken:12345678:24681357 etoken:1234567890:1357924680 jacarta:1234567890:1357924680; do
  IFS=: read -r name pin pin2 <<<"$fam"
  vt_note "$name"
  s=(--slot "$slot" --login --pin "$pin")
  tool "$name keygen" "${s[@]}" --keypairgen --key-type rsa:1024 --id 01 --label vg
  tool "$name --test" "${s[@]}" --test
  tool "$name sign" "${s[@]}" --sign --mechanism SHA256-RSA-PKCS --id 01 \
    --input-file "$VT_TMP/data" --output-file "$VT_TMP/sig.$name"
  [ -s "$VT_TMP/sig.$name" ] || vt_fail "$name: no signature"
  tool "$name write cert" "${s[@]}" --write-object "$VT_TMP/cert.der" --type cert --id 01 --label vgcert
  tool "$name list" "${s[@]}" -O
  tool "$name delete cert" "${s[@]}" --delete-object --type cert --id 01
  tool "$name change PIN" --slot "$slot" --login --pin "$pin" --change-pin --new-pin "$pin2"
  tool "$name change PIN back" --slot "$slot" --login --pin "$pin2" --change-pin --new-pin "$pin"
  slot=$((slot + 1))
done

vt_note "pkcs12"
s=(--slot "$slot" --login --pin Qwerty12)
tool "pkcs12 list" "${s[@]}" -O
tool "pkcs12 sign" "${s[@]}" --sign --mechanism SHA256-RSA-PKCS \
  --id b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d --input-file "$VT_TMP/data" --output-file "$VT_TMP/sig.p12"
[ -s "$VT_TMP/sig.p12" ] || vt_fail "pkcs12: no signature"
tool "pkcs12 change password" "${s[@]}" --change-pin --new-pin Alma2024ty
tool "pkcs12 change password back" --slot "$slot" --login --pin Alma2024ty --change-pin --new-pin Qwerty12

vt_note "load, use and unload the module"
[ -x "$HELPER" ] || vt_fail "pkcs12_helper not built ($HELPER)"
vg "module load/unload" "$HELPER" host "$VT_MODULE" "home=$VTOKEN_HOME p12_path=$P12 pcsc=0"
vt_note "ok: $runs runs under memcheck, no errors, no leaks"
