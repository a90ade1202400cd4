# Shared by scripts/*.sh: Debian package installation and the incremental build.
# shellcheck shell=bash

VT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Packages the build, the tests and the demo need. Grouped so each line says why.
VT_PACKAGES=(
  # build
  make pkg-config gcc clang libclang-rt-14-dev libssl-dev openssl libtasn1-6-dev libtasn1-bin
  libpcsclite-dev libp11-kit-dev check
  # virtual reader: pcsc-lite daemon, vsmartcard's vpcd driver, tools
  pcscd vsmartcard-vpcd pcsc-tools util-linux procps
  # third-party host stack used by the integration tests
  opensc opensc-pkcs11
  # coverage report
  gcovr
  # real clients of the module (tests/integration/test-{nss,java,openssl,browser}.sh):
  # NSS tools; Java SunPKCS11 (javac too); OpenSSL's libp11 engine; p11-kit and its client
  # module (the sanitized browser run reaches the module through `p11-kit server`)
  libnss3-tools default-jdk-headless libengine-pkcs11-openssl p11-kit p11-kit-modules
  # the browser test: Debian's Chromium on an Xvfb display, the PIN typed with xdotool,
  # playwright-core from npm. Debian's npm only where no npm is there: a nodejs package
  # from elsewhere (NodeSource) ships its own npm and conflicts with Debian's.
  chromium xvfb xdotool nodejs $(command -v npm >/dev/null 2>&1 || echo npm)
  # packaging (test-install.sh): cpack's DEB generator runs dpkg-shlibdeps and `file`;
  # systemd for systemd.pc and systemd-analyze; iproute2 for a private network namespace
  dpkg-dev file systemd iproute2
  # man: the unit's Documentation=man:vtoken(1) is checked by systemd-analyze --man=yes,
  # and the man page itself by `man --warnings` (test-install.sh, test-cli.sh)
  man-db
  # TLS trust for npm and the HTTPS tests (installed with --no-install-recommends, so
  # nothing pulls it in on a minimal system)
  ca-certificates
  # the pkcs11-tool acceptance suite and the OpenSC interop test read CKA_SUBJECT,
  # CKA_ISSUER, CKA_SERIAL_NUMBER and CKA_MODULUS, which pkcs11-tool does not print, with
  # PyKCS11 (tests/integration/acceptance.sh, test-kaztoken-interop.sh)
  python3-pykcs11
  # the vtoken command tests read --json output back with python3's json module
  # (tests/integration/test-cli*.sh)
  python3
  # robustness and performance: valgrind memcheck over the module (test-valgrind.sh);
  # SoftHSM2, the PKCS#11 baseline vtoken-bench measures against (test-bench.sh)
  valgrind softhsm2
)

vt_log() { printf '==> %s\n' "$*"; }
vt_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install whatever is missing; silent when everything is there.
vt_install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    vt_die "missing Debian packages: ${missing[*]}
       run this script as root, or install them with:
       sudo apt-get install ${missing[*]}"
  fi
  vt_log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine may never have fetched package lists.
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/vtoken-apt.log 2>&1; then
    apt-get update -q >>/tmp/vtoken-apt.log 2>&1 || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/vtoken-apt.log 2>&1 ||
      { tail -n 30 /tmp/vtoken-apt.log >&2; vt_die "apt-get install failed (log: /tmp/vtoken-apt.log)"; }
  fi
}

# vt_build <build-dir> [cmake -D options...]: configure once, then build incrementally.
vt_build() {
  local dir=$1; shift
  if [ ! -f "$dir/CMakeCache.txt" ]; then
    cmake -S "$VT_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null ||
      vt_die "cmake configure failed for $dir"
  fi
  cmake --build "$dir" -j "$(nproc)" -- --no-print-directory >"$dir/build.log" 2>&1 ||
    { tail -n 60 "$dir/build.log" >&2; vt_die "build failed in $dir (log: $dir/build.log)"; }
}
