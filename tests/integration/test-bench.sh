#!/usr/bin/env bash
# vtoken-bench table, briefly, through scripts/bench.sh (a private pcscd, `vtoken sim`):
# it completes and prints every row of the table with a figure. A smoke test: no timing
# is asserted (docs/PERFORMANCE.md has the measurements and how to take them).
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need pcscd
vt_setup
[ -x "$VT_BUILD_DIR/tools/bench/vtoken-bench" ] || vt_fail "vtoken-bench not built"
[ -e /usr/lib/softhsm/libsofthsm2.so ] || vt_fail "SoftHSM2 missing (Debian package softhsm2)"
# SoftHSM2 runs inside the bench: its leaks are not ours (the module's are checked elsewhere).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
out=$VT_TMP/bench.out
bash "$VT_SOURCE_DIR/scripts/bench.sh" --build "$VT_BUILD_DIR" --seconds 0.4 --rounds 2 \
  --keygens 1 --inits 3 >"$out" 2>&1 || vt_fail "scripts/bench.sh failed: $(tail -30 "$out")"
cat "$out"
grep -q "^vtoken-bench table: RSA-2048" "$out" || vt_fail "no table"
# Every row has a number: nothing is '-' (not measured) or 'failed'.
for row in "OpenSSL EVP_PKEY_sign, 1 thread" "OpenSSL EVP_PKEY_sign, 2 threads" \
  "SoftHSM2 C_Sign, 1 thread" "SoftHSM2 C_Sign, 2 threads" "vtoken embedded Kaztoken, 1 thread" \
  "vtoken embedded, 2 threads, one token" "vtoken embedded, 2 threads, two tokens" \
  "vtoken embedded eToken, 1 thread" "vtoken embedded JaCarta, 1 thread" \
  "vtoken .p12 file, 1 thread" "vtoken .p12 file, 2 threads" \
  "vtoken pcscd+vpcd Kaztoken, 1 thread" "vtoken pcscd+vpcd Kaztoken, 2 threads" \
  "RSA-2048 key generation, OpenSSL" "RSA-2048 key generation, SoftHSM2" \
  "RSA-2048 key generation, vtoken embedded" "C_Initialize..C_GetTokenInfo" \
  "find 1 of 1,000 session objects, by label" "find 1 of 1,000 session objects, class+label"; do
  line=$(grep -F "  $row" "$out" | head -1)
  [ -n "$line" ] || vt_fail "row missing: $row"
  rest=${line#*"$row"}
  [[ "$rest" =~ ^[^0-9]*[0-9] ]] || vt_fail "row without a figure: $line"
  [[ "$line" =~ [[:space:]]-[[:space:]]*$ || "$line" == *failed* ]] &&
    vt_fail "row not measured: $line"
done
grep -q "pcsc-challenge: .* APDU/s" "$out" || vt_fail "no pcsc-challenge line"
echo PASS
