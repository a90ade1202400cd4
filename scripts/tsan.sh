#!/usr/bin/env bash
# ThreadSanitizer run of the suites that exercise threads (issue 9): the module's
# (p11_threads: mock tokens, OS and application mutexes; p11_threads_embedded: eight
# threads on embedded cards) and the card engine's (key: two connections sign at once;
# pool: channels, the pool transport, transactions). Builds only those two test programs
# with -DVTOKEN_TSAN=ON. Exits non-zero on a failure or on any report.
# Usage: scripts/tsan.sh [BUILD_DIR]   (default: build/tsan)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"

dir=${1:-$VT_ROOT/build/tsan}
if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S "$VT_ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVTOKEN_TSAN=ON >/dev/null ||
    vt_die "cmake configure failed for $dir"
fi
vt_log "building $dir (ThreadSanitizer): test_p11 test_sim"
cmake --build "$dir" -j "$(nproc)" --target test_p11 test_sim -- --no-print-directory \
  >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log" >&2; vt_die "build failed in $dir"; }

# halt_on_error: the first report fails the test that caused it (Check forks per test).
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
export CK_DEFAULT_TIMEOUT=${CK_DEFAULT_TIMEOUT:-600}
status=0
run() {
  local prog=$1 suite=$2
  vt_log "tsan: $(basename "$prog") $suite"
  CK_RUN_SUITE=$suite "$prog" || status=1
}
run "$dir/tests/unit/test_p11" p11_threads
run "$dir/tests/unit/test_p11" p11_threads_embedded
run "$dir/tests/unit/test_sim" key
run "$dir/tests/unit/test_sim" pool
if [ $status -ne 0 ]; then
  vt_log "ThreadSanitizer: FAILED"
else
  vt_log "ThreadSanitizer: clean"
fi
exit $status
