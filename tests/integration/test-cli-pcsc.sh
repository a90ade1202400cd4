#!/usr/bin/env bash
# The token commands with a card in a PC/SC reader: under `vtoken sim` and a private
# pcscd the home's Kaztoken is also in a virtual reader. `vtoken list` shows that slot as
# kind pcsc, recognises the home's card in it (same serial, tries from its image), a name
# still resolves to the in-process slot, slot:N reaches the reader one, a wrong PIN there
# costs a try of the same card, and a removed card is no longer listed.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/cli.sh"
vt_need grep opensc-tool
vt_setup
vt_cli_check
unset VTOKEN_MODULE VTOKEN_P12_PATH VTOKEN_P12_RULE VTOKEN_TRACE

PORT=$(vt_port_base cli-pcsc)
READER="DigiFlow LLP. KAZTOKEN"
cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF

vt_pcscd_start "$READER" "$PORT"
vt_bg sim "$VTOKEN" sim --token kaztoken
pcsc_slot_up() {
  "$VTOKEN" list --json 2>/dev/null |
    "$PY" -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if any(s.get("kind") == "pcsc" for s in d["slots"]) else 1)'
}
vt_wait_for 20 pcsc_slot_up || vt_fail "no PC/SC slot with the Kaztoken (see sim.log, pcscd.log)"

vt_note "list: the reader's slot is kind pcsc, holding the home's kaztoken"
expect_rc 0 vt list --json
jcheck "[s['kind'] for s in d['slots']] == ['kaztoken', 'pcsc']"
jcheck "d['slots'][1]['reader'].startswith('$READER')"
jcheck "d['slots'][1]['family'] == 'kaztoken' and d['slots'][1]['name'] == 'kaztoken'"
jcheck "d['slots'][0]['serial'] == d['slots'][1]['serial']"
jcheck "d['slots'][1]['user_pin']['tries_left'] == 10 and d['slots'][1]['so_pin']['tries_max'] == 10"
PCSC_SLOT=$(jget "d['slots'][1]['slot']")
expect_rc 0 vt list
out_has "pcsc"

vt_note "a name resolves to the in-process slot; slot:N reaches the reader"
expect_rc 0 vt show kaztoken --json
jcheck "d['slot'] == 0"
expect_rc 0 vt show "slot:$PCSC_SLOT" --pin 12345678 --json
jcheck "d['slot'] == $PCSC_SLOT and d['logged_in'] is True"
expect_rc 6 vt show "slot:$PCSC_SLOT" --pin 00000000
err_has "9 of 10 tries left"
expect_rc 0 vt list --json
jcheck "[s['user_pin']['tries_left'] for s in d['slots']] == [9, 9]"
expect_rc 0 vt pin "slot:$PCSC_SLOT" --old 12345678 --new 12345678
expect_rc 0 vt list --json
jcheck "[s['user_pin']['tries_left'] for s in d['slots']] == [10, 10]"

vt_note "C_Sign meets a reset, then a removal, that came after C_SignInit"
VTOKEN_OPTIONS=embedded=no vt_run sign-reset-remove vt_python \
  "$VT_SOURCE_DIR/tests/integration/py/sign_reset_remove.py" "$VT_MODULE" "$READER 00 00" 0 \
  "$VTOKEN" 12345678
vt_wait_for 20 pcsc_slot_up || vt_fail "the Kaztoken did not come back after card insert"

vt_note "a card taken out of its reader: no token there any more"
expect_rc 0 vt card remove kaztoken
# A module that had the reader's slot keeps it, empty; a module started now makes no
# slot for an empty reader. Either way no token is left in a reader.
card_gone() {
  "$VTOKEN" list --json 2>/dev/null |
    "$PY" -c 'import json, sys
d = json.load(sys.stdin)
sys.exit(0 if [s["present"] for s in d["slots"]] in ([True], [True, False]) else 1)'
}
vt_wait_for 10 card_gone ||
  vt_fail "a token is still listed in the reader after card remove: $("$VTOKEN" list --json 2>&1)"
expect_rc 3 vt show "slot:$PCSC_SLOT"
err_has "slot $PCSC_SLOT"
# (Putting the card back is `vtoken card`'s business: test-sim-vpcd.sh.)
vt_note "ok"
