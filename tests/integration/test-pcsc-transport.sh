#!/usr/bin/env bash
# The PC/SC transport (apdu/pcsc.c) against a private pcscd with one vpcd reader entry
# (two slots): pcsc_probe plays the cards on vpcd's sockets and the host through
# apdu_pcsc_*: readers, waits, insertion and removal, transmit, resets, cancel.
. "$(dirname "$0")/lib.sh"
vt_setup

probe=${VT_PCSC_PROBE:-$VT_BUILD_DIR/tests/integration/pcsc_probe}
[ -x "$probe" ] || vt_fail "pcsc_probe not built: $probe (build target pcsc_probe)"

port=$(vt_port_base pcsc-transport)
vt_pcscd_start "vtoken probe" "$port"
vt_note "private pcscd at $PCSCLITE_CSOCK_NAME; vpcd slots on ports $port and $((port + 1))"

timeout 300 "$probe" "$port" "vtoken probe" || vt_fail "pcsc_probe failed (exit $?)"
