#!/usr/bin/env bash
# The pkcs11-tool acceptance suite (acceptance.sh) for the JaCarta (Laser PKI applet):
# factory PINs 1234567890 (user, as NCA issues it) / 00000000 (SO), 10 user PIN tries;
# in-process (embedded) and as a card in a virtual reader "ARDS JaCarta" behind a private
# pcscd (vpcd), where the module sees only the PC/SC slot. Also: the module loaded under
# the vendor's file name libjcPKCS11-2.so shows only the JaCarta, with Aladdin's strings;
# and in the reader, pcsc_scan names the card by its ATR from pcsc-tools' list.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/acceptance.sh"
vt_setup

JC=(--token jacarta --reader "ARDS JaCarta" --user-pin 1234567890 --so-pin 00000000 --tries 10)
vt_acceptance --mode embedded "${JC[@]}"
# --test again, now that the token holds the acceptance key: signatures (PKCS#1 by the
# card, RSA-X-509 and PSS over its raw RSA) and deciphering (PKCS#1, OAEP) with it
vt_note "pkcs11-tool --test --login with the acceptance key"
acc_p11 jc-test-keys --test --login --pin 1234567890
for want in "testing key" "SHA256-RSA-PKCS: OK" "RSA-PKCS-OAEP" "No errors"; do
  grep -q -- "$want" "$VT_TMP/jc-test-keys.out" ||
    { cat "$VT_TMP/jc-test-keys.out" >&2; vt_fail "--test with a key: no '$want'"; }
done

# The vendor's library name: only the JaCarta, Aladdin's C_GetInfo and token strings.
vt_note "the module as libjcPKCS11-2.so"
ln -s "$ACC_MODULE" "$VT_TMP/libjcPKCS11-2.so"
vt_run jc-vendor-I vt_host pkcs11-tool --module "$VT_TMP/libjcPKCS11-2.so" -I
grep -q "Manufacturer *Aladdin R.D." "$VT_TMP/jc-vendor-I.out" ||
  { cat "$VT_TMP/jc-vendor-I.out" >&2; vt_fail "C_GetInfo manufacturer is not Aladdin R.D."; }
grep -q "Library *JaCarta PKCS#11" "$VT_TMP/jc-vendor-I.out" ||
  { cat "$VT_TMP/jc-vendor-I.out" >&2; vt_fail "C_GetInfo description is not JaCarta's"; }
vt_run jc-vendor-L vt_host pkcs11-tool --module "$VT_TMP/libjcPKCS11-2.so" -L
[ "$(grep -c '^Slot ' "$VT_TMP/jc-vendor-L.out")" -eq 1 ] ||
  { cat "$VT_TMP/jc-vendor-L.out" >&2; vt_fail "libjcPKCS11-2.so shows other tokens"; }
for want in "ARDS JaCarta" "token manufacturer *: Aladdin R.D." "token model *: JaCarta Laser"; do
  grep -q -- "$want" "$VT_TMP/jc-vendor-L.out" ||
    { cat "$VT_TMP/jc-vendor-L.out" >&2; vt_fail "libjcPKCS11-2.so -L: no '$want'"; }
done
# and the module under its own name shows the home's other tokens too
vt_run jc-all-L vt_host pkcs11-tool --module "$ACC_MODULE" -L
[ "$(grep -c '^Slot ' "$VT_TMP/jc-all-L.out")" -ge 3 ] ||
  { cat "$VT_TMP/jc-all-L.out" >&2; vt_fail "the module under its own name hides tokens"; }

vt_acceptance --mode vpcd "${JC[@]}"

# the reader and `vtoken sim` of the vpcd run are still up
vt_need pcsc_scan
vt_note "pcsc_scan identifies the JaCarta's ATR"
pcsc_scan -t 3 >"$VT_TMP/pcsc_scan.out" 2>&1 </dev/null || true
grep -q "ARDS JaCarta 00 00" "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan: no reader 'ARDS JaCarta 00 00'"; }
grep -q "3B DC 18 FF 81 91 FE 1F C3 80 73 C8 21 13 66 01 06 11 59 00 01 28" \
  "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan: not the JaCarta's ATR"; }
grep -q "JaCarta (PKI)" "$VT_TMP/pcsc_scan.out" ||
  { cat "$VT_TMP/pcsc_scan.out" >&2; vt_fail "pcsc_scan does not name the card a JaCarta"; }
vt_note "ok"
