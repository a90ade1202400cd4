# Shared by tests/integration/test-*.sh. Sourced, not run.
# - vt_setup: a temporary directory and VTOKEN_HOME, removed at exit;
# - vt_pcscd_start: a private pcscd in its own mount namespace (its own /run/pcscd),
#   with its own reader.conf.d listing vpcd readers on chosen ports; clients reach it
#   through PCSCLITE_CSOCK_NAME;
# - vt_bg / cleanup: every service a test starts is stopped by PID at exit;
# - vt_run: run a client with its output kept, failing loudly.
# shellcheck shell=bash
set -euo pipefail

: "${VT_BUILD_DIR:?run through ctest (VT_BUILD_DIR unset)}"
: "${VT_SOURCE_DIR:?run through ctest (VT_SOURCE_DIR unset)}"
VTOKEN=${VTOKEN:-$VT_BUILD_DIR/tools/vtoken}
VT_MODULE=${VT_MODULE:-$VT_BUILD_DIR/pkcs11/libvtoken-pkcs11.so}
VT_PIDS=()

vt_fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
vt_note() { printf -- '-- %s\n' "$*"; }

# A required tool that is missing fails the test: it never skips.
vt_need() {
  local t
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || vt_fail "required tool not found: $t"; done
}

vt_cleanup() {
  local rc=$? pid
  # Bash may report reaping a stopped service on its own ("wait_for: No record of
  # process"); that is noise, hence stderr of the whole stop sequence is dropped.
  {
    for pid in "${VT_WATCHDOGS[@]}"; do [ -f "$pid" ] && kill -KILL "$(cat "$pid")"; done
    for ((i=${#VT_PIDS[@]}-1; i>=0; i--)); do
      pid=${VT_PIDS[$i]}
      if kill -0 "$pid"; then
        kill -TERM "$pid" || true
        for ((n = 0; n < 50; n++)); do kill -0 "$pid" || break; sleep 0.1; done
        kill -KILL "$pid" || true
        wait "$pid" || true
      fi
    done
  } 2>/dev/null
  if [ $rc -ne 0 ] && [ -n "${VT_TMP:-}" ]; then
    for f in "$VT_TMP"/*.log; do
      [ -f "$f" ] || continue
      printf '\n---- %s (last 40 lines) ----\n' "$f" >&2; tail -n 40 "$f" >&2
    done
  fi
  [ -n "${VT_TMP:-}" ] && [ -z "${VT_KEEP_TMP:-}" ] && rm -rf "$VT_TMP"
  exit $rc
}

vt_setup() {
  VT_TMP=$(mktemp -d /tmp/vtoken-test.XXXXXX)
  export VTOKEN_HOME=$VT_TMP/home
  mkdir -p "$VTOKEN_HOME"
  trap vt_cleanup EXIT
  trap 'exit 130' INT TERM
}

# vt_bg <logname> cmd...: start a background service, remember its PID.
vt_bg() {
  local log=$VT_TMP/$1.log; shift
  "$@" >"$log" 2>&1 &
  VT_PIDS+=($!)
  VT_LAST_PID=$!
  vt_watchdog "$VT_LAST_PID"
}

# A test killed outright (SIGKILL from a ctest timeout) runs no trap, and a service it
# started would live on (a `vtoken sim` reconnecting forever to a later test's pcscd).
# A watchdog per service stops it once the test shell is gone; cleanup stops the
# watchdogs first, so they never signal a recycled PID.
VT_WATCHDOGS=()
vt_watchdog() {
  local test_pid=$$ svc=$1 pidfile=$VT_TMP/.watchdog.$1
  # Double fork: the watchdog is nobody's job, so bash neither reports nor reaps it.
  ( ( echo "$BASHPID" >"$pidfile"
      while kill -0 "$test_pid" 2>/dev/null; do sleep 1; done
      kill -TERM "$svc" 2>/dev/null; sleep 2; kill -KILL "$svc" 2>/dev/null
    ) </dev/null >/dev/null 2>&1 & )
  VT_WATCHDOGS+=("$pidfile")
}

# vt_pcscd_start <port> | <name> <port> [<name> <port> ...]: a private pcscd with one vpcd
# reader entry per port. Each entry has two slots, "<name> 00 00" on <port> and
# "<name> 00 01" on <port>+1, so ports of different entries must be at least 2 apart.
# With a single argument the reader is called "Virtual PCD". Exports PCSCLITE_CSOCK_NAME.
#
# Debian's vpcd driver keeps its slots in globals indexed by slot number, so two entries
# that load the same driver file overwrite each other. pcscd (dlopen) shares one copy per
# file, hence each entry gets its own copy of the installed driver, made here at run time.
vt_pcscd_start() {
  vt_need pcscd unshare mount pkg-config
  local conf=$VT_TMP/reader.conf.d run=$VT_TMP/pcscd-run drivers=$VT_TMP/drivers
  local name port i=0 driver
  driver=$(pkg-config libpcsclite --variable=usbdropdir)/serial/libifdvpcd.so
  [ -e "$driver" ] || vt_fail "vpcd driver not found at $driver (package vsmartcard-vpcd)"
  mkdir -p "$conf" "$run" "$drivers"
  if [ $# -eq 1 ]; then set -- "Virtual PCD" "$1"; fi
  while [ $# -ge 2 ]; do
    name=$1 port=$2; shift 2
    cp "$(readlink -f "$driver")" "$drivers/libifdvpcd-$i.so"
    printf 'FRIENDLYNAME "%s"\nDEVICENAME /dev/null:%s\nLIBPATH %s\nCHANNELID %s\n' \
      "$name" "$port" "$drivers/libifdvpcd-$i.so" "$port" >"$conf/vpcd-$i"
    i=$((i+1))
  done
  # pcscd hard-codes /run/pcscd: give it a private one. The mount point must exist.
  mkdir -p /run/pcscd
  # VT_PCSCD_FLAGS: the logging flags (scripts/bench.sh runs pcscd without them).
  vt_bg pcscd unshare -m --propagation private sh -c \
    "mount --bind '$run' /run/pcscd && exec pcscd --foreground ${VT_PCSCD_FLAGS---debug --apdu} --config '$conf'"
  VT_PCSCD_PID=$VT_LAST_PID
  export PCSCLITE_CSOCK_NAME=$run/pcscd.comm
  for _ in $(seq 100); do
    [ -S "$PCSCLITE_CSOCK_NAME" ] && return 0
    kill -0 "$VT_PCSCD_PID" 2>/dev/null || vt_fail "pcscd exited at start (see pcscd.log)"
    sleep 0.1
  done
  vt_fail "pcscd did not create $PCSCLITE_CSOCK_NAME"
}

# vt_pcscd_stop: stop the private pcscd (e.g. to test reconnection), by PID.
vt_pcscd_stop() {
  kill -TERM "$VT_PCSCD_PID" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$VT_PCSCD_PID" 2>/dev/null || break; sleep 0.1; done
  wait "$VT_PCSCD_PID" 2>/dev/null || true
}

# vt_run <what> cmd...: run a client, keep its output in $VT_TMP/<what>.out, fail loudly.
vt_run() {
  local what=$1; shift
  if ! "$@" >"$VT_TMP/$what.out" 2>&1; then
    tail -n 60 "$VT_TMP/$what.out" >&2
    vt_fail "$what failed: $*"
  fi
}

# vt_wait_for <seconds> <command...>: poll until the command succeeds.
vt_wait_for() {
  local secs=$1; shift
  for _ in $(seq $((secs * 10))); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# vt_host cmd...: run a host program that loads our module (pkcs11-tool, pkcs15-tool,
# python3 with PyKCS11, certutil, java...). In the sanitised build (VT_SANITIZE=1) the
# module needs the ASan runtime first in the process, which a host program that is not
# itself sanitised gets through LD_PRELOAD; leak checking is off for the host (its own
# leaks are not ours, and it unloads the module before exit). Errors in the module still
# abort. $VT_HOST_ASAN_EXTRA adds ASan options (the JVM handles SIGSEGV itself, say).
# (tests/integration/clients.sh has the same three helpers; these are the shared ones.)
vt_host() {
  if [ "${VT_SANITIZE:-0}" = 1 ]; then
    LD_PRELOAD="$(vt_asan_runtime)${LD_PRELOAD:+ $LD_PRELOAD}" \
      ASAN_OPTIONS="$(vt_host_asan_options)" "$@"
  else
    "$@"
  fi
}

# vt_python args...: /usr/bin/python3 under vt_host. In the sanitised build libstdc++ is
# preloaded too (after the ASan runtime): a C++ extension that throws, as PyKCS11's SWIG
# iterators do at their end, otherwise meets ASan's __cxa_throw interceptor before any
# libstdc++ is loaded, and ASan aborts.
vt_python() {
  if [ "${VT_SANITIZE:-0}" = 1 ]; then
    LD_PRELOAD="$(readlink -f "$(gcc -print-file-name=libstdc++.so)")${LD_PRELOAD:+ $LD_PRELOAD}" \
      vt_host /usr/bin/python3 "$@"
  else
    /usr/bin/python3 "$@"
  fi
}

vt_asan_runtime() {
  local rt
  rt=$(gcc -print-file-name=libasan.so)
  [ -e "$rt" ] || vt_fail "ASan runtime not found (gcc -print-file-name=libasan.so: $rt)"
  readlink -f "$rt"
}

vt_host_asan_options() {
  printf '%s' "${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0${VT_HOST_ASAN_EXTRA:+:$VT_HOST_ASAN_EXTRA}"
}

# Ports: each test picks a base from its name so tests never share a vpcd port. They lie
# below Linux's ephemeral range (32768-60999): a port in it can be the local end of any
# program's outgoing connection, the sims' own included, and pcscd's vpcd driver then
# cannot listen on it.
vt_port_base() {
  local h
  h=$(printf '%s' "$1" | cksum | cut -d' ' -f1)
  echo $((24000 + (h % 200) * 10))
}
