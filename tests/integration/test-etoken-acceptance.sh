#!/usr/bin/env bash
# The pkcs11-tool acceptance suite (acceptance.sh) for the eToken PRO (Java) 72K: factory
# PINs 1234567890 / 0987654321, 15 user PIN tries; in-process (embedded) and as a card in
# a virtual reader "SafeNet Token JC" behind a private pcscd (vpcd), where the module sees
# only the PC/SC slot. In the reader, pcsc_scan must name the card by its ATR from
# pcsc-tools' list, as it names a physical eToken PRO Java.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/acceptance.sh"
vt_setup

ET=(--token etoken --reader "SafeNet Token JC" --user-pin 1234567890 --so-pin 0987654321
  --tries 15)
vt_acceptance --mode embedded "${ET[@]}"
# --test again, now that the token holds the acceptance key: signatures and deciphering
# (RSA-X-509, PKCS#1, OAEP) with a key on the eToken
vt_note "pkcs11-tool --test --login with the acceptance key"
acc_p11 et-test-keys --test --login --pin 1234567890
for want in "testing key" "SHA256-RSA-PKCS: OK" "RSA-PKCS-OAEP" "No errors"; do
  grep -q -- "$want" "$VT_TMP/et-test-keys.out" ||
    { cat "$VT_TMP/et-test-keys.out" >&2; vt_fail "--test with a key: no '$want'"; }
done
# SAC's library names: the module shows the eToken only, with SAC's C_GetInfo strings
for lib in libeToken.so libeTPkcs11.so; do
  vt_note "loaded as $lib"
  ln -s "$VT_MODULE" "$VT_TMP/$lib"
  vt_run "et-$lib" vt_host pkcs11-tool --module "$VT_TMP/$lib" -I -L
  grep -Eq "^Manufacturer +SafeNet, Inc\.$" "$VT_TMP/et-$lib.out" &&
    grep -Eq "^Library +SafeNet eToken PKCS#11 " "$VT_TMP/et-$lib.out" &&
    [ "$(grep -c "^Slot " "$VT_TMP/et-$lib.out")" = 1 ] &&
    grep -q "^Slot 0 (0x0): SafeNet Token JC *$" "$VT_TMP/et-$lib.out" ||
    { cat "$VT_TMP/et-$lib.out" >&2; vt_fail "$lib: not SAC's strings and the eToken alone"; }
done

vt_acceptance --mode vpcd "${ET[@]}"

# the reader and `vtoken sim` of the vpcd run are still up
vt_need pcsc_scan
vt_note "pcsc_scan identifies the eToken's ATR"
pcsc_scan -t 3 >"$VT_TMP/pcsc_scan.out" 2>&1 </dev/null || true
grep -q "SafeNet Token JC 00 00" "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan: no reader 'SafeNet Token JC 00 00'"; }
grep -q "3B D5 18 00 81 31 FE 7D 80 73 C8 21 10 F4" "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan: not the eToken's ATR"; }
grep -q "Gemalto SafeNet eToken Java Based Cards" "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan does not name the card an eToken"; }
vt_note "ok"
