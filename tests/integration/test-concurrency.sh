#!/usr/bin/env bash
# Two processes share one embedded Kaztoken (issue 9): one signs in a loop while another
# creates and destroys certificates and data objects; then two writers at once. Every
# signature verifies, the objects the writers left are on the token with their values, and
# the card image loads in a fresh process. Each side is concurrency_helper, which loads
# the module with dlopen as applications do; the image lock and the module's
# transactions are what keep them apart.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_setup

HELPER=$VT_BUILD_DIR/tests/integration/concurrency_helper
[ -x "$HELPER" ] || vt_fail "concurrency_helper not built: $HELPER"
[ -f "$VT_MODULE" ] || vt_fail "module not built: $VT_MODULE"
cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
EOF
OPTS="home=$VTOKEN_HOME pcsc=0 pkcs12=0"
helper() { vt_host "$HELPER" "$VT_MODULE" "$OPTS" "$@"; }

vt_note "set-up: the key 'main'"
helper setup || vt_fail "set-up failed"

vt_note "one process signs while another writes"
rm -f "$VT_TMP/stop"
helper sign "$VT_TMP/stop" >"$VT_TMP/signer.log" 2>&1 &
signer=$!
rc=0
helper write 24 "$VT_TMP/left-a" a >"$VT_TMP/writer-a.log" 2>&1 || rc=$?
touch "$VT_TMP/stop"
src=0
wait "$signer" || src=$?
[ $rc -eq 0 ] || vt_fail "the writer failed: $(cat "$VT_TMP/writer-a.log")"
[ $src -eq 0 ] || vt_fail "the signer failed: $(cat "$VT_TMP/signer.log")"
vt_note "$(cat "$VT_TMP/signer.log")"
grep -Eq '^[0-9]+ signatures verified$' "$VT_TMP/signer.log" || vt_fail "signer: no count"

vt_note "two writers and a signer at once"
rm -f "$VT_TMP/stop"
helper sign "$VT_TMP/stop" >"$VT_TMP/signer2.log" 2>&1 &
signer=$!
helper write 15 "$VT_TMP/left-b" b >"$VT_TMP/writer-b.log" 2>&1 &
wb=$!
rc=0
helper write 15 "$VT_TMP/left-c" c >"$VT_TMP/writer-c.log" 2>&1 || rc=$?
brc=0
wait "$wb" || brc=$?
touch "$VT_TMP/stop"
src=0
wait "$signer" || src=$?
[ $rc -eq 0 ] || vt_fail "writer c failed: $(cat "$VT_TMP/writer-c.log")"
[ $brc -eq 0 ] || vt_fail "writer b failed: $(cat "$VT_TMP/writer-b.log")"
[ $src -eq 0 ] || vt_fail "the signer failed: $(cat "$VT_TMP/signer2.log")"
vt_note "$(cat "$VT_TMP/signer2.log")"

vt_note "what the writers left, in a fresh process"
out=$(helper check "$VT_TMP/left-a" "$VT_TMP/left-b" "$VT_TMP/left-c") ||
  vt_fail "check failed: $out"
vt_note "$out"
want=$(cat "$VT_TMP/left-a" "$VT_TMP/left-b" "$VT_TMP/left-c" | wc -l)
[ "$out" = "$want objects intact" ] || vt_fail "check: '$out', want $want objects"
# The image as `vtoken` reads it (its own process, its own parser).
"$VTOKEN" list >"$VT_TMP/list.log" 2>&1 || vt_fail "vtoken list: $(cat "$VT_TMP/list.log")"
echo "PASS"
