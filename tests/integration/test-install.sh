#!/usr/bin/env bash
# The Debian packages, installed into the real system and removed again. A package build
# tree configured for /usr (as a distribution would) makes the .debs with `cpack -G DEB`;
# dpkg installs them; then: the files are where they belong, `p11-kit list-modules`
# shows vtoken and its Kaztoken, pkcs11-tool loads the installed module, pkg-config
# finds it, the vendor names load the module as that vendor, the named readers work with
# a pcscd reading only the installed entries and the installed `vtoken sim`; dpkg -r
# removes every file, the generated ones (driver copies, reader entries) included.
#
# This changes the system, so it refuses to run over vtoken packages it did not install,
# and removes what it installed on any exit (a run killed outright leaves a marker that
# the next run uses to clean up).
. "$VT_SOURCE_DIR/tests/integration/lib.sh"
. "$VT_SOURCE_DIR/tests/integration/clients.sh"
vt_need cmake cpack dpkg dpkg-deb dpkg-query dpkg-shlibdeps p11-kit pkcs11-tool pkg-config \
  opensc-tool pcscd unshare nsenter ip systemd-analyze
[ "$(id -u)" -eq 0 ] || vt_fail "needs root: installs packages with dpkg"
vt_setup

PKGS=(vtoken-sim-service vtoken-readers vtoken-vendor-names vtoken) # removal order
MARK=/var/lib/vtoken-test-install.pid # PID of the test run whose packages are installed
# present <package>: dpkg has it in any state but "not installed" (half-installed, config
# files left, ...). The second letter of db:Status-Abbrev is the current state.
present() {
  local s
  s=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) || return 1
  [ -n "$s" ] && [ "${s:1:1}" != n ]
}
present_any() { local p; for p in "${PKGS[@]}"; do present "$p" && return 0; done; return 1; }
purge_ours() {
  local p=() q
  for q in "${PKGS[@]}"; do present "$q" && p+=("$q"); done
  [ ${#p[@]} -eq 0 ] || dpkg --purge "${p[@]}" >>"$VT_TMP/dpkg-cleanup.log" 2>&1 || true
  rm -f "$MARK"
}
INSTALLED=0
# (errexit stays on in traps: switch it off, or "(exit $rc)" would end the trap early.)
trap 'rc=$?; set +e; [ "$INSTALLED" = 1 ] && purge_ours; (exit $rc); vt_cleanup' EXIT

if present_any; then
  if [ -f "$MARK" ] && ! kill -0 "$(cat "$MARK")" 2>/dev/null; then
    vt_note "removing the packages of an earlier run that was killed"
    purge_ours
    present_any && vt_fail "could not remove the packages of an earlier run"
  else
    vt_fail "vtoken packages are installed on this system and not by this test; remove them first"
  fi
fi

vt_note "package build tree (prefix /usr), cpack -G DEB"
# A package is a release build, in the sanitized suite too: an ASan module would need the
# ASan runtime preloaded into every program that loads it, and p11-kit 0.24 deadlocks
# under a preloaded ASan runtime (glibc's locale lock, in p11-kit-trust.so's constructor
# and libp11-kit's destructor). The module's ASan coverage comes from the client tests.
PKG_BUILD=$VT_BUILD_DIR/deb-package
# Only the installed targets are built: `install` must not pull in the whole tree.
vt_run configure cmake -S "$VT_SOURCE_DIR" -B "$PKG_BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON -DVTOKEN_SANITIZE=OFF
vt_run build cmake --build "$PKG_BUILD" -j "$(nproc)" --target vtoken-pkcs11 vtoken
rm -f "$PKG_BUILD"/*.deb
vt_run cpack sh -c "cd '$PKG_BUILD' && cpack -G DEB"
VERSION=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$PKG_BUILD/CMakeCache.txt")
ARCH=$(dpkg --print-architecture)
deb() { echo "$PKG_BUILD/${1}_$VERSION-1_$ARCH.deb"; }
for p in "${PKGS[@]}"; do [ -f "$(deb "$p")" ] || vt_fail "cpack made no $(deb "$p")"; done

vt_note "control fields"
depends=$(dpkg-deb -f "$(deb vtoken)" Depends)
for lib in libc6 libssl3 libpcsclite1 libtasn1-6; do
  grep -Eq "(^|, )$lib( |,|$)" <<<"$depends" || vt_fail "vtoken Depends lacks $lib: $depends"
done
grep -q "vtoken (= $VERSION-1)" <<<"$(dpkg-deb -f "$(deb vtoken-readers)" Depends)" ||
  vt_fail "vtoken-readers does not depend on this vtoken"
for d in pcscd vsmartcard-vpcd; do
  grep -q "$d" <<<"$(dpkg-deb -f "$(deb vtoken-readers)" Depends)" || vt_fail "vtoken-readers lacks $d"
done

vt_note "dpkg -i vtoken"
MULTIARCH=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
MODULE=/usr/lib/$MULTIARCH/pkcs11/libvtoken-pkcs11.so
echo $$ >"$MARK"
INSTALLED=1
vt_run dpkg-i dpkg -i "$(deb vtoken)"
dpkg-query -W -f='${db:Status-Abbrev}' vtoken | grep -q '^ii' || vt_fail "vtoken not installed cleanly"
for f in "$MODULE" /usr/share/p11-kit/modules/vtoken-pkcs11.module \
  "/usr/lib/$MULTIARCH/pkgconfig/vtoken-pkcs11.pc" /usr/bin/vtoken; do
  [ -e "$f" ] || vt_fail "not installed: $f"
done
if [ -f "$VT_SOURCE_DIR/tools/vtoken.1" ]; then
  [ -f /usr/share/man/man1/vtoken.1 ] || vt_fail "man page vtoken.1 not installed"
fi
vt_run version /usr/bin/vtoken --version
grep -qx "vtoken $VERSION" "$VT_TMP/version.out" || vt_fail "vtoken --version: $(cat "$VT_TMP/version.out")"
[ "$(pkg-config --variable=module vtoken-pkcs11)" = "$MODULE" ] ||
  vt_fail "pkg-config: module '$(pkg-config --variable=module vtoken-pkcs11)'"

vt_note "p11-kit list-modules shows vtoken and the Kaztoken"
vt_run list-modules timeout 60 p11-kit list-modules
sed -n '/^vtoken-pkcs11: /,/^[^ ]/p' "$VT_TMP/list-modules.out" >"$VT_TMP/vtoken-module.out"
grep -qx "vtoken-pkcs11: $MODULE" "$VT_TMP/vtoken-module.out" || vt_fail "p11-kit does not list vtoken"
grep -q "token: $VT_TOKEN_LABEL$" "$VT_TMP/vtoken-module.out" || vt_fail "p11-kit lists no Kaztoken"

vt_note "pkcs11-tool --module $MODULE"
vt_run p11-L timeout 60 pkcs11-tool --module "$MODULE" -L
grep -q "token label *: $VT_TOKEN_LABEL$" "$VT_TMP/p11-L.out" || vt_fail "pkcs11-tool -L: no Kaztoken"

vt_note "dpkg -i vtoken-vendor-names: the module under the vendors' names"
vt_run dpkg-i-vendor dpkg -i "$(deb vtoken-vendor-names)"
check_vendor() {
  local name=$1 manufacturer=$2 slot=$3 lib=/usr/lib/$MULTIARCH/pkcs11/$1
  [ -L "$lib" ] && [ "$(readlink -f "$lib")" = "$(readlink -f "$MODULE")" ] ||
    vt_fail "$lib is not a link to the module"
  vt_run "info-$name" timeout 60 pkcs11-tool --module "$lib" -I
  grep -q "^Manufacturer *$manufacturer$" "$VT_TMP/info-$name.out" ||
    vt_fail "$name: $(grep Manufacturer "$VT_TMP/info-$name.out")"
  vt_run "slots-$name" timeout 60 pkcs11-tool --module "$lib" -L
  grep -q "^Slot 0 (0x0): $slot$" "$VT_TMP/slots-$name.out" || vt_fail "$name: not its slot"
  grep -q "KAZTOKEN" "$VT_TMP/slots-$name.out" && vt_fail "$name shows the Kaztoken"
  return 0
}
check_vendor libeToken.so "SafeNet, Inc." "SafeNet Token JC"
check_vendor libeTPkcs11.so "SafeNet, Inc." "SafeNet Token JC"
check_vendor libjcPKCS11-2.so "Aladdin R.D." "ARDS JaCarta"

vt_note "dpkg -i vtoken-readers: driver copies and reader entries"
vt_run dpkg-i-readers dpkg -i "$(deb vtoken-readers)"
COPIES=/usr/lib/$MULTIARCH/vtoken/pcsc
VPCD=$(readlink -f "$(pkg-config libpcsclite --variable=usbdropdir)/serial/libifdvpcd.so")
for r in kaztoken etoken jacarta; do
  f=$COPIES/libifdvpcd-$r.so
  [ -f "$f" ] && [ ! -L "$f" ] || vt_fail "no driver copy $f"
  cmp -s "$f" "$VPCD" || vt_fail "$f differs from the vpcd driver"
done
[ "$(stat -c %i "$COPIES/libifdvpcd-kaztoken.so")" != "$(stat -c %i "$COPIES/libifdvpcd-etoken.so")" ] ||
  vt_fail "the driver copies share one inode"
SNIPPET=$(pkg-config libpcsclite --variable=serialconfdir)/vtoken
[ -f "$SNIPPET" ] || vt_fail "no reader entries at $SNIPPET"

vt_note "pcscd with only the installed entries, and the installed vtoken sim"
# Own mount namespace (pcscd hard-codes /run/pcscd) and own network namespace: the entries
# use vpcd's default ports, which a system pcscd may hold. vtoken sim joins that network.
RUN=$VT_TMP/pcscd-run
mkdir -p "$RUN" /run/pcscd
vt_bg pcscd unshare -m -n --propagation private sh -c \
  "ip link set lo up && mount --bind '$RUN' /run/pcscd && exec pcscd --foreground --debug --config '$SNIPPET'"
PCSCD=$VT_LAST_PID
export PCSCLITE_CSOCK_NAME=$RUN/pcscd.comm
vt_wait_for 10 test -S "$PCSCLITE_CSOCK_NAME" || vt_fail "pcscd did not start"
vt_bg sim nsenter --net="/proc/$PCSCD/ns/net" /usr/bin/vtoken sim --token kaztoken
SIM=$VT_LAST_PID
readers() { opensc-tool -l 2>/dev/null; }
vt_wait_for 10 sh -c "opensc-tool -l 2>/dev/null | grep -q 'ARDS JaCarta 00 00'" ||
  vt_fail "pcscd has not all readers: $(readers)"
for name in "DigiFlow LLP. KAZTOKEN 00 00" "DigiFlow LLP. KAZTOKEN 00 01" "SafeNet Token JC 00 00" \
  "SafeNet Token JC 00 01" "ARDS JaCarta 00 00" "ARDS JaCarta 00 01"; do
  readers | grep -q "$name" || vt_fail "no reader '$name': $(readers)"
done
ATR="3b:88:01:4b:41:5a:54:4f:4b:45:4e:82"
kaz_atr() { opensc-tool -r "DigiFlow LLP. KAZTOKEN 00 00" --atr 2>/dev/null | tr 'A-F' 'a-f'; }
vt_wait_for 15 sh -c "[ \"\$(opensc-tool -r 'DigiFlow LLP. KAZTOKEN 00 00' --atr 2>/dev/null | tr A-F a-f)\" = $ATR ]" ||
  vt_fail "no Kaztoken in its named reader (ATR '$(kaz_atr)')"
unset PCSCLITE_CSOCK_NAME
# Stopped before the packages go (the sim runs the installed binary).
for pid in "$SIM" "$PCSCD"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done

vt_note "dpkg -i vtoken-sim-service"
vt_run dpkg-i-service dpkg -i "$(deb vtoken-sim-service)"
UNIT=$(pkg-config systemd --variable=systemduserunitdir 2>/dev/null || echo /usr/lib/systemd/user)/vtoken-sim.service
[ -f "$UNIT" ] || vt_fail "no unit $UNIT"
grep -qx "ExecStart=/usr/bin/vtoken sim" "$UNIT" || vt_fail "unit: $(grep ExecStart "$UNIT")"
# The Documentation= man page is checked once it exists (tools/vtoken.1).
MAN=no; [ -f "$VT_SOURCE_DIR/tools/vtoken.1" ] && MAN=yes
mkdir -m 700 "$VT_TMP/xdg-runtime"
vt_run unit-verify env XDG_RUNTIME_DIR="$VT_TMP/xdg-runtime" systemd-analyze verify --user \
  --man=$MAN "$UNIT"

vt_note "dpkg -r: every file goes, the generated ones too"
FILES=()
for p in "${PKGS[@]}"; do
  while read -r f; do [ -d "$f" ] || FILES+=("$f"); done < <(dpkg -L "$p")
done
FILES+=("$SNIPPET" "$COPIES/libifdvpcd-kaztoken.so" "$COPIES/libifdvpcd-etoken.so"
  "$COPIES/libifdvpcd-jacarta.so")
vt_run dpkg-r dpkg -r "${PKGS[@]}"
INSTALLED=0
for f in "${FILES[@]}"; do [ ! -e "$f" ] && [ ! -L "$f" ] || vt_fail "left behind: $f"; done
[ ! -e "/usr/lib/$MULTIARCH/vtoken" ] || vt_fail "left behind: /usr/lib/$MULTIARCH/vtoken"
vt_run list-modules-after timeout 60 p11-kit list-modules
grep -q "^vtoken-pkcs11:" "$VT_TMP/list-modules-after.out" && vt_fail "p11-kit still lists vtoken"
# dpkg -r keeps a package with conffiles as "config-files"; ours have none: gone.
for p in "${PKGS[@]}"; do present "$p" && vt_fail "$p is still known to dpkg ($(dpkg-query -W -f='${db:Status-Abbrev}' "$p"))"; done
rm -f "$MARK"

vt_note "ok"
