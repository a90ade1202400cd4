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
