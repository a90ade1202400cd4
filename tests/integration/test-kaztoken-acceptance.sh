#!/usr/bin/env bash
# The pkcs11-tool acceptance suite (acceptance.sh) for the Kaztoken: factory PINs
# 12345678 / 87654321, 10 user PIN tries; in-process (embedded) and as a card in a virtual
# reader behind a private pcscd (vpcd), where the module sees only the PC/SC slot.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/acceptance.sh"
vt_setup

KZ=(--token kaztoken --reader "DigiFlow LLP. KAZTOKEN" --user-pin 12345678 --so-pin 87654321
  --tries 10)
vt_acceptance --mode embedded "${KZ[@]}"
vt_acceptance --mode vpcd "${KZ[@]}"
vt_note "ok"
