#!/usr/bin/env bash
# Line coverage of one library's unit tests (default apdu), reported by gcovr.
# Usage: scripts/coverage.sh [lib] [minimum-percent]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"
lib=${1:-apdu}
min=${2:-90}
dir="$VT_ROOT/build/coverage"
vt_build "$dir" -DVTOKEN_COVERAGE=ON -DCMAKE_BUILD_TYPE=Debug
find "$dir" -name '*.gcda' -delete
ctest --test-dir "$dir" -R "^unit_${lib}\$" --output-on-failure
cd "$VT_ROOT"
gcovr --root "$VT_ROOT" --filter "$VT_ROOT/${lib}/" --object-directory "$dir" \
  --txt "$dir/coverage-${lib}.txt" --fail-under-line "$min" --print-summary
cat "$dir/coverage-${lib}.txt"
