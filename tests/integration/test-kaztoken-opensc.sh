#!/usr/bin/env bash
# The Kaztoken through OpenSC 0.23's rutoken_ecp driver, as a PC/SC card: `vtoken sim`
# behind a private pcscd, OpenSC forced onto the Rutoken ECP driver for the Kaztoken ATR.
# Proves: the ATR; pkcs15-init --erase-card, --create-pkcs15 with the SO PIN and
# --store-pin of the user PIN (OpenSC's documented Rutoken ECP sequence); an on-card
# RSA-2048 key; a SHA256-RSA-PKCS signature through opensc-pkcs11.so that openssl
# verifies; a stored certificate; a PIN change; a wrong PIN lowering the tries left; and
# that all of it survives a restart of `vtoken sim`.
#
# Tries left: OpenSC 0.23's rutoken_ecp driver has no pin_cmd, so SC_PIN_CMD_GET_INFO is
# "not supported" and `pkcs15-tool --list-pins` prints no "Tries left" line for a real
# Rutoken ECP either. The count is read the way rtecp_verify reads it after a wrong PIN:
# VERIFY without data (00 20 00 02), sent through OpenSC with opensc-tool, answers 63Cx.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need opensc-tool pkcs15-init pkcs15-tool pkcs11-tool openssl
vt_setup

[ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -e "$P11" ] || vt_fail "OpenSC PKCS#11 module not found at $P11 (package opensc-pkcs11)"

PORT=$(vt_port_base kaztoken-opensc)
READER="DigiFlow LLP. KAZTOKEN"
SLOT="$READER 00 00"
ATR="3b:88:01:4b:41:5a:54:4f:4b:45:4e:82"
SO_PIN=87654321
USER_PIN=12345678
NEW_PIN=24681357

# OpenSC only knows Rutoken ECP ATRs: map the Kaztoken's to the rutoken_ecp driver, in a
# private configuration, with the debug log on.
export OPENSC_CONF=$VT_TMP/opensc.conf
cat >"$OPENSC_CONF" <<EOF
app default {
    debug = 3;
    debug_file = $VT_TMP/opensc-debug.log;
    card_atr $ATR {
        driver = "rutoken_ecp";
        name = "Kaztoken";
    }
}
EOF

cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF

card_atr() { opensc-tool -r "$SLOT" --atr 2>/dev/null | tr 'A-F' 'a-f'; }
card_present() { [ "$(card_atr)" = "$ATR" ]; }

SIM_RUNS=0
start_sim() {
  SIM_RUNS=$((SIM_RUNS + 1))
  vt_bg "sim$SIM_RUNS" "$VTOKEN" sim --token kaztoken -v
  SIM=$VT_LAST_PID
  vt_wait_for 15 card_present || vt_fail "no Kaztoken in '$SLOT' (ATR '$(card_atr)')"
}
stop_sim() {
  local rc=0
  kill -TERM "$SIM"
  wait "$SIM" || rc=$?
  [ "$rc" -eq 0 ] || vt_fail "vtoken sim exited with $rc (see sim$SIM_RUNS.log)"
  vt_wait_for 10 sh -c "! opensc-tool -r '$SLOT' --atr >/dev/null 2>&1" ||
    vt_fail "the card stayed in its reader after vtoken sim stopped"
}

# Tries left of the user PIN: after a LOGOUT (80 40, as rtecp_logout sends it), VERIFY
# without data answers 63Cx with x tries left.
user_tries() {
  local out x
  opensc-tool -r "$SLOT" -s 80:40:00:00 >/dev/null 2>&1 || true
  out=$(opensc-tool -r "$SLOT" -s 00:20:00:02 2>&1)
  x=$(sed -n 's/.*SW1=0x63, SW2=0xC\([0-9A-Fa-f]\).*/\1/p' <<<"$out" | head -1)
  if [ -n "$x" ]; then echo $((16#$x)); fi
}

vt_pcscd_start "$READER" "$PORT"
start_sim

vt_note "opensc-tool sees the Kaztoken ATR and uses the Rutoken ECP driver"
[ "$(card_atr)" = "$ATR" ] || vt_fail "ATR '$(card_atr)', want $ATR"
vt_run name opensc-tool -r "$SLOT" --name
grep -q "Kaztoken" "$VT_TMP/name.out" || vt_fail "card name: $(cat "$VT_TMP/name.out")"
grep -q "card-rtecp.c" "$VT_TMP/opensc-debug.log" || vt_fail "OpenSC did not use the rutoken_ecp driver"
vt_run serial opensc-tool -r "$SLOT" --serial
grep -Eq '^[0-9A-F]{2}( [0-9A-F]{2}){3}' "$VT_TMP/serial.out" ||
  vt_fail "serial: $(cat "$VT_TMP/serial.out")"

vt_note "pkcs15-init: erase, create the PKCS#15 application (SO PIN), store the user PIN"
vt_run erase pkcs15-init -r "$SLOT" --erase-card
vt_run create pkcs15-init -r "$SLOT" --create-pkcs15 --so-pin "$SO_PIN" --so-puk "" \
  --label "Kaztoken test"
vt_run store-pin pkcs15-init -r "$SLOT" --store-pin --label "User PIN" --auth-id 02 \
  --pin "$USER_PIN" --puk "" --so-pin "$SO_PIN" --finalize
vt_run list-pins pkcs15-tool -r "$SLOT" --list-pins
grep -q "User PIN" "$VT_TMP/list-pins.out" || vt_fail "no user PIN: $(cat "$VT_TMP/list-pins.out")"
grep -q "Security Officer PIN" "$VT_TMP/list-pins.out" || vt_fail "no SO PIN"

vt_note "pkcs15-init --generate-key rsa/2048 on the card"
vt_run keygen pkcs15-init -r "$SLOT" --generate-key rsa/2048 --auth-id 02 --pin "$USER_PIN" \
  --id 45 --label "Kaztoken key"
vt_run dump pkcs15-tool -r "$SLOT" --dump
grep -q "Private RSA Key \[Kaztoken key\]" "$VT_TMP/dump.out" || vt_fail "no private key in the dump"
grep -q "ModLength *: 2048" "$VT_TMP/dump.out" || vt_fail "not a 2048-bit key"
grep -q "Path *: 3f001000100060020001" "$VT_TMP/dump.out" ||
  vt_fail "the key is not in the Rutoken private key DF"
vt_run pubkey pkcs15-tool -r "$SLOT" --read-public-key 45 -o "$VT_TMP/pub.pem"

vt_note "pkcs11-tool signs SHA256-RSA-PKCS, openssl verifies"
printf 'signed by a Kaztoken that exists only in software\n' >"$VT_TMP/data.txt"
vt_run sign pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$USER_PIN" --sign \
  --id 45 --mechanism SHA256-RSA-PKCS --input-file "$VT_TMP/data.txt" \
  --output-file "$VT_TMP/data.sig"
vt_run verify openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/data.sig" \
  "$VT_TMP/data.txt"
grep -q "Verified OK" "$VT_TMP/verify.out" || vt_fail "signature does not verify"

vt_note "pkcs15-init --store-certificate"
# A certificate for the card's public key, issued by a throwaway CA (OpenSSL 3.0 has no
# "x509 -new": a request made with the CA key carries the subject, -force_pubkey the key).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VT_TMP/ca.key" -out "$VT_TMP/ca.pem" \
  -subj "/CN=vtoken test CA" -days 2 >"$VT_TMP/openssl.log" 2>&1 || vt_fail "openssl: CA"
openssl req -new -key "$VT_TMP/ca.key" -subj "/CN=KAZTOKEN TEST/C=KZ" \
  -out "$VT_TMP/req.csr" >>"$VT_TMP/openssl.log" 2>&1 || vt_fail "openssl: request"
openssl x509 -req -in "$VT_TMP/req.csr" -force_pubkey "$VT_TMP/pub.pem" -CA "$VT_TMP/ca.pem" \
  -CAkey "$VT_TMP/ca.key" -CAcreateserial -days 2 -out "$VT_TMP/cert.pem" \
  >>"$VT_TMP/openssl.log" 2>&1 || vt_fail "openssl: certificate"
vt_run store-cert pkcs15-init -r "$SLOT" --store-certificate "$VT_TMP/cert.pem" --id 45 \
  --auth-id 02 --pin "$USER_PIN" --label "Kaztoken cert"
vt_run list-certs pkcs15-tool -r "$SLOT" --list-certificates
grep -q "Kaztoken cert" "$VT_TMP/list-certs.out" || vt_fail "certificate not listed"
vt_run read-cert pkcs15-tool -r "$SLOT" --read-certificate 45 -o "$VT_TMP/cert-back.pem"
cmp -s <(openssl x509 -in "$VT_TMP/cert.pem" -outform DER) \
  <(openssl x509 -in "$VT_TMP/cert-back.pem" -outform DER) || vt_fail "certificate read back differs"

vt_note "pkcs11-tool --change-pin"
vt_run change-pin pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$USER_PIN" \
  --change-pin --new-pin "$NEW_PIN"
rc=0; pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$USER_PIN" --list-objects \
  >"$VT_TMP/old-pin.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "the old PIN still logs in"
vt_run new-pin pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$NEW_PIN" --list-objects

vt_note "a wrong PIN lowers the tries left"
vt_run list-pins2 pkcs15-tool -r "$SLOT" --list-pins
before=$(user_tries)
[ -n "$before" ] || vt_fail "no tries count from VERIFY without data"
rc=0; pkcs15-tool -r "$SLOT" --verify-pin --auth-id 02 --pin 00000000 >"$VT_TMP/wrong.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "a wrong PIN was accepted"
grep -q "PIN code or key incorrect" "$VT_TMP/wrong.out" || vt_fail "wrong PIN: $(cat "$VT_TMP/wrong.out")"
after=$(user_tries)
[ "$after" = "$((before - 1))" ] || vt_fail "tries left $before -> '$after' after a wrong PIN"

vt_note "everything survives a restart of vtoken sim"
stop_sim
start_sim
[ "$(user_tries)" = "$after" ] || vt_fail "tries left after restart: '$(user_tries)', want $after"
vt_run list-pins3 pkcs15-tool -r "$SLOT" --list-pins
cmp -s "$VT_TMP/list-pins2.out" "$VT_TMP/list-pins3.out" || vt_fail "PINs differ after restart"
vt_run dump2 pkcs15-tool -r "$SLOT" --dump
# (pkcs15-init --store-certificate --label renames the key it pairs with: match by ID)
grep -A12 "^Private RSA Key" "$VT_TMP/dump2.out" | grep -q "ID *: 45" || vt_fail "key gone after restart"
grep -q "Kaztoken cert" "$VT_TMP/dump2.out" || vt_fail "certificate gone after restart"
vt_run read-cert2 pkcs15-tool -r "$SLOT" --read-certificate 45 -o "$VT_TMP/cert-back2.pem"
cmp -s "$VT_TMP/cert-back.pem" "$VT_TMP/cert-back2.pem" || vt_fail "certificate differs after restart"
rc=0; pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$USER_PIN" --list-objects \
  >"$VT_TMP/old-pin2.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || vt_fail "the old PIN logs in after restart"
vt_run sign2 pkcs11-tool --module "$P11" --slot-index 0 --login --pin "$NEW_PIN" --sign \
  --id 45 --mechanism SHA256-RSA-PKCS --input-file "$VT_TMP/data.txt" \
  --output-file "$VT_TMP/data2.sig"
vt_run verify2 openssl dgst -sha256 -verify "$VT_TMP/pub.pem" -signature "$VT_TMP/data2.sig" \
  "$VT_TMP/data.txt"
grep -q "Verified OK" "$VT_TMP/verify2.out" || vt_fail "signature after restart does not verify"

vt_note "ok"
