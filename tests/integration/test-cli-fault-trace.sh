#!/usr/bin/env bash
# `vtoken fault` and `vtoken trace` through real clients. Inside the PKCS#11 module
# (pkcs11-tool): a status word on the first GET CHALLENGE makes C_GenerateRandom fail
# with CKR_DEVICE_ERROR once; a torn write during C_SetPIN leaves the old PIN working; a
# torn second write of a VERIFY leaves its try counted; a latency slows GET CHALLENGE.
# `vtoken trace` shows the calls with their results, command names and decoded status
# words, never a PIN, and copes with a cut trace and junk lines. Under `vtoken sim` (a
# private pcscd, opensc-tool): the same plan file makes the served card answer a status
# word, tear a write and wait, and a removal takes it out of its vpcd reader until
# --clear puts it back.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need pkcs11-tool opensc-tool grep awk
vt_setup

[ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
[ -e "$VT_MODULE" ] || vt_fail "module not built: $VT_MODULE"
[ -x /usr/bin/python3 ] || vt_fail "required: /usr/bin/python3 (to check --json output)"

PORT=$(vt_port_base cli-fault-trace)
READER="DigiFlow LLP. KAZTOKEN"
SLOT="$READER 00 00"
ATR="3b:88:01:4b:41:5a:54:4f:4b:45:4e:82"
PIN=12345678
NEW_PIN=11223344
TRACE=$VT_TMP/trace.log

cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF

# The module sees only the embedded token until pcscd starts (further down).
p11() { vt_host pkcs11-tool --module "$VT_MODULE" "$@"; }
fault() { "$VTOKEN" fault kaztoken "$@"; }
json_ok() { /usr/bin/python3 -c 'import json, sys
for line in sys.stdin:
    json.loads(line)' ; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

vt_note "command line"
"$VTOKEN" --help | grep -q "fault" || vt_fail "vtoken --help does not list fault"
"$VTOKEN" --help | grep -q "trace" || vt_fail "vtoken --help does not list trace"
"$VTOKEN" fault --help | grep -q "^Usage: vtoken fault TOKEN --sw SW" || vt_fail "fault --help"
"$VTOKEN" fault --help | grep -q "Exit status" || vt_fail "fault --help lists no exit codes"
"$VTOKEN" trace --help | grep -q "^Usage: vtoken trace" || vt_fail "trace --help"
expect_rc() {
  local want=$1 rc=0; shift
  "$@" >/dev/null 2>&1 || rc=$?
  [ "$rc" -eq "$want" ] || vt_fail "$*: exit $rc, want $want"
}
expect_rc 2 "$VTOKEN" fault
expect_rc 2 "$VTOKEN" fault kaztoken
expect_rc 2 "$VTOKEN" fault kaztoken --sw 65
expect_rc 2 "$VTOKEN" fault kaztoken --sw 6000
expect_rc 2 "$VTOKEN" fault kaztoken --sw 6581 --nth 0
expect_rc 2 "$VTOKEN" fault kaztoken --sw 6581 --tear-next-write
expect_rc 2 "$VTOKEN" fault kaztoken --tear-next-write --step unlink
expect_rc 2 "$VTOKEN" fault kaztoken --latency 46=fast
expect_rc 2 "$VTOKEN" fault kaztoken --list --clear
expect_rc 2 "$VTOKEN" fault kaztoken --json
expect_rc 3 "$VTOKEN" fault no-such-token --list
expect_rc 2 "$VTOKEN" trace
expect_rc 1 "$VTOKEN" trace "$VT_TMP/no-such-file"
expect_rc 2 "$VTOKEN" trace --family rutoken "$TRACE"
[ "$(fault --list)" = "kaztoken: no faults armed" ] || vt_fail "fresh token has faults"

vt_note "--sw 6581 --nth 1 --ins 84: C_GenerateRandom fails once with a device error"
p11 -L >/dev/null || vt_fail "pkcs11-tool -L failed"
fault --sw 6581 --nth 1 --ins 84 | grep -q "armed: answer the 1st APDU (INS 84) with 6581" ||
  vt_fail "arming --sw printed no confirmation"
[ -f "$VTOKEN_HOME/tokens/kaztoken.faults" ] || vt_fail "no plan file next to the image"
fault --list --json | json_ok || vt_fail "--list --json is not JSON"
fault --list --json | grep -q '"kind":"sw","ins":"84","sw":"6581"' || vt_fail "--list --json"
rc=0; VTOKEN_TRACE=$TRACE p11 --generate-random 8 >"$VT_TMP/rnd1" 2>"$VT_TMP/rnd1.err" || rc=$?
[ "$rc" -ne 0 ] || vt_fail "C_GenerateRandom succeeded through an armed 6581"
grep -q "C_GenerateRandom(.*) = CKR_DEVICE_ERROR" "$TRACE" ||
  vt_fail "the module did not report CKR_DEVICE_ERROR: $(grep C_GenerateRandom "$TRACE")"
VTOKEN_TRACE=$TRACE p11 --generate-random 8 >"$VT_TMP/rnd2" ||
  vt_fail "C_GenerateRandom failed after the one-shot fault fired"
[ "$(stat -c %s "$VT_TMP/rnd2")" -eq 8 ] || vt_fail "C_GenerateRandom did not return 8 bytes"
fault --list | grep -q "answer the 1st APDU (INS 84) with 6581 .*: fired" ||
  vt_fail "--list does not show the fault fired: $(fault --list)"
fault --list --json | grep -q '"seen":1,"fired":1,"active":false' || vt_fail "--json counters"
fault --clear >/dev/null
[ ! -e "$VTOKEN_HOME/tokens/kaztoken.faults" ] || vt_fail "--clear left the plan file"

vt_note "--tear-next-write --ins 24 during C_SetPIN: the old PIN still works"
fault --tear-next-write --ins 24 --step fsync >/dev/null
rc=0; VTOKEN_TRACE=$TRACE p11 --login --pin "$PIN" --change-pin --new-pin "$NEW_PIN" \
  >"$VT_TMP/setpin.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "C_SetPIN succeeded through a torn write"
grep -q "C_SetPIN(.*) = CKR_DEVICE_ERROR" "$TRACE" || vt_fail "C_SetPIN did not fail as a device error"
rc=0; p11 --login --pin "$NEW_PIN" -O >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "the new PIN works although its write was torn"
p11 --login --pin "$PIN" -O >/dev/null 2>&1 || vt_fail "the old PIN does not work after the tear"
fault --list | grep -q "tear the 1st image write (INS 24) at fsync: fired" || vt_fail "tear not fired"
fault --clear >/dev/null

vt_note "--tear-next-write --nth 2 --ins 20: a PIN try counted before the tear stays counted"
fault --tear-next-write --nth 2 --ins 20 >/dev/null
rc=0; p11 --login --pin "$PIN" -O >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "C_Login succeeded through a torn counter reset"
p11 -L | grep -q "user PIN count low" || vt_fail "the counted try was given back: $(p11 -L)"
p11 --login --pin "$PIN" -O >/dev/null 2>&1 || vt_fail "the PIN does not work after the tear"
if p11 -L | grep -q "user PIN count low"; then vt_fail "a good login did not reset the tries"; fi
fault --clear >/dev/null

vt_note "--latency 84=1500ms: GET CHALLENGE waits"
fault --latency 84=1500ms | grep -q "wait 1500 ms before each command (INS 84)" ||
  vt_fail "arming --latency printed no confirmation"
t0=$(now_ms)
p11 --generate-random 8 >/dev/null || vt_fail "C_GenerateRandom failed with a latency armed"
t1=$(now_ms)
# Only a lower bound: the delay is a sleep, so it can take longer but never less.
[ $((t1 - t0)) -ge 1400 ] || vt_fail "C_GenerateRandom took $((t1 - t0)) ms with 1500 ms armed"
fault --list | grep -q "applied 1 time" || vt_fail "latency not counted: $(fault --list)"
fault --clear >/dev/null

vt_note "vtoken trace: calls, command names, status words, and no PIN"
rm -f "$TRACE"
VTOKEN_TRACE=$TRACE p11 --login --pin "$PIN" --keypairgen --key-type rsa:1024 --id 01 \
  --label fault-trace >/dev/null 2>&1 || vt_fail "key generation failed"
printf 'to be signed' >"$VT_TMP/data"
VTOKEN_TRACE=$TRACE p11 --login --pin "$PIN" --sign --id 01 -m SHA256-RSA-PKCS \
  -i "$VT_TMP/data" -o "$VT_TMP/sig" >/dev/null 2>&1 || vt_fail "signing failed"
rc=0; VTOKEN_TRACE=$TRACE p11 --login --pin 99999999 -O >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "a wrong PIN logged in"
"$VTOKEN" trace "$TRACE" >"$VT_TMP/pretty.txt" || vt_fail "vtoken trace failed"
for want in "C_Initialize(" "C_Login(" "= CKR_OK" "C_GenerateKeyPair(" "C_Sign(" \
  "= CKR_PIN_INCORRECT" "9000 success" "verification failed" "VERIFY" "SELECT (path from MF)" \
  "READ BINARY" "MSE: SET DST" "PSO: COMPUTE DIGITAL SIGNATURE" "GET DATA: serial number (kaztoken)" \
  "LOGOUT (reset security state) (kaztoken)" "[data redacted]" "6A82 file or application not found"; do
  grep -qF -- "$want" "$VT_TMP/pretty.txt" || vt_fail "vtoken trace output lacks '$want'"
done
for pin in "$PIN" 99999999; do
  hex=$(printf '%s' "$pin" | od -An -tx1 | tr -d ' \n')
  if grep -qiF -e "$pin" -e "$hex" "$TRACE"; then vt_fail "PIN $pin in the trace file"; fi
  if grep -qiF -e "$pin" -e "$hex" "$VT_TMP/pretty.txt"; then vt_fail "PIN $pin in vtoken trace"; fi
done
# every call line of the trace is shown once, with its result
calls=$(grep -c ' #[0-9]* C_[A-Za-z]*(.*) = ' "$TRACE")
shown=$(grep -c '^[0-9:.]*Z [0-9]* #[0-9]* C_[A-Za-z]*(.*) = ' "$VT_TMP/pretty.txt")
[ "$calls" -eq "$shown" ] || vt_fail "$calls calls traced, $shown shown"
"$VTOKEN" trace --calls-only "$TRACE" >"$VT_TMP/calls.txt" || vt_fail "--calls-only failed"
[ "$(grep -c . "$VT_TMP/calls.txt")" -eq "$calls" ] || vt_fail "--calls-only shows more than calls"
# (outputs go to files first: with pipefail, grep -q leaving early would fail the writer)
"$VTOKEN" trace --json "$TRACE" >"$VT_TMP/trace.json" || vt_fail "vtoken trace --json failed"
json_ok <"$VT_TMP/trace.json" || vt_fail "vtoken trace --json is not JSON lines"
grep -q '"name":"PSO: COMPUTE DIGITAL SIGNATURE"' "$VT_TMP/trace.json" ||
  vt_fail "--json lacks the PSO name"
"$VTOKEN" trace --since 5 --calls-only "$TRACE" >"$VT_TMP/since.txt" || vt_fail "--since failed"
awk '{ sub("#", "", $3); if ($3 + 0 < 5) bad = 1 } END { exit bad }' "$VT_TMP/since.txt" ||
  vt_fail "--since 5 shows earlier calls"
grep -q " #5 " "$VT_TMP/since.txt" || vt_fail "--since 5 does not start at call 5"

vt_note "vtoken trace: a cut last line and junk are printed, never fatal"
size=$(stat -c %s "$TRACE")
{ echo "not a trace line"; printf '\x01binary\xff\n'; head -c $((size / 2)) "$TRACE"; } \
  >"$VT_TMP/cut.log"
"$VTOKEN" trace "$VT_TMP/cut.log" >"$VT_TMP/cut.txt" || vt_fail "vtoken trace failed on a cut trace"
grep -q "^not a trace line$" "$VT_TMP/cut.txt" || vt_fail "junk line not printed raw"
grep -qF 'binary\xFF' "$VT_TMP/cut.txt" || vt_fail "binary line not escaped"
if [ "$(tail -c 1 "$VT_TMP/cut.log" | od -An -c | tr -d ' ')" != '\n' ]; then
  grep -q "last line cut short" "$VT_TMP/cut.txt" || vt_fail "cut last line not marked"
fi
"$VTOKEN" trace --json "$VT_TMP/cut.log" | json_ok || vt_fail "--json of a cut trace"
head -c 65536 /dev/urandom >"$VT_TMP/random.log"
"$VTOKEN" trace "$VT_TMP/random.log" >/dev/null || vt_fail "vtoken trace failed on random bytes"
"$VTOKEN" trace --json "$VT_TMP/random.log" | json_ok || vt_fail "--json of random bytes"
"$VTOKEN" trace - <"$TRACE" | cmp -s - "$VT_TMP/pretty.txt" || vt_fail "stdin differs from FILE"

vt_note "vtoken fault against a running vtoken sim"
vt_pcscd_start "$READER" "$PORT"
vt_bg sim "$VTOKEN" sim --token kaztoken
card_atr() { opensc-tool -r "$SLOT" --atr 2>/dev/null | tr 'A-F' 'a-f'; }
card_present() { [ "$(card_atr)" = "$ATR" ]; }
apdu() { opensc-tool -r "$SLOT" -s "$1" 2>&1; }
vt_wait_for 15 card_present || vt_fail "no Kaztoken in '$SLOT' (ATR '$(card_atr)')"
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE before arming"

fault --sw 6A82 --nth 1 --ins 84 >/dev/null
apdu 00:84:00:00:08 | grep -q "SW1=0x6A, SW2=0x82" || vt_fail "vtoken sim did not answer 6A82"
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "the one-shot fault fired twice"
fault --list | grep -q ": fired" || vt_fail "--list does not show what vtoken sim fired"
fault --clear >/dev/null

# VERIFY writes the try, then its reset: tear the reset, the try stays counted. (A good
# VERIFY first: the wrong PIN above took a try.)
apdu 00:20:00:02:08:31:32:33:34:35:36:37:38 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "VERIFY"
fault --tear-next-write --nth 2 --ins 20 >/dev/null
apdu 00:20:00:02:08:31:32:33:34:35:36:37:38 | grep -q "SW1=0x65, SW2=0x81" ||
  vt_fail "vtoken sim did not tear the VERIFY"
out=$(apdu 00:20:00:02)
grep -q "SW1=0x63, SW2=0xC9" <<<"$out" || vt_fail "the counted try was given back: $out"
apdu 00:20:00:02:08:31:32:33:34:35:36:37:38 | grep -q "SW1=0x90, SW2=0x00" ||
  vt_fail "VERIFY after the tear"
fault --clear >/dev/null

fault --latency 84=1200ms >/dev/null
t0=$(now_ms)
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE with latency"
t1=$(now_ms)
[ $((t1 - t0)) -ge 1100 ] || vt_fail "GET CHALLENGE took $((t1 - t0)) ms with 1200 ms armed"
fault --clear >/dev/null

# A removal leaves the reader empty as `vtoken card remove` does (the answer before it
# arrives whole); --clear puts the card back. opensc-tool may send APDUs of its own when
# it connects, so the count starts from an APDU that is surely the last one counted.
card_gone() { ! card_present; }
card_state() { "$VTOKEN" card status 2>/dev/null | awk '$1 == "kaztoken" { print $2 }'; }
fault --remove-after 0 >/dev/null
out=$(apdu 00:84:00:00:08 || true)
grep -q "SW1=0x90" <<<"$out" && vt_fail "--remove-after 0: an APDU was answered: $out"
vt_wait_for 15 card_gone || vt_fail "--remove-after 0: the card stayed in its reader"
[ "$(card_state)" = removed ] || vt_fail "--remove-after 0: vtoken card status says '$(card_state)'"
out=$(fault --clear)
grep -q "back in its vpcd reader" <<<"$out" || vt_fail "--clear did not put the card back: $out"
vt_wait_for 15 card_present || vt_fail "the card did not come back after --clear"
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE after --clear"
# After N answered APDUs: the Nth is answered, then the card leaves. N is the number of
# APDUs one opensc-tool run sends (its own first, our GET CHALLENGE last), counted by a
# fault that never fires.
fault --sw 6F00 --nth 1000000 >/dev/null
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE while counting"
n=$(fault --list --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["faults"][0]["seen"])')
fault --clear >/dev/null
fault --remove-after "$n" >/dev/null
out=$(apdu 00:84:00:00:08 || true)
grep -q "SW1=0x90, SW2=0x00" <<<"$out" ||
  vt_fail "--remove-after $n: the last APDU before the removal was not answered: $out"
vt_wait_for 15 card_gone || vt_fail "--remove-after $n: the card stayed in its reader"
[ "$(card_state)" = removed ] || vt_fail "--remove-after $n: vtoken card status says '$(card_state)'"
fault --list | grep -q ": fired" || vt_fail "--list does not show the removal fired"
fault --clear >/dev/null
vt_wait_for 15 card_present || vt_fail "the card did not come back after the second --clear"
apdu 00:84:00:00:08 | grep -q "SW1=0x90, SW2=0x00" || vt_fail "GET CHALLENGE after the second --clear"
grep -q "kaztoken: removed" "$VT_TMP/sim.log" || vt_fail "vtoken sim did not log the removal"

vt_note "ok"
