#!/usr/bin/env bash
# The demo (scripts/demo.sh builds, then runs this): NCA's personal-cabinet flows on each
# virtual token (Kaztoken, eToken, JaCarta, with NCA's default PINs) and on a .p12 file,
# against vtoken's local test CA, through the PKCS#11 module; then a third-party client
# (OpenSC's pkcs11-tool) lists what the tokens hold. Exits non-zero if any step fails.
# Usage: scripts/demo-run.sh BUILD_DIR
# State goes to a fresh temporary VTOKEN_HOME that is kept for inspection.
set -uo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" 2>/dev/null && pwd) || { echo "no build directory: $1" >&2; exit 2; }
VTOKEN=$BUILD/tools/vtoken
MODULE=$BUILD/pkcs11/libvtoken-pkcs11.so
for f in "$VTOKEN" "$MODULE"; do
  [ -e "$f" ] || { echo "not built: $f (build first: scripts/demo.sh)" >&2; exit 2; }
done
command -v pkcs11-tool >/dev/null || { echo "pkcs11-tool not found (Debian: opensc)" >&2; exit 2; }

export VTOKEN_HOME; VTOKEN_HOME=$(mktemp -d /tmp/vtoken-demo.XXXXXX)
export VTOKEN_MODULE=$MODULE
export VTOKEN_P12_PATH=$VTOKEN_HOME/p12
mkdir -p "$VTOKEN_P12_PATH"
P12=$VTOKEN_P12_PATH/personal.p12
P12_PASSWORD=Qwerty12
PERSON=(--iin 123456789011 --name "ТЕСТОВ ТЕСТ" --patronymic "ТЕСТОВИЧ")

# A sanitised build's module needs the ASan runtime loaded first in a host program that
# is not itself sanitised (pkcs11-tool); its own leaks are not the module's.
HOST=()
if grep -q '^VTOKEN_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  HOST=(env "LD_PRELOAD=$(readlink -f "$(gcc -print-file-name=libasan.so)")"
        "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
fi

if [ -t 1 ]; then B=$'\e[1m'; G=$'\e[32m'; R=$'\e[31m'; N=$'\e[0m'; else B= G= R= N=; fi
FAILED=()

heading() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
# step "what NCA calls it" "what it does" cmd...: run a step, indent its output.
step() {
  local nca=$1 what=$2; shift 2
  printf '\n%s-- %s%s: %s\n' "$B" "$nca" "$N" "$what"
  printf '   $ %s\n' "$(printf '%q ' "$@" | sed "s|$VTOKEN|vtoken|; s|$MODULE|libvtoken-pkcs11.so|")"
  if "$@" 2>&1 | sed 's/^/   /'; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    return 0
  fi
  printf '   %sFAILED%s\n' "$R" "$N"
  FAILED+=("$nca: $*")
  return 1
}
# expect_fail: the same, for a step whose point is a refusal.
expect_fail() {
  local nca=$1 what=$2; shift 2
  printf '\n%s-- %s%s: %s\n' "$B" "$nca" "$N" "$what"
  printf '   $ %s\n' "$(printf '%q ' "$@" | sed "s|$VTOKEN|vtoken|")"
  if "$@" 2>&1 | sed 's/^/   /'; [ "${PIPESTATUS[0]}" -ne 0 ]; then
    printf '   (refused, as expected)\n'
    return 0
  fi
  printf '   %sFAILED: this should have been refused%s\n' "$R" "$N"
  FAILED+=("$nca (should fail): $*")
  return 1
}

# The NCA flows on one token: reissue -> keys -> login -> passwd (there and back) ->
# revoke SIGN -> keys.
flows() {
  local tok=$1 pin=$2 newpin=$3
  step "Reissue keys (Перевыпуск ЭЦП)" \
    "new AUTH + SIGN RSA-2048 keys made on the token, requests signed by it, certificates from the test CA written back" \
    "$VTOKEN" nca reissue "$tok" --pin "$pin" "${PERSON[@]}"
  step "My keys (Мои ключи)" "the key sets on the token with the CA's status" \
    "$VTOKEN" nca keys "$tok" --pin "$pin"
  step "Log in with EDS (Вход по ЭЦП)" "the site's challenge signed by the AUTH key and checked" \
    "$VTOKEN" nca login "$tok" --pin "$pin"
  step "Change password (Смена пароля)" "C_SetPIN to a new one" \
    "$VTOKEN" nca passwd "$tok" --old "$pin" --new "$newpin"
  step "Change password (Смена пароля)" "and back to the default, so the rest of the demo uses it" \
    "$VTOKEN" nca passwd "$tok" --old "$newpin" --new "$pin"
  step "Revoke (Отзыв регистрационного свидетельства)" \
    "the SIGN certificate, by a request the AUTH key signs" \
    "$VTOKEN" nca revoke "$tok" --pin "$pin" --template SIGN --reason keyCompromise
  step "My keys (Мои ключи)" "the SIGN certificate now shows as revoked" \
    "$VTOKEN" nca keys "$tok" --pin "$pin"
}

printf '%svtoken demo: NCA flows on virtual tokens%s\n' "$B" "$N"
printf 'state (kept for inspection): VTOKEN_HOME=%s\n' "$VTOKEN_HOME"
printf 'module: %s\n' "$MODULE"
printf 'the person: ТЕСТОВ ТЕСТ ТЕСТОВИЧ, IIN 123456789011 (NCA'\''s test person)\n'

step "Test CA" "created on first use in the home: a stand-in for NCA's ҰКО 3.0 (RSA TEST)" \
  "$VTOKEN" nca ca

heading "Kaztoken (NCA's default PIN 12345678)"
flows kaztoken 12345678 87654312
expect_fail "Log in with EDS (Вход по ЭЦП)" "a wrong PIN costs a try, and says how many are left" \
  "$VTOKEN" nca login kaztoken --pin 00000000
step "Log in with EDS (Вход по ЭЦП)" "the right PIN gives the tries back" \
  "$VTOKEN" nca login kaztoken --pin 12345678

heading "eToken PRO (Java) 72K (NCA's default PIN 1234567890)"
flows etoken 1234567890 0987612345

heading "JaCarta (NCA's default PIN 1234567890)"
flows jacarta 1234567890 0987612345

heading "PKCS#12 file, NCA's \"Personal computer\" storage (password $P12_PASSWORD)"
HAVE_P12=0
if "$VTOKEN" p12 --help >/dev/null 2>&1 &&
   "$VTOKEN" p12 new "$P12" --password "$P12_PASSWORD" >/dev/null 2>&1 &&
   "${HOST[@]}" pkcs11-tool --module "$MODULE" -L 2>/dev/null | grep -q 'token label *: personal$'; then
  HAVE_P12=1
fi
if [ $HAVE_P12 = 1 ]; then
  printf '\n   %s: a new, empty .p12 (vtoken p12 new), NCA'\''s algorithms; the module shows it as a slot\n' "$P12"
  flows "$P12" "$P12_PASSWORD" Qwerty34
  expect_fail "Change password (Смена пароля)" "NCA's rule: 6-32 characters, upper + lower case + digit" \
    "$VTOKEN" nca passwd "$P12" --old "$P12_PASSWORD" --new qwerty12
else
  printf '\n   %sskipped: this build has no PKCS#12 slots (vtoken p12 / the module'\''s PKCS#12 driver)%s\n' "$R" "$N"
fi

heading "A third-party client: OpenSC's pkcs11-tool on the same module"
step "Slots and tokens" "pkcs11-tool -L" "${HOST[@]}" pkcs11-tool --module "$MODULE" -L
for t in "KAZTOKEN 12345678" "eToken 1234567890" "JaCarta 1234567890"; do
  set -- $t
  step "Objects on $1" "pkcs11-tool -O (logged in)" \
    "${HOST[@]}" pkcs11-tool --module "$MODULE" --token-label "$1" --login --pin "$2" -O
done
if [ $HAVE_P12 = 1 ]; then
  step "Objects in personal.p12" "pkcs11-tool -O (logged in: a .p12 shows nothing before)" \
    "${HOST[@]}" pkcs11-tool --module "$MODULE" --token-label personal --login --pin "$P12_PASSWORD" -O
fi

printf '\n'
if [ ${#FAILED[@]} -ne 0 ]; then
  printf '%s%d step(s) failed:%s\n' "$R" "${#FAILED[@]}" "$N"
  printf '  %s\n' "${FAILED[@]}"
  printf 'state: %s\n' "$VTOKEN_HOME"
  exit 1
fi
printf '%sAll steps passed.%s The state is kept in %s\n' "$G" "$N" "$VTOKEN_HOME"
printf '  test CA: %s/ca (ca.crt, index, crl.pem)   tokens: %s/tokens   .p12: %s\n' \
  "$VTOKEN_HOME" "$VTOKEN_HOME" "$VTOKEN_P12_PATH"
printf '  try: VTOKEN_HOME=%s %s nca keys kaztoken --pin 12345678\n' "$VTOKEN_HOME" "$VTOKEN"
printf 'Remove it when done: rm -rf %s\n' "$VTOKEN_HOME"
