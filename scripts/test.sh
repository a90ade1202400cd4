#!/usr/bin/env bash
# Install what is missing, build, and run the whole ctest suite twice: a normal build in
# build/ and an ASan+UBSan build in build/sanitize/. Exits non-zero on any failure.
# Usage: scripts/test.sh [ctest arguments, e.g. -R unit_apdu]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"

cd "$VT_ROOT"
status=0
run_suite() {
  local dir=$1; shift
  vt_log "building $dir"
  vt_build "$dir" "$@"
  vt_log "testing $dir"
  ctest --test-dir "$dir" --output-on-failure --timeout 900 "${CTEST_ARGS[@]}" || status=1
}
CTEST_ARGS=("$@")
run_suite build
# Sanitized run: abort on the first report so a finding fails the test that caused it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
run_suite build/sanitize -DVTOKEN_SANITIZE=ON
if [ $status -ne 0 ]; then
  vt_log "FAILED"
else
  vt_log "all tests passed (normal and sanitized builds)"
fi
exit $status
