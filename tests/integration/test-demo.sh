#!/usr/bin/env bash
# The README's first command ends in scripts/demo-run.sh: run it against this build and
# check that every step passed, the .p12 part included (it may not be skipped), and
# that the third-party listing at its end shows the new key sets.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_setup
vt_need pkcs11-tool

log=$VT_TMP/demo.log
rc=0
bash "$VT_SOURCE_DIR/scripts/demo-run.sh" "$VT_BUILD_DIR" >"$log" 2>&1 || rc=$?
# The demo keeps its home for inspection; this test removes it.
demo_home=$(sed -n 's/^state (kept for inspection): VTOKEN_HOME=//p' "$log")
case "$demo_home" in
  /tmp/vtoken-demo.*) trap 'x=$?; rm -rf "$demo_home"; set +e; (exit $x); vt_cleanup' EXIT ;;
  *) tail -n 40 "$log" >&2; vt_fail "the demo did not say where its state is" ;;
esac
if [ $rc -ne 0 ]; then
  tail -n 80 "$log" >&2
  vt_fail "scripts/demo-run.sh exited $rc"
fi
grep -q 'All steps passed' "$log" || vt_fail "no 'All steps passed'"
grep -q 'skipped' "$log" && { grep -n skipped "$log" >&2; vt_fail "the demo skipped a part"; }
for want in 'signed challenge verified: CN=ТЕСТОВ ТЕСТ, IIN123456789011' \
  'REVOKED' 'Slot 3 (0x3): personal.p12' 'token label        : personal'; do
  grep -qF -- "$want" "$log" || vt_fail "demo output lacks: $want"
done
# four logins verified (one per token and the .p12), and the wrong PIN's tries shown
[ "$(grep -c 'signed challenge verified' "$log")" -ge 4 ] || vt_fail "fewer than 4 verified logins"
grep -qF 'wrong PIN for kaztoken: 9 of 10 tries left' "$log" || vt_fail "no tries-left message"
# pkcs11-tool lists two certificates on each of the four tokens
[ "$(grep -c 'Certificate Object; type = X.509 cert' "$log")" = 8 ] ||
  vt_fail "pkcs11-tool does not list 2 certificates on each token"
vt_note "ok"
