#!/usr/bin/env bash
# `vtoken init` and `vtoken reset`: new tokens of each profile appear in vtoken.conf and in
# the module's slot list with factory PINs; an existing token (or a stray image) is kept
# unless --force; --label is written through the module and the factory PINs still work;
# reset (only with --yes) erases keys, restores PINs, tries and label, also when the
# SO PIN is blocked.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/cli.sh"
vt_need grep
vt_setup
vt_cli_check
unset VTOKEN_MODULE VTOKEN_P12_PATH VTOKEN_P12_RULE VTOKEN_TRACE

slot_json() { # name expr: evaluate expr over the list entry s of token name
  expect_rc 0 vt list --json
  jget "[$2 for s in d['slots'] if s.get('name') == '$1'][0]"
}

vt_note "init: a new Kaztoken, listed by the module with factory tries"
expect_rc 0 vt list --json   # a fresh home: the three factory tokens
jcheck "len(d['slots']) == 3"
expect_rc 0 vt init kz2 --profile kaztoken --json
jcheck "d['token'] == 'kz2' and d['profile'] == 'kaztoken' and d['replaced'] is False and d['label'] == 'KAZTOKEN'"
jcheck "d['image'] == '$VTOKEN_HOME/tokens/kz2.img'"
KZ2_SERIAL=$(jget "d['serial']")
grep -q '^\[token kz2\]' "$VTOKEN_HOME/vtoken.conf" || vt_fail "kz2 not in vtoken.conf"
[ -s "$VTOKEN_HOME/tokens/kz2.img" ] || vt_fail "no image for kz2"
expect_rc 0 vt list --json
jcheck "len(d['slots']) == 4"
jcheck "[(s['kind'], s['serial'], s['user_pin']['tries_left'], s['so_pin']['tries_left'], s['objects']) for s in d['slots'] if s['name'] == 'kz2'] == [('kaztoken', '$KZ2_SERIAL', 10, 10, 0)]"
jcheck "len(set(s['serial'] for s in d['slots'])) == 4"
expect_rc 0 vt show kz2 --pin 12345678 --json
jcheck "d['logged_in'] is True"
# It gets the next vpcd port after the factory tokens', or the one asked for.
grep -A3 '^\[token kz2\]' "$VTOKEN_HOME/vtoken.conf" | grep -q 'vpcd_port = 35969' ||
  vt_fail "kz2 vpcd_port: $(cat "$VTOKEN_HOME/vtoken.conf")"
expect_rc 0 vt init kz9 --profile kaztoken --vpcd-port 40001
grep -A3 '^\[token kz9\]' "$VTOKEN_HOME/vtoken.conf" | grep -q 'vpcd_port = 40001' ||
  vt_fail "kz9 vpcd_port"

vt_note "init refuses to replace without --force; --force makes a new card"
expect_rc 0 vt import kz2 "$NCA/$AUTH.p12" --password Qwerty12 --pin 12345678
expect_rc 1 vt init kz2 --profile kaztoken
err_has "exists"
[ "$(slot_json kz2 "s['serial']")" = "$KZ2_SERIAL" ] || vt_fail "a refused init changed kz2"
[ "$(slot_json kz2 "s['objects']")" = 1 ] || vt_fail "a refused init erased kz2"
expect_rc 0 vt init kz2 --profile jacarta --force --json
jcheck "d['replaced'] is True and d['profile'] == 'jacarta' and d['serial'] != '$KZ2_SERIAL'"
[ "$(slot_json kz2 "s['kind'] + ' ' + str(s['objects'])")" = "jacarta 0" ] ||
  vt_fail "kz2 after --force: $(slot_json kz2 "s")"
# A stray image at the new token's path is someone's card too.
printf 'not a card' >"$VTOKEN_HOME/tokens/ghost.img"
expect_rc 1 vt init ghost --profile etoken
err_has "ghost.img already exists"
grep -q '^\[token ghost\]' "$VTOKEN_HOME/vtoken.conf" && vt_fail "a refused init changed vtoken.conf"
expect_rc 0 vt init ghost --profile etoken --force
[ "$(slot_json ghost "s['kind']")" = etoken ] || vt_fail "ghost not an eToken"

vt_note "init --label: each family labelled through the module, factory PINs kept"
for spec in "kz3 kaztoken 12345678 87654321" "et3 etoken 1234567890 0987654321" \
            "jc3 jacarta 1234567890 00000000"; do
  set -- $spec
  expect_rc 0 vt init "$1" --profile "$2" --label "QA $2 token" --json
  jcheck "d['label'] == 'QA $2 token'"
  [ "$(slot_json "$1" "s['label']")" = "QA $2 token" ] || vt_fail "$1 label: $(slot_json "$1" "s")"
  [ "$(slot_json "$1" "str(s['user_pin']['tries_left']) + '/' + str(s['so_pin']['tries_left'])")" = \
    "$(slot_json "$1" "str(s['user_pin']['tries_max']) + '/' + str(s['so_pin']['tries_max'])")" ] ||
    vt_fail "$1 tries not full after init --label"
  expect_rc 0 vt show "$1" --pin "$3" --json
  jcheck "d['logged_in'] is True and d['label'] == 'QA $2 token'"
  expect_rc 0 vt pin "$1" --so --old "$4" --new "$4"
  expect_rc 0 vt show "label:QA $2 token" --json
done

vt_note "reset: only with --yes; then keys gone, PINs, tries and label back"
expect_rc 0 vt import kz3 "$NCA/$SIGN.p12" --password Qwerty12 --pin 12345678
expect_rc 0 vt pin kz3 --old 12345678 --new 11112222
expect_rc 6 vt show kz3 --pin 12345678
for i in $(seq 10); do vt pin kz3 --so --old 99999999 --new 11111111 >/dev/null 2>&1 || true; done
[ "$(slot_json kz3 "str(s['so_pin']['locked']) + str(s['objects'])")" = True1 ] ||
  vt_fail "kz3 before reset: $(slot_json kz3 "s")"
KZ3_SERIAL=$(slot_json kz3 "s['serial']")
expect_rc 2 vt reset kz3
err_has "--yes"
[ "$(slot_json kz3 "s['objects']")" = 1 ] || vt_fail "reset without --yes erased kz3"
expect_rc 0 vt reset kz3 --yes --json
jcheck "d['token'] == 'kz3' and d['profile'] == 'kaztoken' and d['user_tries_left'] == 10 and d['so_tries_left'] == 10"
# A real token's serial is in its ROM: a reset card keeps it.
jcheck "d['serial'] == '$KZ3_SERIAL' and d['serial_kept'] is True"
[ "$(slot_json kz3 "s['serial']")" = "$KZ3_SERIAL" ] || vt_fail "kz3 serial after reset"
expect_rc 0 vt list --json
jcheck "[(s['objects'], s['label'], s['user_pin']['tries_left'], s['so_pin']['tries_left'], s['so_pin']['locked']) for s in d['slots'] if s['name'] == 'kz3'] == [(0, 'KAZTOKEN', 10, 10, False)]"
expect_rc 0 vt show kz3 --pin 12345678 --json
jcheck "d['logged_in'] is True and d['objects'] == []"
expect_rc 0 vt pin kz3 --so --old 87654321 --new 87654321
# By slot: the module's slot maps back to the home's card.
KZ3_SLOT=$(slot_of kz3)
expect_rc 0 vt pin kz3 --old 12345678 --new 33334444
expect_rc 0 vt reset "slot:$KZ3_SLOT" --yes --json
jcheck "d['token'] == 'kz3'"
expect_rc 0 vt show kz3 --pin 12345678 --json
# Every family keeps it, the JaCarta also in its TokenInfo EF (which the module reads).
for spec in "et3 eToken" "jc3 JaCarta"; do
  set -- $spec
  SERIAL=$(slot_json "$1" "s['serial']")
  expect_rc 0 vt reset "$1" --yes --json
  jcheck "d['serial'] == '$SERIAL' and d['serial_kept'] is True"
  [ "$(slot_json "$1" "s['serial'] + ' ' + s['label']")" = "$SERIAL $2" ] ||
    vt_fail "$1 after reset: $(slot_json "$1" "s")"
done
# A damaged image has no serial to give: the card is made anew, with a new one.
KZ3_SERIAL=$(slot_json kz3 "s['serial']")
printf 'not a card' >"$VTOKEN_HOME/tokens/kz3.img"
expect_rc 0 vt reset kz3 --yes --json
jcheck "d['serial'] != '$KZ3_SERIAL' and d['serial_kept'] is False"
expect_rc 0 vt show kz3 --pin 12345678 --json
vt_note "ok"
