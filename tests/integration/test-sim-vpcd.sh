#!/usr/bin/env bash
# `vtoken sim` behind a private pcscd: the Kaztoken shows up in its vpcd reader with its
# ATR, answers GET CHALLENGE, leaves and re-enters on `vtoken card remove|insert`, comes
# back by itself after pcscd restarts, keeps PINs out of its -v log, refuses a second sim
# on the same home, and stops cleanly (exit 0, within a second) on SIGTERM.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need opensc-tool
vt_setup

BENCH=$VT_BUILD_DIR/tools/bench/vtoken-bench
[ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
[ -x "$BENCH" ] || vt_fail "vtoken-bench not built: $BENCH"

PORT=$(vt_port_base sim-vpcd)
READER="DigiFlow LLP. KAZTOKEN"
SLOT="$READER 00 00"
ATR="3b:88:01:4b:41:5a:54:4f:4b:45:4e:82"

# The home: a Kaztoken on this test's port (its image is created on first use).
cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF
vt_note "command line"
"$VTOKEN" --help | grep -q "Exit status" || vt_fail "vtoken --help lists no exit codes"
"$VTOKEN" sim --help | grep -q "^Usage: vtoken sim" || vt_fail "vtoken sim --help"
rc=0; "$VTOKEN" sim --no-such-option 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || vt_fail "bad option: exit $rc, want 2"
rc=0; "$VTOKEN" sim --token no-such-token 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || vt_fail "unknown --token: exit $rc, want 3"
for bad in abc -1 100001 12x ""; do
  rc=0; err=$("$VTOKEN" sim --busy-poll "$bad" 2>&1) || rc=$?
  [ "$rc" -eq 2 ] || vt_fail "--busy-poll '$bad': exit $rc, want 2"
  grep -q "busy-poll takes microseconds, 0 to 100000" <<<"$err" ||
    vt_fail "--busy-poll '$bad': $err"
done

card_atr() { opensc-tool -r "$SLOT" --atr 2>/dev/null | tr 'A-F' 'a-f'; }
card_present() { [ "$(card_atr)" = "$ATR" ]; }
# opensc-tool -l prints "Nr. Card Features Name"; Card is Yes or No.
reader_state() { opensc-tool -l 2>/dev/null | awk -v r="$SLOT" 'index($0, r) { print $2 }'; }
reader_empty() { [ "$(reader_state)" = "No" ]; }
challenge() { opensc-tool -r "$SLOT" -s 00:84:00:00:08 2>&1; }
challenge_ok() { challenge | grep -q "SW1=0x90, SW2=0x00"; }

vt_pcscd_start "$READER" "$PORT"
vt_bg sim "$VTOKEN" sim --token kaztoken -v
SIM=$VT_LAST_PID

vt_note "the card enters its reader"
vt_wait_for 15 card_present || vt_fail "no Kaztoken ATR in '$SLOT' (got '$(card_atr)')"
[ "$(reader_state)" = "Yes" ] || vt_fail "opensc-tool -l does not show a card in '$SLOT'"
grep -q "kaztoken: in its reader" "$VT_TMP/sim.log" || vt_fail "no 'in its reader' line"

vt_note "GET CHALLENGE"
out=$(challenge)
grep -q "SW1=0x90, SW2=0x00" <<<"$out" || vt_fail "GET CHALLENGE failed: $out"
r1=$(grep -A1 '^Received' <<<"$out" | tail -1 | cut -c1-23)
[[ "$r1" =~ ^([0-9A-F]{2}\ ){7}[0-9A-F]{2}$ ]] || vt_fail "GET CHALLENGE did not return 8 bytes: $out"
r2=$(challenge | grep -A1 '^Received' | tail -1 | cut -c1-23)
[ "$r1" != "$r2" ] || vt_fail "two challenges are equal: $r1"
grep -q "kaztoken > 00 84 00 00 08" "$VT_TMP/sim.log" || vt_fail "-v did not log the APDU"

vt_note "-v hides PIN data"
opensc-tool -r "$SLOT" -s 00:20:00:02:08:31:32:33:34:35:36:37:38 >/dev/null 2>&1 || true
vt_wait_for 5 grep -q "kaztoken > 00 20 00 02 08 \[8 bytes hidden\]" "$VT_TMP/sim.log" ||
  vt_fail "VERIFY not logged with its data hidden"
if grep -q "31 32 33 34 35 36 37 38" "$VT_TMP/sim.log"; then vt_fail "PIN bytes in the log"; fi
if grep -qi "get ATR" "$VT_TMP/sim.log"; then vt_fail "presence polls logged at -v"; fi

vt_note "vtoken card remove / insert"
"$VTOKEN" card remove kaztoken >/dev/null || vt_fail "vtoken card remove failed"
vt_wait_for 5 reader_empty || vt_fail "reader not empty after remove (state '$(reader_state)')"
[ "$("$VTOKEN" card status kaztoken)" = "kaztoken removed" ] || vt_fail "status after remove"
"$VTOKEN" card remove kaztoken >/dev/null || vt_fail "a second remove is not a no-op"
"$VTOKEN" card insert kaztoken >/dev/null || vt_fail "vtoken card insert failed"
vt_wait_for 10 card_present || vt_fail "card not back after insert"
challenge | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE after insert"
# A card pulled and pushed back faster than pcscd polls (400 ms) must still come back
# usable: pcscd has to see it leave, or it keeps sending APDUs to a card it never
# powered (regression: "APDU: card not powered" forever).
vt_note "remove + insert back to back, three times"
for i in 1 2 3; do
  "$VTOKEN" card remove kaztoken >/dev/null && "$VTOKEN" card insert kaztoken >/dev/null ||
    vt_fail "back-to-back remove/insert #$i"
  vt_wait_for 10 challenge_ok ||
    vt_fail "card not usable after back-to-back remove/insert #$i"
done
rc=0; "$VTOKEN" card remove no-such-token 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || vt_fail "card remove of an unknown token: exit $rc, want 3"
rc=0; "$VTOKEN" card eject kaztoken 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] || vt_fail "unknown card action: exit $rc, want 2"

vt_note "a second vtoken sim on the same home is refused"
rc=0; "$VTOKEN" sim --token kaztoken >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 5 ] || vt_fail "second vtoken sim: exit $rc, want 5"
kill -0 "$SIM" 2>/dev/null || vt_fail "the first vtoken sim died"

vt_note "pcscd restart: the card comes back by itself"
vt_pcscd_stop
vt_wait_for 5 grep -q "kaztoken: out of its reader" "$VT_TMP/sim.log" ||
  vt_fail "vtoken sim did not notice pcscd going away"
vt_pcscd_start "$READER" "$PORT"
vt_wait_for 15 card_present || vt_fail "card not back after pcscd restart"
challenge | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE after pcscd restart"

vt_note "vtoken-bench pcsc-challenge (smoke: no timing asserted)"
"$BENCH" pcsc-challenge --reader "$SLOT" --seconds 1 >"$VT_TMP/bench.out" ||
  vt_fail "vtoken-bench failed: $(cat "$VT_TMP/bench.out")"
grep -Eq "pcsc-challenge: [0-9]+ APDUs in .* APDU/s" "$VT_TMP/bench.out" ||
  vt_fail "unexpected bench output: $(cat "$VT_TMP/bench.out")"
cat "$VT_TMP/bench.out"

vt_note "SIGTERM stops vtoken sim with exit 0 within a second"
kill -TERM "$SIM"
for _ in $(seq 10); do kill -0 "$SIM" 2>/dev/null || break; sleep 0.1; done
kill -0 "$SIM" 2>/dev/null && vt_fail "vtoken sim still running 1 s after SIGTERM"
rc=0; wait "$SIM" || rc=$?
[ "$rc" -eq 0 ] || vt_fail "vtoken sim exited $rc after SIGTERM"
grep -q "vtoken sim: stopped" "$VT_TMP/sim.log" || vt_fail "no 'stopped' line"
# -v counts what it answered; the bench's APDUs came back to back, so with the default
# busy poll some of them found the card awake.
stats=$(grep -E "^vtoken sim: [0-9]+ APDUs answered, [0-9]+ of them found by a busy poll" \
  "$VT_TMP/sim.log") || vt_fail "-v printed no APDU count at the stop"
read -r apdus polled < <(awk '{ print $3, $6 }' <<<"$stats")
[ "$apdus" -gt 100 ] && [ "$polled" -gt 0 ] && [ "$polled" -le "$apdus" ] ||
  vt_fail "implausible counts: $stats"
[ ! -e "$VTOKEN_HOME/run/sim.sock" ] || vt_fail "control socket left behind"
rc=0; "$VTOKEN" card insert kaztoken 2>/dev/null || rc=$?
[ "$rc" -eq 4 ] || vt_fail "vtoken card without a sim: exit $rc, want 4"
vt_wait_for 5 reader_empty || vt_fail "reader not empty after vtoken sim stopped"

vt_note "ok"
