#!/usr/bin/env bash
# `vtoken pin`: change the user and SO PINs (options, --pin-file, standard input), a wrong
# PIN reports the tries left (exit 6) and `vtoken list` agrees, ten wrong PINs block the
# user PIN (exit 7, with how to unblock), unblocking with the SO PIN gives the tries back
# and the new PIN logs in. PINs never appear in any output.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/cli.sh"
vt_need grep
vt_setup
vt_cli_check
unset VTOKEN_MODULE VTOKEN_P12_PATH VTOKEN_P12_RULE VTOKEN_TRACE

tries() { # token: "user_left/so_left" from list --json
  expect_rc 0 vt list --json
  jget "[str(s['user_pin']['tries_left']) + '/' + str(s['so_pin']['tries_left']) for s in d['slots'] if s['name'] == '$1'][0]"
}
login_ok() { # token pin
  expect_rc 0 vt show "$1" --pin "$2" --json
  jcheck "d['logged_in'] is True"
}

vt_note "change the user PIN and back; the old one is then wrong"
expect_rc 0 vt pin kaztoken --old 12345678 --new 11223344
out_has "kaztoken: user PIN changed"
none_has 12345678
none_has 11223344
login_ok kaztoken 11223344
expect_rc 6 vt show kaztoken --pin 12345678
err_has "CKR_PIN_INCORRECT"
err_has "9 of 10 tries left"
[ "$(tries kaztoken)" = 9/10 ] || vt_fail "tries after one wrong PIN: $(tries kaztoken)"
expect_rc 0 vt list --json
jcheck "d['slots'][0]['user_pin']['count_low'] is True and d['slots'][0]['user_pin']['locked'] is False"
expect_rc 6 vt pin kaztoken --old 12345678 --new 55556666
err_has "8 of 10 tries left"
# From a file, one PIN a line: old, new. A good PIN gives the tries back.
printf '11223344\n12345678\n' >"$VT_TMP/pins"
expect_rc 0 vt pin kaztoken --pin-file "$VT_TMP/pins" --json
jcheck "d['action'] == 'change' and d['user_tries_left'] == 10"
login_ok kaztoken 12345678
# From standard input.
printf '12345678\n22334455\n' >"$VT_TMP/pins"
expect_rc_in "$VT_TMP/pins" 0 vt pin kaztoken
printf '22334455\n12345678\n' >"$VT_TMP/pins"
expect_rc_in "$VT_TMP/pins" 0 vt pin kaztoken --pin-file -
login_ok kaztoken 12345678
# Too few lines: nothing changes, no try is used.
printf '12345678\n' >"$VT_TMP/pins"
expect_rc 1 vt pin kaztoken --pin-file "$VT_TMP/pins"
err_has "new user PIN"
expect_rc 1 vt pin kaztoken --pin-file "$VT_TMP/nosuch"
[ "$(tries kaztoken)" = 10/10 ] || vt_fail "tries after refused input: $(tries kaztoken)"
# A new PIN the token cannot take.
expect_rc 1 vt pin kaztoken --old 12345678 --new 123
err_has "CKR_PIN_LEN_RANGE"
err_has "6 to 32"
login_ok kaztoken 12345678

vt_note "on a terminal: asked without echo, the new PIN twice"
# tty_run "LINE1 LINE2 ..." cmd...: run cmd on a pseudo-terminal, typing one line per
# prompt; $OUT gets what the terminal showed, and the exit code is the command's.
tty_run() {
  local lines=$1 rc
  shift
  set +e
  OUT=$("$PY" -c 'import os, pty, select, sys, time
lines = sys.argv[1].split()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out = b""
def read(secs):
    global out
    end = time.time() + secs
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                return
            if not chunk:
                return
            out += chunk
for line in lines:
    before = len(out)
    end = time.time() + 20
    while time.time() < end and not out[before:].rstrip().endswith(b":"):
        read(0.1)
    os.write(fd, line.encode() + b"\n")
read(3)
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.WEXITSTATUS(st))' "$lines" "$@")
  rc=$?
  set -e
  return $rc
}
tty_run "12345678 55556666 55556666" "$VTOKEN" pin kaztoken || vt_fail "pin on a terminal: $OUT"
grep -q "current user PIN: " <<<"$OUT" || vt_fail "no prompt: $OUT"
grep -q "new user PIN (again): " <<<"$OUT" || vt_fail "no second prompt: $OUT"
grep -q "user PIN changed" <<<"$OUT" || vt_fail "not changed: $OUT"
! grep -q -e 12345678 -e 55556666 <<<"$OUT" || vt_fail "a PIN was echoed: $OUT"
login_ok kaztoken 55556666
if tty_run "55556666 11112222 11113333" "$VTOKEN" pin kaztoken; then
  vt_fail "two different new PINs were accepted: $OUT"
fi
grep -q "differ" <<<"$OUT" || vt_fail "no word on the mismatch: $OUT"
login_ok kaztoken 55556666
expect_rc 0 vt pin kaztoken --old 55556666 --new 12345678

vt_note "the SO PIN: change, wrong (tries left), back"
expect_rc 0 vt pin kaztoken --so --old 87654321 --new 13572468
out_has "SO PIN changed"
expect_rc 6 vt pin kaztoken --so --old 87654321 --new 11111111
err_has "wrong SO PIN, 9 of 10 tries left"
[ "$(tries kaztoken)" = 10/9 ] || vt_fail "tries after a wrong SO PIN: $(tries kaztoken)"
expect_rc 0 vt pin kaztoken --so --old 13572468 --new 87654321
[ "$(tries kaztoken)" = 10/10 ] || vt_fail "SO tries after a good SO PIN: $(tries kaztoken)"

vt_note "ten wrong user PINs block it; the message says how to unblock"
for i in 1 2 3 4 5 6 7 8 9; do
  expect_rc 6 vt show kaztoken --pin 00000000
  err_has "$((10 - i)) of 10 tries left"
done
expect_rc 7 vt show kaztoken --pin 00000000
err_has "CKR_PIN_LOCKED"
err_has "vtoken pin kaztoken --unblock"
# Blocked means blocked: the right PIN is refused too, and list says so.
expect_rc 7 vt show kaztoken --pin 12345678
expect_rc 7 vt pin kaztoken --old 12345678 --new 11112222
expect_rc 0 vt list --json
jcheck "d['slots'][0]['user_pin'] == {'tries_left': 0, 'tries_max': 10, 'locked': True, 'final_try': False, 'count_low': False}"
expect_rc 0 vt list
out_has "0/10 locked"

vt_note "unblock with the SO PIN: a wrong SO PIN counts, the right one sets the new PIN"
expect_rc 6 vt pin kaztoken --unblock --so-pin 11111111 --new 24682468
err_has "wrong SO PIN, 9 of 10 tries left"
printf '87654321\n24682468\n' >"$VT_TMP/pins"
expect_rc 0 vt pin kaztoken --unblock --pin-file "$VT_TMP/pins" --json
jcheck "d == {'token': 'kaztoken', 'slot': 0, 'action': 'unblock', 'user_tries_left': 10, 'so_tries_left': 10}"
none_has 87654321
none_has 24682468
login_ok kaztoken 24682468
expect_rc 6 vt show kaztoken --pin 12345678
expect_rc 0 vt pin kaztoken --old 24682468 --new 12345678

vt_note "the other families: eToken (15 tries), JaCarta"
expect_rc 6 vt show etoken --pin 0000000000
err_has "14 of 15 tries left"
expect_rc 0 vt pin etoken --old 1234567890 --new 5555666677
login_ok etoken 5555666677
[ "$(tries etoken)" = 15/15 ] || vt_fail "eToken tries: $(tries etoken)"
expect_rc 0 vt pin jacarta --old 1234567890 --new 98765432
login_ok jacarta 98765432
expect_rc 0 vt pin jacarta --so --old 00000000 --new 11223344
expect_rc 0 vt pin jacarta --unblock --so-pin 11223344 --new 1234567890
login_ok jacarta 1234567890

vt_note "a blocked SO PIN points at vtoken reset"
for i in $(seq 9); do expect_rc 6 vt pin kaztoken --so --old 99999999 --new 11111111; done
expect_rc 7 vt pin kaztoken --so --old 99999999 --new 11111111
err_has "vtoken reset kaztoken --yes"
expect_rc 7 vt pin kaztoken --unblock --so-pin 87654321 --new 11111111
expect_rc 0 vt reset kaztoken --yes
[ "$(tries kaztoken)" = 10/10 ] || vt_fail "tries after reset: $(tries kaztoken)"
expect_rc 0 vt pin kaztoken --so --old 87654321 --new 87654321
vt_note "ok"
