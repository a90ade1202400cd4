#!/usr/bin/env bash
# A real browser: Debian's Chromium (/usr/bin/chromium), driven by playwright-core
# (browser/client-auth.js), authenticates to a local HTTPS server with the certificate on
# the embedded Kaztoken. The module is in the NSS database Chromium uses
# ($HOME/.pki/nssdb, temporary HOME); the certificate is chosen by Chromium's
# AutoSelectCertificateForUrls policy; the PIN is typed into Chromium's own "Unlock
# Security Device" dialog (Chromium runs on an Xvfb display, xdotool types). A wrong PIN
# first: Chromium must ask again and the token must count one try; then the right PIN,
# and the page shows the certificate's subject.
#
# ASan build: Chromium cannot host the ASan runtime (it hangs at start with libasan
# preloaded, even for --version). So Chromium loads p11-kit's client module and the
# sanitized module runs in `p11-kit server` (with the runtime preloaded): every call
# Chromium makes reaches it through p11-kit's RPC.
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/clients.sh"
vt_need chromium node npm Xvfb xdotool certutil modutil openssl pkcs11-tool
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] || vt_fail "Debian's Chromium not found at $CHROMIUM (package chromium)"
[ "$(id -u)" -eq 0 ] || vt_fail "needs root: Chromium reads policies only from /etc/chromium"
vt_setup

# Chromium reads managed policies only from /etc/chromium/policies/managed. The file is
# this run's alone (its PID in the name) and is removed at exit, as are the directories
# if this run created them. Files of earlier runs that were killed are removed too.
POLICY_DIR=/etc/chromium/policies/managed
POLICY=$POLICY_DIR/vtoken-test-$$.json
CREATED_DIRS=()
P11_SERVER_PID=
browser_cleanup() {
  local d pid
  # p11-kit server forks one p11-kit-remote per connection; under ASan those hang in
  # libp11-kit's exit handlers (freelocale), so stop them by PID with the server.
  if [ -n "$P11_SERVER_PID" ]; then
    for pid in $(pgrep -P "$P11_SERVER_PID" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  rm -f "$POLICY"
  for ((i=${#CREATED_DIRS[@]}-1; i>=0; i--)); do
    d=${CREATED_DIRS[$i]}
    rmdir "$d" 2>/dev/null || true
  done
}
# (errexit stays on in traps: switch it off, or "(exit $rc)" would end the trap early.)
trap 'rc=$?; set +e; browser_cleanup; (exit $rc); vt_cleanup' EXIT
for d in /etc/chromium /etc/chromium/policies "$POLICY_DIR"; do
  if [ ! -d "$d" ]; then mkdir "$d" || vt_fail "cannot create $d"; CREATED_DIRS+=("$d"); fi
done
for f in "$POLICY_DIR"/vtoken-test-*.json; do
  [ -e "$f" ] || continue
  pid=${f##*/vtoken-test-}; pid=${pid%.json}
  kill -0 "$pid" 2>/dev/null || rm -f "$f"
done

vt_token_with_cert

vt_note "playwright-core (npm ci, cached in the build directory)"
SRC=$VT_SOURCE_DIR/tests/integration/browser
NODE_DIR=$VT_BUILD_DIR/tests/integration/browser-node
if [ ! -d "$NODE_DIR/node_modules/playwright-core" ] ||
  ! cmp -s "$SRC/package-lock.json" "$NODE_DIR/package-lock.json"; then
  rm -rf "$NODE_DIR"
  mkdir -p "$NODE_DIR"
  cp "$SRC/package.json" "$SRC/package-lock.json" "$NODE_DIR/"
  (cd "$NODE_DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) \
    >"$VT_TMP/npm.log" 2>&1 || { rm -rf "$NODE_DIR"; vt_fail "npm ci failed (see npm.log)"; }
fi
cp "$SRC/client-auth.js" "$NODE_DIR/"

vt_note "server certificate for 127.0.0.1"
openssl req -new -newkey rsa:2048 -nodes -keyout "$VT_TMP/srv.key" -subj "/CN=127.0.0.1" \
  -out "$VT_TMP/srv.csr" >"$VT_TMP/srv-cert.log" 2>&1 || vt_fail "server key"
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$VT_TMP/srv.ext"
openssl x509 -req -in "$VT_TMP/srv.csr" -CA "$VT_TMP/ca.pem" -CAkey "$VT_TMP/ca.key" \
  -set_serial 7 -days 2 -extfile "$VT_TMP/srv.ext" -out "$VT_TMP/srv.pem" \
  >>"$VT_TMP/srv-cert.log" 2>&1 || vt_fail "server certificate"

vt_note "NSS database in \$HOME/.pki/nssdb with the module and the test CA"
export HOME=$VT_TMP/browser-home
export XDG_CONFIG_HOME=$HOME/.config XDG_CACHE_HOME=$HOME/.cache XDG_DATA_HOME=$HOME/.local/share
DB=sql:$HOME/.pki/nssdb
mkdir -p "$HOME/.pki/nssdb"
vt_run nss-create certutil -N -d "$DB" --empty-password
vt_run ca-trust certutil -A -d "$DB" -n "vtoken test CA" -t "C,," -i "$VT_TMP/ca.pem"
if [ "${VT_SANITIZE:-0}" = 1 ]; then
  CLIENT=$(pkg-config p11-kit-1 --variable=p11_module_path)/p11-kit-client.so
  [ -e "$CLIENT" ] || vt_fail "p11-kit client module not found at $CLIENT (package p11-kit-modules)"
  export P11_KIT_SERVER_ADDRESS=unix:path=$VT_TMP/p11-kit.sock
  vt_host_env
  # (The token URI exports the Kaztoken only: see vendor=kaztoken below.)
  vt_bg p11-kit-server env "${VT_HOST_ENV[@]}" p11-kit server --foreground \
    --name "$VT_TMP/p11-kit.sock" --provider "$VT_MODULE" "pkcs11:token=$VT_TOKEN_LABEL"
  P11_SERVER_PID=$VT_LAST_PID
  vt_wait_for 15 test -S "$VT_TMP/p11-kit.sock" || vt_fail "p11-kit server did not start"
  MODARGS=(-libfile "$CLIENT")
else
  # Only the Kaztoken (module option vendor=kaztoken, NSS's parameters=): NSS asks for the
  # PIN of every token that needs a login when it lists client certificates, and the
  # dialog's title does not say which token it is for.
  MODARGS=(-libfile "$VT_MODULE" -string "vendor=kaztoken")
fi
vt_run modutil-add modutil -dbdir "$DB" -add vtoken "${MODARGS[@]}" -force

PORT=$(( $(vt_port_base browser) + 7 ))
vt_note "AutoSelectCertificateForUrls for https://127.0.0.1:$PORT ($POLICY)"
cat >"$POLICY" <<EOF
{
  "AutoSelectCertificateForUrls": [
    "{\"pattern\":\"https://127.0.0.1:$PORT\",\"filter\":{\"ISSUER\":{\"CN\":\"vtoken test CA\"}}}"
  ]
}
EOF

vt_note "Xvfb"
vt_bg xvfb Xvfb -displayfd 1 -screen 0 1280x1024x24 -nolisten tcp
vt_wait_for 15 grep -Eq '^[0-9]+$' "$VT_TMP/xvfb.log" || vt_fail "Xvfb did not start"
DISPLAY=:$(head -1 "$VT_TMP/xvfb.log")
export DISPLAY

before=$(vt_user_tries)

vt_note "Chromium opens https://127.0.0.1:$PORT/"
vt_bg browser node "$NODE_DIR/client-auth.js" --port "$PORT" --timeout 120 \
  --server-cert "$VT_TMP/srv.pem" --server-key "$VT_TMP/srv.key" --ca "$VT_TMP/ca.pem" \
  --user-data-dir "$VT_TMP/chromium-profile" --chromium "$CHROMIUM"
BROWSER_PID=$VT_LAST_PID

DIALOG='^Unlock Security Device$'
dialog() { xdotool search --name "$DIALOG" 2>/dev/null | head -1; }
# gone <window>: that dialog is closed (Chromium may open the next one at once).
gone() { ! xdotool search --name "$DIALOG" 2>/dev/null | grep -qx "$1"; }
windows() { xdotool search --name . 2>/dev/null | while read -r w; do printf '[%s] ' "$(xdotool getwindowname "$w")"; done; }
# wait_dialog: the PIN dialog's window id, once it is on screen.
wait_dialog() {
  local w
  for _ in $(seq 600); do
    w=$(dialog)
    if [ -n "$w" ]; then echo "$w"; return 0; fi
    kill -0 "$BROWSER_PID" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
# type_pin <window> <pin>: the PIN field has the focus when the dialog opens.
type_pin() {
  xdotool windowfocus --sync "$1" && xdotool type --delay 30 "$2" && xdotool key Return
}

vt_note "Chromium asks for the PIN; a wrong one first"
w=$(wait_dialog) || vt_fail "no 'Unlock Security Device' dialog; windows: $(windows)"
type_pin "$w" 00000000 || vt_fail "xdotool could not type into the dialog"
vt_wait_for 30 gone "$w" || vt_fail "the dialog stayed open after a wrong PIN"

vt_note "Chromium asks again; the token counted one try"
w=$(wait_dialog) || vt_fail "Chromium did not ask again after a wrong PIN; windows: $(windows)"
after=$(vt_user_tries)
[ "$after" -eq $((before - 1)) ] || vt_fail "tries left $before -> $after after one wrong PIN"

vt_note "the right PIN; the page shows the certificate's subject"
type_pin "$w" "$VT_PIN" || vt_fail "xdotool could not type into the dialog"
rc=0; wait "$BROWSER_PID" || rc=$?
[ "$rc" -eq 0 ] || vt_fail "the browser run failed ($rc; see browser.log)"
SUBJECT="C=KZ, CN=TESTOV TEST, serialNumber=IIN123456789011, emailAddress=testov@example.kz"
grep -qxF "PAGE_SUBJECT: $SUBJECT" "$VT_TMP/browser.log" ||
  vt_fail "the page does not show the subject '$SUBJECT' (see browser.log)"
grep -qF "server: GET / client certificate $SUBJECT" "$VT_TMP/browser.log" ||
  vt_fail "the server did not see the token's certificate"
cat "$VT_TMP/browser.log"
[ "$(vt_user_tries)" -eq "$before" ] || vt_fail "the right PIN did not reset the tries"

vt_note "ok"
