#!/usr/bin/env bash
# Line coverage of one library (default apdu), reported by gcovr: its unit tests, plus for
# apdu the PC/SC transport test (integ_pcsc-transport, a private pcscd), since pcsc.c is
# only reachable there. Builds only the targets those tests need.
# Usage: scripts/coverage.sh [lib] [minimum-percent]
#   VT_COVERAGE_DIR=<dir>  build directory (default build/coverage)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"
lib=${1:-apdu}
min=${2:-90}
dir=${VT_COVERAGE_DIR:-$VT_ROOT/build/coverage}

targets=("test_${lib}")
tests="^unit_${lib}\$"
if [ "$lib" = apdu ]; then
  targets+=(pcsc_probe)
  tests="^unit_apdu\$|^integ_pcsc-transport\$"
fi

if [ ! -f "$dir/CMakeCache.txt" ]; then
  cmake -S "$VT_ROOT" -B "$dir" -DVTOKEN_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null ||
    vt_die "cmake configure failed for $dir"
fi
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}" -- --no-print-directory \
  >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log" >&2; vt_die "build failed in $dir"; }

find "$dir" -name '*.gcda' -delete
ctest --test-dir "$dir" -R "$tests" --output-on-failure
n=$(ctest --test-dir "$dir" -N -R "$tests" | sed -n 's/^Total Tests: //p')
[ "${n:-0}" -ge 1 ] || vt_die "no test matches $tests"

cd "$VT_ROOT"
gcovr --root "$VT_ROOT" --filter "$VT_ROOT/${lib}/" --object-directory "$dir" \
  --txt "$dir/coverage-${lib}.txt" --fail-under-line "$min" --print-summary
cat "$dir/coverage-${lib}.txt"
