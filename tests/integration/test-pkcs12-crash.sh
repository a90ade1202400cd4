#!/usr/bin/env bash
# kill -9 during PKCS#12 rewrites: a process changing a file's password back and forth
# (through the keystore, and through the module with pkcs11-tool --change-pin) is killed
# at random moments; afterwards the file always opens under the old password or the new
# one, never neither, and still holds its key and certificate.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need pkcs11-tool openssl
vt_setup

HELPER=$VT_BUILD_DIR/tests/integration/pkcs12_helper
[ -x "$HELPER" ] || vt_fail "pkcs12_helper not built ($HELPER)"
NCA=$VT_SOURCE_DIR/../shared/vectors/nca
AUTH=AUTH_RSA256_b2c70a9ff7a5dc59de0ccc3c0ddde3437cc1f12d
P12=$VT_TMP/p12
mkdir -p "$P12"
cp "$NCA/$AUTH.p12" "$P12/"
chmod 600 "$P12/$AUTH.p12"
F=$P12/$AUTH.p12
A=Qwerty12
B=Alma2024ty
ITER=${VT_P12_CRASH_ITER:-60}

# Which password opens the file now (fails the test when neither does).
opens_with() {
  local pw
  pw=$("$HELPER" check "$F" "$A" "$B") || vt_fail "after kill -9 the file opens with neither password"
  printf '%s' "$pw"
}

vt_note "keystore: $ITER password changes killed at random moments"
declare -A seen=()
for i in $(seq "$ITER"); do
  "$HELPER" churn "$F" "$A" "$B" 2>"$VT_TMP/churn.log" &
  pid=$!
  # 2 to 80 ms: a rewrite takes a few ms, so kills land before, during and after them.
  sleep "0.0$(printf '%02d' $((RANDOM % 79 + 2)))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  grep -q "churn:" "$VT_TMP/churn.log" && { cat "$VT_TMP/churn.log" >&2; vt_fail "churn failed on its own"; }
  pw=$(opens_with)
  seen[$pw]=1
done
[ "${#seen[@]}" -eq 2 ] || vt_fail "the kills never left the file under both passwords (${!seen[*]})"
openssl pkcs12 -legacy -in "$F" -passin "pass:$(opens_with)" -nodes -info >"$VT_TMP/final.out" 2>&1 ||
  vt_fail "OpenSSL cannot read the file after the kills"
grep -q "BEGIN PRIVATE KEY" "$VT_TMP/final.out" || vt_fail "key lost"
grep -q "BEGIN CERTIFICATE" "$VT_TMP/final.out" || vt_fail "certificate lost"
stray=$(find "$P12" -name "$AUTH.p12.tmp.*" | wc -l)
vt_note "$stray temporary file(s) left by killed writers (never read as key stores)"
run_list=$(VTOKEN_P12_PATH=$P12 vt_host pkcs11-tool --module "$VT_MODULE" -L 2>&1)
[ "$(grep -c "$AUTH" <<<"$run_list")" -eq 1 ] || vt_fail "temporary files became slots"

# vt_host, but exec'd in a background subshell, so that $! is pkcs11-tool itself: a
# SIGKILL to a subshell would leave its pkcs11-tool running on as a second writer.
exec_host() {
  if [ "${VT_SANITIZE:-0}" = 1 ]; then
    exec env LD_PRELOAD="$(vt_asan_runtime)" ASAN_OPTIONS="$(vt_host_asan_options)" "$@"
  fi
  exec "$@"
}

vt_note "module: pkcs11-tool --change-pin killed at random moments"
export VTOKEN_P12_PATH=$P12
for i in $(seq 20); do
  cur=$(opens_with)
  if [ "$cur" = "$A" ]; then next=$B; else next=$A; fi
  ( exec_host pkcs11-tool --module "$VT_MODULE" --token-label AUTH_RSA256_b2c70a9ff7a5dc59de0c \
    --login --pin "$cur" --change-pin --new-pin "$next" >/dev/null 2>&1 ) &
  pid=$!
  sleep "0.$(printf '%02d' $((RANDOM % 30 + 1)))"
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  opens_with >/dev/null
done
vt_note "ok"
