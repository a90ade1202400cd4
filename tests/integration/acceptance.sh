#!/usr/bin/env bash
# The pkcs11-tool acceptance suite for one virtual token through our module, shared by
# every token family (test-<family>-acceptance.sh runs it with the family's parameters).
# It checks: -I -L -T -M -O; --test with a login; an RSA-2048 key pair made on the token;
# SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures that openssl verifies with the
# exported public key; a certificate written and read back with CKA_SUBJECT, CKA_ISSUER
# and CKA_SERIAL_NUMBER derived from it; --change-pin and back; the exact token flags as
# wrong PINs use up the tries; CKR_PIN_LOCKED once they are gone; the SO unblocking the
# user PIN with --init-pin.
#
# Modes: "embedded" uses the token in a fresh $VTOKEN_HOME, in-process (PC/SC is pointed
# at a socket that does not exist, so no reader slot shows up); "vpcd" starts a private
# pcscd with the token's reader and `vtoken sim` serving the token, and turns the
# module's embedded tokens off (VTOKEN_OPTIONS=embedded=no), so it sees only the PC/SC
# slot. A script runs at most one vpcd mode (the private pcscd stays up until the script
# exits); embedded runs can come first.
# The certificate attributes are read with PyKCS11 (Debian python3-pykcs11).
#
# Run:    acceptance.sh OPTIONS            (needs VT_BUILD_DIR and VT_SOURCE_DIR, as ctest sets)
# Source: . acceptance.sh; vt_acceptance OPTIONS   (after lib.sh and vt_setup)
# Options:
#   --mode embedded|vpcd     (required)
#   --token NAME             the token's name and profile in vtoken.conf, e.g. kaztoken
#   --reader NAME            the token's reader name, e.g. "DigiFlow LLP. KAZTOKEN"
#   --user-pin PIN --so-pin PIN --tries N   the profile's factory PINs and user PIN tries
#   --slot-description TEXT  the slot to use (exact); default: the reader name (embedded)
#                            or "<reader> 00 00" (vpcd)
#   --token-label LABEL      or: the slot whose token has this label (exact)
#   --module PATH            default $VT_MODULE
#   --new-pin PIN            for --change-pin (default: derived from the user PIN)
#   --wrong-pin PIN          a wrong user PIN of valid length (default: derived)
# shellcheck shell=bash

_ACC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# acc_flags: the token flags of our slot from `pkcs11-tool -T`, one per line, sorted.
acc_flags() {
  vt_host pkcs11-tool --module "$ACC_MODULE" -T >"$VT_TMP/acc-T.out" 2>&1 ||
    { cat "$VT_TMP/acc-T.out" >&2; vt_fail "pkcs11-tool -T failed"; }
  awk -v idx="$ACC_SLOT" '
    /^Slot / { mine = ($2 == idx) }
    mine && /^  token flags/ { sub(/^[^:]*: */, ""); print; exit }' "$VT_TMP/acc-T.out" |
    tr ',' '\n' | sed 's/^ *//; s/ *$//; /^$/d' | LC_ALL=C sort
}

# acc_expect_flags <what> [extra flag]: the flags are the fresh token's plus extra, exactly.
acc_expect_flags() {
  local what=$1 extra=${2:-} want got
  want=$(printf '%s\n%s\n' "$ACC_BASE_FLAGS" "$extra" | sed '/^$/d' | LC_ALL=C sort)
  got=$(acc_flags)
  [ "$got" = "$want" ] ||
    vt_fail "$what: token flags [$(paste -sd, <<<"$got")], want [$(paste -sd, <<<"$want")]"
}

# acc_p11 <what> args...: pkcs11-tool on our slot; output kept in $VT_TMP/<what>.out.
acc_p11() {
  local what=$1; shift
  vt_run "$what" vt_host pkcs11-tool --module "$ACC_MODULE" --slot-index "$ACC_SLOT" "$@"
}

# acc_p11_rv <what> <CKR_...>... -- args...: pkcs11-tool must fail with one of these rvs.
acc_p11_rv() {
  local what=$1 want=() rc=0 rv; shift
  while [ "$1" != -- ]; do want+=("$1"); shift; done
  shift
  vt_host pkcs11-tool --module "$ACC_MODULE" --slot-index "$ACC_SLOT" "$@" \
    >"$VT_TMP/$what.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || vt_fail "$what: pkcs11-tool succeeded, want ${want[*]}"
  rv=$(sed -n 's/.*rv = \(CKR_[A-Z_]*\).*/\1/p' "$VT_TMP/$what.out" | head -1)
  for w in "${want[@]}"; do [ "$rv" = "$w" ] && return 0; done
  cat "$VT_TMP/$what.out" >&2
  vt_fail "$what: got '${rv:-no rv}', want ${want[*]}"
}

# The slot index whose description (or token label) is exactly $1.
acc_find_slot() {
  local kind=$1 text=$2
  vt_host pkcs11-tool --module "$ACC_MODULE" -L >"$VT_TMP/acc-L.out" 2>&1 || return 1
  awk -v kind="$kind" -v text="$text" '
    function trim(s) { sub(/^ +/, "", s); sub(/ +$/, "", s); return s }
    /^Slot / {
      idx = $2; d = $0; sub(/^Slot [0-9]+ \([^)]*\): */, "", d)
      if (kind == "desc" && trim(d) == text) { print idx; exit }
    }
    kind == "label" && /^  token label/ {
      l = $0; sub(/^[^:]*: /, "", l); if (trim(l) == text) { print idx; exit }
    }' "$VT_TMP/acc-L.out"
}

# A PIN of the same length that differs in every position (digits move on by `step`).
acc_derive_pin() {
  local pin=$1 step=$2 out="" c i
  for ((i = 0; i < ${#pin}; i++)); do
    c=${pin:i:1}
    if [[ $c == [0-9] ]]; then out+=$(((c + step) % 10)); else out+=x; fi
  done
  printf '%s' "$out"
}

acc_start_vpcd() {
  local port
  port=$(vt_port_base "acceptance-$ACC_TOKEN")
  ACC_SIM_HOME=$VT_TMP/sim-home
  mkdir -p "$ACC_SIM_HOME"
  cat >"$ACC_SIM_HOME/vtoken.conf" <<EOF
[token $ACC_TOKEN]
profile = $ACC_TOKEN
image = tokens/$ACC_TOKEN.img
vpcd_port = $port
EOF
  vt_pcscd_start "$ACC_READER" "$port"
  VTOKEN_HOME=$ACC_SIM_HOME vt_bg sim "$VTOKEN" sim --token "$ACC_TOKEN" -v
  # the module: no embedded tokens, so the only slots are PC/SC readers (pkcs11-tool
  # cannot pass pReserved: the option comes from the environment)
  export VTOKEN_OPTIONS="embedded=no"
}

acc_slot_ready() { [ -n "$(acc_find_slot "$ACC_SLOT_KIND" "$ACC_SLOT_TEXT")" ]; }

# A CA and a certificate for the public key in $1 (PEM), subject $2, serial $3.
acc_make_cert() {
  local pub=$1 subject=$2 serial=$3
  vt_run acc-ca openssl req -x509 -newkey rsa:2048 -nodes -keyout "$VT_TMP/acc-ca.key" \
    -out "$VT_TMP/acc-ca.pem" -subj "/C=KZ/O=vtoken acceptance/CN=acceptance CA" -days 2
  # OpenSSL 3.0 has no "x509 -new": a request signed by the CA key carries the subject,
  # -force_pubkey puts the token's key in the certificate.
  vt_run acc-csr openssl req -new -key "$VT_TMP/acc-ca.key" -subj "$subject" \
    -out "$VT_TMP/acc-req.csr"
  vt_run acc-cert openssl x509 -req -in "$VT_TMP/acc-req.csr" -force_pubkey "$pub" \
    -CA "$VT_TMP/acc-ca.pem" -CAkey "$VT_TMP/acc-ca.key" -set_serial "$serial" -days 2 \
    -out "$VT_TMP/acc-cert.pem"
  vt_run acc-cert-der openssl x509 -in "$VT_TMP/acc-cert.pem" -outform DER \
    -out "$VT_TMP/acc-cert.der"
}

# The certificate's CKA_SUBJECT, CKA_ISSUER and CKA_SERIAL_NUMBER, read through PyKCS11,
# against the same fields cut from the certificate's DER.
acc_check_cert_attrs() {
  cat >"$VT_TMP/acc-attrs.py" <<'EOF'
import sys
import PyKCS11

module, slot_index, key_id, cert_file = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def tlv(b, i):
    """(tag, start of the element, start of its value, end)"""
    tag, n = b[i], b[i + 1]
    v = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[v:v + k], "big")
        v += k
    return tag, i, v, v + n

der = open(cert_file, "rb").read()
_, _, tbs_v, _ = tlv(der, tlv(der, 0)[2])  # Certificate -> tbsCertificate
fields = []
i = tbs_v
while len(fields) < 6:
    tag, start, v, end = tlv(der, i)
    if not (len(fields) == 0 and tag == 0xA0):  # skip [0] version
        fields.append(der[start:end])
    i = end
serial, _sigalg, issuer, _validity, subject = fields[0], fields[1], fields[2], fields[3], fields[4]
want = {"CKA_SUBJECT": subject, "CKA_ISSUER": issuer, "CKA_SERIAL_NUMBER": serial,
        "CKA_VALUE": der}

lib = PyKCS11.PyKCS11Lib()
lib.load(module)
slot = lib.getSlotList(tokenPresent=False)[slot_index]
s = lib.openSession(slot)
objs = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_CERTIFICATE),
                      (PyKCS11.CKA_ID, bytes.fromhex(key_id))])
if len(objs) != 1:
    sys.exit("want 1 certificate with CKA_ID %s, found %d" % (key_id, len(objs)))
names = ["CKA_SUBJECT", "CKA_ISSUER", "CKA_SERIAL_NUMBER", "CKA_VALUE"]
vals = s.getAttributeValue(objs[0], [getattr(PyKCS11, n) for n in names])
bad = 0
for n, v in zip(names, vals):
    got = bytes(v)
    if got != want[n]:
        print("%s: token %s, certificate %s" % (n, got.hex(), want[n].hex()))
        bad += 1
    else:
        print("%s: %s" % (n, got.hex()))
s.closeSession()
lib = None
sys.exit(1 if bad else 0)
EOF
  vt_run acc-attrs vt_python "$VT_TMP/acc-attrs.py" "$ACC_MODULE" "$ACC_SLOT" \
    "$ACC_ID" "$VT_TMP/acc-cert.der"
}

vt_acceptance() {
  local mode="" tries="" t0 step
  ACC_MODULE=${VT_MODULE:-$VT_BUILD_DIR/pkcs11/libvtoken-pkcs11.so}
  ACC_TOKEN="" ACC_READER="" ACC_USER="" ACC_SO="" ACC_NEW="" ACC_WRONG=""
  ACC_SLOT_KIND=desc ACC_SLOT_TEXT=""
  while [ $# -gt 0 ]; do
    case $1 in
      --mode) mode=$2 ;;
      --token) ACC_TOKEN=$2 ;;
      --reader) ACC_READER=$2 ;;
      --user-pin) ACC_USER=$2 ;;
      --so-pin) ACC_SO=$2 ;;
      --tries) tries=$2 ;;
      --slot-description) ACC_SLOT_KIND=desc ACC_SLOT_TEXT=$2 ;;
      --token-label) ACC_SLOT_KIND=label ACC_SLOT_TEXT=$2 ;;
      --module) ACC_MODULE=$2 ;;
      --new-pin) ACC_NEW=$2 ;;
      --wrong-pin) ACC_WRONG=$2 ;;
      *) vt_fail "acceptance: unknown option $1" ;;
    esac
    shift 2
  done
  case $mode in embedded | vpcd) ;; *) vt_fail "acceptance: --mode embedded|vpcd" ;; esac
  [ -n "$ACC_TOKEN" ] && [ -n "$ACC_READER" ] && [ -n "$ACC_USER" ] && [ -n "$ACC_SO" ] &&
    [[ $tries =~ ^[1-9][0-9]*$ ]] ||
    vt_fail "acceptance: --token, --reader, --user-pin, --so-pin and --tries are required"
  [ -e "$ACC_MODULE" ] || vt_fail "module not built: $ACC_MODULE"
  [ -n "$ACC_NEW" ] || ACC_NEW=$(acc_derive_pin "$ACC_USER" 2)
  [ -n "$ACC_WRONG" ] || ACC_WRONG=$(acc_derive_pin "$ACC_USER" 5)
  if [ -z "$ACC_SLOT_TEXT" ]; then
    ACC_SLOT_TEXT=$ACC_READER
    [ "$mode" = vpcd ] && ACC_SLOT_TEXT="$ACC_READER 00 00"
  fi
  ACC_ID=a1
  vt_need pkcs11-tool openssl cmp
  [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import PyKCS11' 2>/dev/null ||
    vt_fail "required: /usr/bin/python3 with PyKCS11 (package python3-pykcs11)"

  vt_note "acceptance: $ACC_TOKEN, $mode"
  if [ "$mode" = vpcd ]; then
    acc_start_vpcd
  else
    # no pcscd behind this socket: the module shows the embedded tokens only
    export PCSCLITE_CSOCK_NAME=$VT_TMP/no-pcscd/pcscd.comm
  fi
  vt_wait_for 20 acc_slot_ready || vt_fail "no slot '$ACC_SLOT_TEXT' (pkcs11-tool -L: $(cat "$VT_TMP/acc-L.out"))"
  ACC_SLOT=$(acc_find_slot "$ACC_SLOT_KIND" "$ACC_SLOT_TEXT")
  t0=$SECONDS

  vt_note "pkcs11-tool -I -L -T -M -O"
  acc_p11 acc-info -I
  acc_p11 acc-slots -L
  if [ "$mode" = vpcd ]; then # embedded=no from VTOKEN_OPTIONS: the reader's slot alone
    [ "$(grep -c '^Slot ' "$VT_TMP/acc-slots.out")" = 1 ] ||
      vt_fail "VTOKEN_OPTIONS=embedded=no: slots besides the reader: $(cat "$VT_TMP/acc-slots.out")"
  fi
  acc_p11 acc-tokens -T
  acc_p11 acc-mechs -M
  for m in RSA-PKCS-KEY-PAIR-GEN RSA-PKCS SHA256-RSA-PKCS SHA256-RSA-PKCS-PSS RSA-PKCS-PSS; do
    grep -Eq "^  $m(,|$)" "$VT_TMP/acc-mechs.out" || vt_fail "mechanism $m not listed by -M"
  done
  acc_p11 acc-objects -O
  ACC_BASE_FLAGS=$(acc_flags)
  for f in "login required" "token initialized" "PIN initialized"; do
    grep -qx "$f" <<<"$ACC_BASE_FLAGS" || vt_fail "a fresh token lacks the flag '$f'"
  done
  if grep -q "PIN count low\|PIN try\|locked" <<<"$ACC_BASE_FLAGS"; then
    vt_fail "a fresh token shows PIN warnings: $ACC_BASE_FLAGS"
  fi

  vt_note "pkcs11-tool --test --login"
  acc_p11 acc-test --test --login --pin "$ACC_USER"
  grep -q "No errors" "$VT_TMP/acc-test.out" || vt_fail "--test: $(tail -5 "$VT_TMP/acc-test.out")"
  if grep -v "^No errors$" "$VT_TMP/acc-test.out" | grep -qiE "error|failed|mismatch"; then
    vt_fail "--test reported errors: $(grep -iE "error|failed|mismatch" "$VT_TMP/acc-test.out" | head -5)"
  fi

  vt_note "RSA-2048 key pair on the token"
  acc_p11 acc-keygen --login --pin "$ACC_USER" --keypairgen --key-type rsa:2048 --id "$ACC_ID" \
    --label "acceptance key"
  acc_p11 acc-objects2 --login --pin "$ACC_USER" -O
  grep -q "Private Key Object; RSA" "$VT_TMP/acc-objects2.out" || vt_fail "no private key listed"
  grep -q "Public Key Object; RSA 2048 bits" "$VT_TMP/acc-objects2.out" ||
    vt_fail "no 2048-bit public key listed"
  acc_p11 acc-readpub --read-object --type pubkey --id "$ACC_ID" -o "$VT_TMP/acc-pub.der"
  vt_run acc-pubpem openssl pkey -pubin -inform DER -in "$VT_TMP/acc-pub.der" \
    -out "$VT_TMP/acc-pub.pem"
  openssl pkey -pubin -in "$VT_TMP/acc-pub.pem" -text -noout | grep -q "Public-Key: (2048 bit)" ||
    vt_fail "the exported public key is not RSA-2048"

  vt_note "SHA256-RSA-PKCS and SHA256-RSA-PKCS-PSS signatures, verified by openssl"
  printf 'acceptance data for %s (%s)\n' "$ACC_TOKEN" "$mode" >"$VT_TMP/acc-data"
  acc_p11 acc-sign --login --pin "$ACC_USER" --sign --id "$ACC_ID" -m SHA256-RSA-PKCS \
    -i "$VT_TMP/acc-data" -o "$VT_TMP/acc-data.sig"
  vt_run acc-verify openssl dgst -sha256 -verify "$VT_TMP/acc-pub.pem" \
    -signature "$VT_TMP/acc-data.sig" "$VT_TMP/acc-data"
  grep -q "Verified OK" "$VT_TMP/acc-verify.out" || vt_fail "SHA256-RSA-PKCS does not verify"
  acc_p11 acc-sign-pss --login --pin "$ACC_USER" --sign --id "$ACC_ID" -m SHA256-RSA-PKCS-PSS \
    --salt-len 32 -i "$VT_TMP/acc-data" -o "$VT_TMP/acc-data.pss"
  vt_run acc-verify-pss openssl dgst -sha256 -sigopt rsa_padding_mode:pss \
    -sigopt rsa_pss_saltlen:32 -verify "$VT_TMP/acc-pub.pem" -signature "$VT_TMP/acc-data.pss" \
    "$VT_TMP/acc-data"
  grep -q "Verified OK" "$VT_TMP/acc-verify-pss.out" || vt_fail "SHA256-RSA-PKCS-PSS does not verify"

  vt_note "certificate: write, read back, derived attributes"
  # (pkcs11-tool prints CKA_SUBJECT with X509_NAME_print, which splits the one-line form
  # only before upper-case attribute names: the DER check below covers the rest)
  acc_make_cert "$VT_TMP/acc-pub.pem" "/C=KZ/O=vtoken/OU=acceptance/CN=ACCEPTANCE $ACC_TOKEN" \
    0x0ACCE97
  acc_p11 acc-writecert --login --pin "$ACC_USER" --write-object "$VT_TMP/acc-cert.der" \
    --type cert --id "$ACC_ID" --label "acceptance cert"
  acc_p11 acc-readcert --read-object --type cert --id "$ACC_ID" -o "$VT_TMP/acc-cert-back.der"
  cmp -s "$VT_TMP/acc-cert.der" "$VT_TMP/acc-cert-back.der" || vt_fail "the certificate read back differs"
  acc_p11 acc-objects3 -O --type cert
  local subj serial
  subj=$(openssl x509 -in "$VT_TMP/acc-cert.pem" -noout -subject -nameopt sep_comma_plus_space | sed 's/^subject=//')
  serial=$(openssl x509 -in "$VT_TMP/acc-cert.pem" -noout -serial | sed 's/^serial=//')
  grep -qxF "  subject:    DN: $subj" "$VT_TMP/acc-objects3.out" ||
    vt_fail "CKA_SUBJECT as pkcs11-tool prints it is not openssl's '$subj': $(grep subject "$VT_TMP/acc-objects3.out")"
  grep -qxF "  serial:     $serial" "$VT_TMP/acc-objects3.out" ||
    vt_fail "CKA_SERIAL_NUMBER as pkcs11-tool prints it is not openssl's '$serial': $(grep serial "$VT_TMP/acc-objects3.out")"
  acc_check_cert_attrs

  vt_note "--change-pin and back"
  acc_p11 acc-change --login --pin "$ACC_USER" --change-pin --new-pin "$ACC_NEW"
  acc_p11_rv acc-oldpin CKR_PIN_INCORRECT -- --login --pin "$ACC_USER" -O
  acc_p11 acc-newpin --login --pin "$ACC_NEW" -O
  acc_p11 acc-changeback --login --pin "$ACC_NEW" --change-pin --new-pin "$ACC_USER"
  acc_p11 acc-oldagain --login --pin "$ACC_USER" -O
  acc_expect_flags "after the PIN change and a good login"

  vt_note "wrong PINs: $tries tries, the token flags as they fall"
  for ((step = 1; step <= tries; step++)); do
    if [ "$step" -lt "$tries" ]; then
      acc_p11_rv "acc-wrong$step" CKR_PIN_INCORRECT -- --login --pin "$ACC_WRONG" -O
    else
      # the try that blocks the PIN may say either
      acc_p11_rv "acc-wrong$step" CKR_PIN_INCORRECT CKR_PIN_LOCKED -- --login --pin "$ACC_WRONG" -O
    fi
    case $((tries - step)) in
      0) acc_expect_flags "$step wrong PINs" "user PIN locked" ;;
      1) acc_expect_flags "$step wrong PINs" "final user PIN try" ;;
      *) acc_expect_flags "$step wrong PINs" "user PIN count low" ;;
    esac
  done
  acc_p11_rv acc-locked CKR_PIN_LOCKED -- --login --pin "$ACC_USER" -O

  vt_note "the SO unblocks the user PIN (--init-pin)"
  acc_p11 acc-initpin --init-pin --login --login-type so --so-pin "$ACC_SO" --new-pin "$ACC_USER"
  acc_expect_flags "after the SO set the user PIN"
  acc_p11 acc-unblocked --login --pin "$ACC_USER" -O
  grep -q "Certificate Object" "$VT_TMP/acc-unblocked.out" || vt_fail "objects gone after unblocking"
  acc_p11 acc-sign2 --login --pin "$ACC_USER" --sign --id "$ACC_ID" -m SHA256-RSA-PKCS \
    -i "$VT_TMP/acc-data" -o "$VT_TMP/acc-data2.sig"
  vt_run acc-verify2 openssl dgst -sha256 -verify "$VT_TMP/acc-pub.pem" \
    -signature "$VT_TMP/acc-data2.sig" "$VT_TMP/acc-data"
  vt_note "acceptance: $ACC_TOKEN, $mode: ok ($((SECONDS - t0)) s)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  . "$_ACC_DIR/lib.sh"
  vt_setup
  vt_acceptance "$@"
fi
