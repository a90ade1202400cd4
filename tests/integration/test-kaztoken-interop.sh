#!/usr/bin/env bash
# The Kaztoken's PKCS#15 between OpenSC 0.23 and our module, both ways, over PC/SC: one
# `vtoken sim` card behind a private pcscd, OpenSC forced onto its rutoken_ecp driver, our
# module given a home without embedded tokens so that its only slot is the reader.
#
# 1. OpenSC -> vtoken: pkcs15-init personalises the card (erase, create, store-pin),
#    makes a key pair, stores a certificate and a private data object, and
#    opensc-pkcs11.so imports a private key (PrKDF entry only). Our module lists all of
#    it with the right attributes (the imported key's CKA_MODULUS from the card's own
#    public half), takes OpenSC's PIN policy (length 4-32, 5 tries: no false "count low"),
#    signs with both keys (openssl verifies) and reads the certificate back.
# 2. vtoken -> OpenSC: C_InitToken and C_InitPIN through our module, then a key pair, a
#    certificate and an imported private key; pkcs15-tool --dump shows them, the files
#    have the access conditions OpenSC's profile gives, the ODF is byte for byte the one
#    OpenSC writes for the same history, and opensc-pkcs11.so signs with both keys.
# 3. A factory card (no application) written first by our module: OpenSC reads and signs.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
vt_need opensc-tool opensc-explorer pkcs15-init pkcs15-tool pkcs11-tool openssl cmp
vt_setup
[ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
[ -e "$VT_MODULE" ] || vt_fail "module not built: $VT_MODULE"
/usr/bin/python3 -c 'import PyKCS11' 2>/dev/null ||
  vt_fail "required: /usr/bin/python3 with PyKCS11 (package python3-pykcs11)"
OPENSC_P11=/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so
[ -e "$OPENSC_P11" ] || vt_fail "OpenSC PKCS#11 module not found at $OPENSC_P11"
VECTORS=$VT_SOURCE_DIR/vectors/pkcs15/opensc-0.23

PORT=$(vt_port_base kaztoken-interop)
READER="DigiFlow LLP. KAZTOKEN"
SLOT="$READER 00 00"
SO_PIN=87654321
USER_PIN=12345678

export OPENSC_CONF=$VT_TMP/opensc.conf
cat >"$OPENSC_CONF" <<EOF
app default {
    debug = 1;
    debug_file = $VT_TMP/opensc-debug.log;
    card_atr 3b:88:01:4b:41:5a:54:4f:4b:45:4e:82 {
        driver = "rutoken_ecp";
        name = "Kaztoken";
    }
    framework pkcs15 { use_file_caching = no; }
}
EOF

SIM_HOME=$VT_TMP/sim-home
mkdir -p "$SIM_HOME"
cat >"$SIM_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF
# our module: no embedded tokens, only the reader
export VTOKEN_HOME=$VT_TMP/module-home
mkdir -p "$VTOKEN_HOME"
printf '# no embedded tokens: the Kaztoken is in the PC/SC reader\n' >"$VTOKEN_HOME/vtoken.conf"

card_present() { opensc-tool -r "$SLOT" --atr >/dev/null 2>&1; }
SIM_RUNS=0
start_sim() {
  SIM_RUNS=$((SIM_RUNS + 1))
  VTOKEN_HOME=$SIM_HOME vt_bg "sim$SIM_RUNS" "$VTOKEN" sim --token kaztoken -v
  SIM=$VT_LAST_PID
  vt_wait_for 15 card_present || vt_fail "no card in '$SLOT'"
}
stop_sim() {
  kill -TERM "$SIM"
  wait "$SIM" || vt_fail "vtoken sim exited with an error (sim$SIM_RUNS.log)"
  vt_wait_for 10 sh -c "! opensc-tool -r '$SLOT' --atr >/dev/null 2>&1" || vt_fail "card stayed"
}

# ours: pkcs11-tool on our module's only slot; theirs: on opensc-pkcs11.so
ours() { local w=$1; shift; vt_run "$w" vt_host pkcs11-tool --module "$VT_MODULE" --slot-index 0 "$@"; }
theirs() { local w=$1; shift; vt_run "$w" pkcs11-tool --module "$OPENSC_P11" --slot-index 0 "$@"; }
verify_sig() { # <pubkey.pem> <sig> <what>
  vt_run "verify-$3" openssl dgst -sha256 -verify "$1" -signature "$2" "$VT_TMP/data.txt"
  grep -q "Verified OK" "$VT_TMP/verify-$3.out" || vt_fail "$3: the signature does not verify"
}
# token flags of our slot, sorted, comma-separated
our_flags() {
  vt_host pkcs11-tool --module "$VT_MODULE" -T 2>/dev/null |
    sed -n 's/^  token flags *: //p' | head -1 | tr ',' '\n' | sed 's/^ *//' | LC_ALL=C sort |
    paste -sd,
}
# fcp <path hex>: the 15 bytes of tag 86 the card answers SELECT with
fcp_sec() {
  local p=$1 l apdu
  l=$(printf '%02X' $((${#p} / 2)))
  apdu="00:A4:08:00:$l:$(sed 's/../&:/g; s/:$//' <<<"$p"):00"
  opensc-tool -r "$SLOT" -s "$apdu" 2>&1 | sed -n '/Received/,$p' | tail -n +2 |
    cut -c1-48 | tr -d ' \n' | sed -n 's/.*860F\(.\{30\}\).*/\1/p'
}
# our_key_attrs <id> <pem>: CKA_MODULUS / CKA_PUBLIC_EXPONENT of our private key object
# with that CKA_ID are those of the key in the PEM (private or public)
our_key_attrs() {
  cat >"$VT_TMP/keyattrs.py" <<'EOF'
import sys, subprocess, PyKCS11
module, key_id, pin, pem = sys.argv[1:5]
pub = ["-pubin"] if b"PUBLIC KEY" in open(pem, "rb").read() else []
text = subprocess.run(["openssl", "rsa"] + pub + ["-in", pem, "-noout", "-modulus"],
                      capture_output=True, text=True, check=True).stdout
want_n = bytes.fromhex(text.strip().split("=", 1)[1])
lib = PyKCS11.PyKCS11Lib(); lib.load(module)
s = lib.openSession(lib.getSlotList(tokenPresent=True)[0])
s.login(pin)
objs = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY),
                      (PyKCS11.CKA_ID, bytes.fromhex(key_id))])
if len(objs) != 1:
    sys.exit("want one private key with CKA_ID %s, found %d" % (key_id, len(objs)))
n, e = s.getAttributeValue(objs[0], [PyKCS11.CKA_MODULUS, PyKCS11.CKA_PUBLIC_EXPONENT])
s.logout(); s.closeSession()
if bytes(n) != want_n or bytes(e) != b"\x01\x00\x01":
    sys.exit("CKA_MODULUS/CKA_PUBLIC_EXPONENT %s/%s are not the key's" % (bytes(n).hex()[:32], bytes(e).hex()))
print("ok")
EOF
  vt_run "keyattrs-$1" vt_python "$VT_TMP/keyattrs.py" "$VT_MODULE" "$1" "$USER_PIN" "$2"
}
make_cert() { # <pub.pem> <out.pem> <CN>
  [ -e "$VT_TMP/ca.key" ] || vt_run ca openssl req -x509 -newkey rsa:2048 -nodes \
    -keyout "$VT_TMP/ca.key" -out "$VT_TMP/ca.pem" -subj "/CN=vtoken interop CA" -days 2
  vt_run csr openssl req -new -key "$VT_TMP/ca.key" -subj "/CN=$3/C=KZ" -out "$VT_TMP/req.csr"
  vt_run cert openssl x509 -req -in "$VT_TMP/req.csr" -force_pubkey "$1" -CA "$VT_TMP/ca.pem" \
    -CAkey "$VT_TMP/ca.key" -set_serial "0x$RANDOM" -days 2 -out "$2"
}
# check_acls <whose>: tag 86 of each file is what OpenSC's rutoken_ecp profile gives
# (vectors/pkcs15/README.md); part 1 proves the table on OpenSC's own card
OPENSC_ACLS=("2F00 430001000000000100000000000000" "50005031 430000000000000100000000000000"
  "50005032 430000000000000200000000000000" "50006005 430001000000000100000000000000"
  "50006002 430002000000000200000000000000" "50006001 430002000000000200000000000000"
  "50006004 430002000000000200000000000000" "50000200 430002000000000200000000000000"
  "1000100060020001 460002020000000200000000000000"
  "1000100060010001 460002000000000200000000000000")
check_acls() {
  local f got
  for f in "${OPENSC_ACLS[@]}"; do
    got=$(fcp_sec "${f% *}")
    [ "$got" = "${f#* }" ] || vt_fail "$1: access conditions of ${f% *}: '$got', want ${f#* }"
  done
}
printf 'signed across OpenSC and vtoken\n' >"$VT_TMP/data.txt"

vt_pcscd_start "$READER" "$PORT"
start_sim
t0=$SECONDS

# ---------------------------------------------------------------------------------------
vt_note "1. OpenSC personalises the card and writes objects"
vt_run erase pkcs15-init -r "$SLOT" --erase-card
vt_run create pkcs15-init -r "$SLOT" --create-pkcs15 --so-pin "$SO_PIN" --so-puk "" --label "OpenSC made"
vt_run store-pin pkcs15-init -r "$SLOT" --store-pin --label "User PIN" --auth-id 02 --pin "$USER_PIN" \
  --puk "" --so-pin "$SO_PIN" --finalize
vt_run keygen pkcs15-init -r "$SLOT" --generate-key rsa/2048 --auth-id 02 --pin "$USER_PIN" --id 45 \
  --label "opensc key"
vt_run pub45 pkcs15-tool -r "$SLOT" --read-public-key 45 -o "$VT_TMP/pub45.pem"
make_cert "$VT_TMP/pub45.pem" "$VT_TMP/cert45.pem" "OPENSC KEY"
vt_run store-cert pkcs15-init -r "$SLOT" --store-certificate "$VT_TMP/cert45.pem" --id 45 --auth-id 02 \
  --pin "$USER_PIN" --label "opensc cert"
printf 'opensc private data' >"$VT_TMP/data.bin"
vt_run store-data pkcs15-init -r "$SLOT" --store-data "$VT_TMP/data.bin" --label "opensc data" \
  --application-name vtoken --application-id 1.2.3.4 --auth-id 02 --pin "$USER_PIN"
# OpenSC's rtecp_store_key takes dP, dQ and qInv only at full length (128 bytes for
# RSA-2048; about one key in 85 has a shorter one) and fails with CKR_ARGUMENTS_BAD
# after it has created the key file, so that a second try meets that file (6A89,
# CKR_GENERAL_ERROR). Import once, a key that meets the condition.
crt_full() {
  openssl rsa -in "$1" -traditional -outform DER 2>/dev/null | openssl asn1parse -inform DER |
    awk '/prim: INTEGER/ { n++; if (n >= 7 && match($0, / l= *[0-9]+/) &&
      substr($0, RSTART + 3, RLENGTH - 3) + 0 < 128) short = 1 }
      END { exit (n == 9 && !short) ? 0 : 1 }'
}
for try in $(seq 20); do
  vt_run genkey47 openssl genrsa -out "$VT_TMP/imp47.pem" 2048
  crt_full "$VT_TMP/imp47.pem" && break
  [ "$try" -lt 20 ] || vt_fail "20 RSA keys in a row with a short CRT parameter"
done
vt_run import47 pkcs11-tool --module "$OPENSC_P11" --slot-index 0 --login --pin "$USER_PIN" \
  --write-object "$VT_TMP/imp47.pem" --type privkey --id 47 --label "opensc imported"
vt_run pub47 openssl rsa -in "$VT_TMP/imp47.pem" -pubout -out "$VT_TMP/pub47.pem"
vt_run dump1 pkcs15-tool -r "$SLOT" --dump
grep -q "Public RSA Key" "$VT_TMP/dump1.out" || vt_fail "no public key in OpenSC's dump"
[ "$(grep -c '^Public RSA Key' "$VT_TMP/dump1.out")" = 1 ] ||
  vt_fail "opensc-pkcs11 wrote a PuKDF entry for the imported key: the premise changed"

check_acls "OpenSC's pkcs15-init"

vt_note "1. our module lists OpenSC's objects"
ours slots1 -L
grep -q "token label *: OpenSC made" "$VT_TMP/slots1.out" || vt_fail "label: $(cat "$VT_TMP/slots1.out")"
grep -q "pin min/max *: 4/32" "$VT_TMP/slots1.out" || vt_fail "not OpenSC's PIN lengths (4/32)"
[ "$(our_flags)" = "PIN initialized,login required,rng,token initialized" ] ||
  vt_fail "token flags on OpenSC's card: $(our_flags)"
ours public1 -O
grep -q "Certificate Object" "$VT_TMP/public1.out" || vt_fail "no certificate without login"
if grep -q "Data object\|Private Key Object" "$VT_TMP/public1.out"; then
  vt_fail "private objects listed without login"
fi
ours objects1 --login --pin "$USER_PIN" -O
for want in "Private Key Object; RSA" "label:          'opensc data'" "Certificate Object; type = X.509 cert" \
  "Public Key Object; RSA 2048 bits" "label:      opensc imported" "ID:         47"; do
  grep -qF "$want" "$VT_TMP/objects1.out" || vt_fail "our module misses '$want' on OpenSC's card"
done
our_key_attrs 47 "$VT_TMP/imp47.pem"
our_key_attrs 45 "$VT_TMP/pub45.pem"
ours readcert1 --read-object --type cert --id 45 -o "$VT_TMP/cert45-back.der"
cmp -s <(openssl x509 -in "$VT_TMP/cert45.pem" -outform DER) "$VT_TMP/cert45-back.der" ||
  vt_fail "certificate read by our module differs"
ours readdata1 --login --pin "$USER_PIN" --read-object --type data --label "opensc data" \
  -o "$VT_TMP/data-back.bin"
cmp -s "$VT_TMP/data.bin" "$VT_TMP/data-back.bin" || vt_fail "data object read by our module differs"

vt_note "1. our module signs with OpenSC's keys"
ours sign45 --login --pin "$USER_PIN" --sign --id 45 -m SHA256-RSA-PKCS -i "$VT_TMP/data.txt" \
  -o "$VT_TMP/sig45"
verify_sig "$VT_TMP/pub45.pem" "$VT_TMP/sig45" "opensc-generated key"
ours sign47 --login --pin "$USER_PIN" --sign --id 47 -m SHA256-RSA-PKCS -i "$VT_TMP/data.txt" \
  -o "$VT_TMP/sig47"
verify_sig "$VT_TMP/pub47.pem" "$VT_TMP/sig47" "opensc-imported key"

# ---------------------------------------------------------------------------------------
vt_note "2. our module: C_InitToken, C_InitPIN, a key pair, a certificate, an imported key"
ours inittoken --init-token --label "vtoken made" --so-pin "$SO_PIN"
[ "$(our_flags)" = "login required,rng,token initialized" ] ||
  vt_fail "after C_InitToken: flags $(our_flags), want no CKF_USER_PIN_INITIALIZED"
rc=0
vt_host pkcs11-tool --module "$VT_MODULE" --slot-index 0 --login --pin "$USER_PIN" -O \
  >"$VT_TMP/nouser.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] && grep -q CKR_USER_PIN_NOT_INITIALIZED "$VT_TMP/nouser.out" ||
  vt_fail "user login before C_InitPIN: $(tail -2 "$VT_TMP/nouser.out")"
ours initpin --init-pin --login --login-type so --so-pin "$SO_PIN" --new-pin "$USER_PIN"
[ "$(our_flags)" = "PIN initialized,login required,rng,token initialized" ] ||
  vt_fail "after C_InitPIN: flags $(our_flags)"
vt_run dump2a pkcs15-tool -r "$SLOT" --dump
grep -q "PKCS#15 Card \[vtoken made\]" "$VT_TMP/dump2a.out" || vt_fail "OpenSC does not see the new label"
if grep -q "RSA Key\|X.509\|Data object" "$VT_TMP/dump2a.out"; then
  vt_fail "C_InitToken left objects: $(grep "RSA Key\|X.509\|Data object" "$VT_TMP/dump2a.out")"
fi
ours keygen2 --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 01 --label "vtoken key"
ours pub01 --read-object --type pubkey --id 01 -o "$VT_TMP/pub01.der"
vt_run pub01pem openssl pkey -pubin -inform DER -in "$VT_TMP/pub01.der" -out "$VT_TMP/pub01.pem"
make_cert "$VT_TMP/pub01.pem" "$VT_TMP/cert01.pem" "VTOKEN KEY"
vt_run cert01der openssl x509 -in "$VT_TMP/cert01.pem" -outform DER -out "$VT_TMP/cert01.der"
ours writecert2 --login --pin "$USER_PIN" --write-object "$VT_TMP/cert01.der" --type cert --id 01 \
  --label "vtoken cert"
vt_run genkey02 openssl genrsa -out "$VT_TMP/imp02.pem" 2048
vt_run pub02 openssl rsa -in "$VT_TMP/imp02.pem" -pubout -out "$VT_TMP/pub02.pem"
ours import02 --login --pin "$USER_PIN" --write-object "$VT_TMP/imp02.pem" --type privkey --id 02 \
  --label "vtoken imported"
our_key_attrs 02 "$VT_TMP/imp02.pem"

vt_note "2. OpenSC reads what our module wrote"
vt_run dump2 pkcs15-tool -r "$SLOT" --dump
for want in "Private RSA Key \[vtoken key\]" "Private RSA Key \[vtoken imported\]" \
  "Public RSA Key \[vtoken key\]" "X.509 Certificate \[vtoken cert\]"; do
  grep -q "$want" "$VT_TMP/dump2.out" || vt_fail "pkcs15-tool --dump misses $want"
done
[ "$(grep -c '^Public RSA Key' "$VT_TMP/dump2.out")" = 1 ] ||
  vt_fail "the imported key got a PuKDF entry (opensc-pkcs11 writes none)"
vt_run readcert2 pkcs15-tool -r "$SLOT" --read-certificate 01 -o "$VT_TMP/cert01-back.pem"
cmp -s "$VT_TMP/cert01.der" <(openssl x509 -in "$VT_TMP/cert01-back.pem" -outform DER) ||
  vt_fail "OpenSC reads a different certificate"
theirs objects2 --login --pin "$USER_PIN" -O
grep -q "label:      vtoken imported" "$VT_TMP/objects2.out" || vt_fail "opensc-pkcs11 misses the imported key"
theirs sign01 --login --pin "$USER_PIN" --sign --id 01 -m SHA256-RSA-PKCS -i "$VT_TMP/data.txt" \
  -o "$VT_TMP/sig01"
verify_sig "$VT_TMP/pub01.pem" "$VT_TMP/sig01" "vtoken-generated key, OpenSC signing"
theirs sign02 --login --pin "$USER_PIN" --sign --id 02 -m SHA256-RSA-PKCS -i "$VT_TMP/data.txt" \
  -o "$VT_TMP/sig02"
verify_sig "$VT_TMP/pub02.pem" "$VT_TMP/sig02" "vtoken-imported key, OpenSC signing"

vt_note "2. the files are laid out and protected as OpenSC's profile does it"
check_acls "our module's C_InitToken"
cat >"$VT_TMP/odf.txt" <<EOF
cd 5000
get 5031 $VT_TMP/odf-ours.der
EOF
vt_run getodf opensc-explorer -r "$SLOT" "$VT_TMP/odf.txt"
# keygen then certificate: AODF, PrKDF, PuKDF, CDF, as pkcs15-init lists them for that history
cmp -s <(head -c 48 "$VECTORS/stage2/odf.der") <(head -c 48 "$VT_TMP/odf-ours.der") ||
  vt_fail "our ODF is not OpenSC's: $(xxd -p "$VT_TMP/odf-ours.der" | tr -d '\n' | head -c 120)"
[ "$(tail -c +49 "$VT_TMP/odf-ours.der" | tr -d '\0' | wc -c)" = 0 ] ||
  vt_fail "our ODF lists more than AODF, PrKDF, PuKDF, CDF"

# ---------------------------------------------------------------------------------------
vt_note "3. a factory card written first by our module, read by OpenSC"
stop_sim
rm -f "$SIM_HOME/tokens/kaztoken.img"
start_sim
ours keygen3 --login --pin "$USER_PIN" --keypairgen --key-type rsa:2048 --id 03 --label "first key"
ours pub03 --read-object --type pubkey --id 03 -o "$VT_TMP/pub03.der"
vt_run pub03pem openssl pkey -pubin -inform DER -in "$VT_TMP/pub03.der" -out "$VT_TMP/pub03.pem"
vt_run dump3 pkcs15-tool -r "$SLOT" --dump
grep -q "Private RSA Key \[first key\]" "$VT_TMP/dump3.out" || vt_fail "OpenSC misses our first key"
theirs sign03 --login --pin "$USER_PIN" --sign --id 03 -m SHA256-RSA-PKCS -i "$VT_TMP/data.txt" \
  -o "$VT_TMP/sig03"
verify_sig "$VT_TMP/pub03.pem" "$VT_TMP/sig03" "factory card, OpenSC signing"

vt_note "ok ($((SECONDS - t0)) s)"
