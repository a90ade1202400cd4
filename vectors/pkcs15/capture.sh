#!/usr/bin/env bash
# Captures what OpenSC 0.23 writes on a Kaztoken (its rutoken_ecp driver and profile),
# into vectors/pkcs15/opensc-0.23/: the card is `vtoken sim` behind a private pcscd, the
# files are read back with opensc-explorer as whole EFs (the zero tail included).
#   stage1/  after --erase-card, --create-pkcs15, --store-pin --finalize and
#            --generate-key rsa/2048 --id 45 --label "opensc key"
#   stage2/  then --store-certificate (id 45), --store-data (private, with an
#            application name and OID), --store-private-key (id 46) and a private key
#            written through opensc-pkcs11.so's C_CreateObject (id 47). The data
#            object's EF (private: 3F00/5000/0500) holds "some data".
# Keys, serial numbers and times differ on every run: tests/unit/p11/test_pkcs15_vectors.c
# takes its expected values from README.md, so re-capturing means updating both.
# Run from the source tree: VT_BUILD_DIR=build VT_SOURCE_DIR=. bash vectors/pkcs15/capture.sh
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need pkcs15-init pkcs15-tool opensc-explorer opensc-tool pkcs11-tool openssl
vt_setup
OUT=$VT_SOURCE_DIR/vectors/pkcs15/opensc-0.23
P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
PORT=$(vt_port_base pkcs15-capture)
READER="DigiFlow LLP. KAZTOKEN"
SLOT="$READER 00 00"
export OPENSC_CONF=$VT_TMP/opensc.conf
cat >"$OPENSC_CONF" <<EOC
app default {
    card_atr 3b:88:01:4b:41:5a:54:4f:4b:45:4e:82 { driver = "rutoken_ecp"; name = "Kaztoken"; }
    framework pkcs15 { use_file_caching = no; }
}
EOC
cat >"$VTOKEN_HOME/vtoken.conf" <<EOC
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOC
vt_pcscd_start "$READER" "$PORT"
vt_bg sim "$VTOKEN" sim --token kaztoken
vt_wait_for 15 opensc-tool -r "$SLOT" --atr || vt_fail "no card"

run() { "$@" >>"$VT_TMP/capture.log" 2>&1 || { tail -20 "$VT_TMP/capture.log"; vt_fail "$*"; }; }

# dump <dir> <file>...: EFs of the application DF (and EF(DIR)) into <dir>
dump() {
  local dir=$1 f; shift
  mkdir -p "$dir"
  { echo "get 2F00 $dir/dir.der"; echo "cd 5000";
    for f in "$@"; do echo "get ${f%%:*} $dir/${f#*:}"; done; } >"$VT_TMP/explorer.txt"
  run opensc-explorer -r "$SLOT" "$VT_TMP/explorer.txt"
}

rm -rf "$OUT"
run pkcs15-init -r "$SLOT" --erase-card
run pkcs15-init -r "$SLOT" --create-pkcs15 --so-pin 87654321 --so-puk "" --label "OpenSC made"
run pkcs15-init -r "$SLOT" --store-pin --label "User PIN" --auth-id 02 --pin 12345678 --puk "" \
  --so-pin 87654321 --finalize
run pkcs15-init -r "$SLOT" --generate-key rsa/2048 --auth-id 02 --pin 12345678 --id 45 \
  --label "opensc key"
dump "$OUT/stage1" 5031:odf.der 5032:tokeninfo.der 6005:aodf.der 6002:prkdf.der 6001:pukdf.der \
  0200:pubkey-0200.der

run pkcs15-tool -r "$SLOT" --read-public-key 45 -o "$VT_TMP/pub45.pem"
run openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VT_TMP/ca.key" -out "$VT_TMP/ca.pem" \
  -subj "/CN=vtoken capture CA" -days 3650
run openssl req -new -key "$VT_TMP/ca.key" -subj "/CN=VT KEY/C=KZ" -out "$VT_TMP/req.csr"
run openssl x509 -req -in "$VT_TMP/req.csr" -force_pubkey "$VT_TMP/pub45.pem" -CA "$VT_TMP/ca.pem" \
  -CAkey "$VT_TMP/ca.key" -set_serial 0x1234 -days 3650 -out "$VT_TMP/cert45.pem"
run pkcs15-init -r "$SLOT" --store-certificate "$VT_TMP/cert45.pem" --id 45 --auth-id 02 \
  --pin 12345678 --label "opensc cert"
printf 'some data' >"$VT_TMP/data.bin"
run pkcs15-init -r "$SLOT" --store-data "$VT_TMP/data.bin" --label "opensc data" \
  --application-name vtoken --application-id 1.2.3.4 --auth-id 02 --pin 12345678
run openssl genrsa -out "$VT_TMP/imp46.key" 2048
run pkcs15-init -r "$SLOT" --store-private-key "$VT_TMP/imp46.key" --id 46 --label "imported key" \
  --auth-id 02 --pin 12345678
# OpenSC's rtecp_store_key refuses (CKR_ARGUMENTS_BAD) a key whose dP, dQ or qInv is
# shorter than half the modulus (about 1 key in 85): take another key then.
for try in 1 2 3 4 5; do
  run openssl genrsa -out "$VT_TMP/imp47.key" 2048
  pkcs11-tool --module "$P11" --login --pin 12345678 --write-object "$VT_TMP/imp47.key" \
    --type privkey --id 47 --label "p11 imported" >>"$VT_TMP/capture.log" 2>&1 && break
  [ "$try" -lt 5 ] || vt_fail "opensc-pkcs11 would not store a private key"
done
dump "$OUT/stage2" 5031:odf.der 5032:tokeninfo.der 6005:aodf.der 6002:prkdf.der 6001:pukdf.der \
  6004:cdf.der 6006:dodf.der 0200:pubkey-0200.der 0201:pubkey-0201.der 0300:cert-0300.der
run pkcs15-tool -r "$SLOT" --dump
grep -v '^[-.+*]*$' "$VT_TMP/capture.log" >"$OUT/capture.log"
vt_note "captured into $OUT"
