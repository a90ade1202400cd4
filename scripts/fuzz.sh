#!/usr/bin/env bash
# Run one libFuzzer target for a while over a copy of its seed corpus (vectors/fuzz/<target>/).
# Builds with clang and -DVTOKEN_FUZZ=ON in build/fuzz (VT_FUZZ_DIR overrides), prints the
# number of executions, keeps crashing inputs in <build>/artifacts/<target>/ and exits
# non-zero when the target found one.
# Usage: scripts/fuzz.sh fuzz_apdu|fuzz_tlv|fuzz_atr [seconds, default 60]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"

target=${1:?usage: scripts/fuzz.sh <target> [seconds]}
secs=${2:-60}
dir=${VT_FUZZ_DIR:-$VT_ROOT/build/fuzz}
seeds=$VT_ROOT/vectors/fuzz/$target
[ -d "$seeds" ] || vt_die "no seed corpus at $seeds"

if [ ! -f "$dir/CMakeCache.txt" ]; then
  CC=clang cmake -S "$VT_ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DVTOKEN_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || vt_die "cmake configure failed for $dir"
fi
cmake --build "$dir" -j "$(nproc)" --target "$target" -- --no-print-directory \
  >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log" >&2; vt_die "build of $target failed"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vtoken-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$dir/artifacts/$target"
cp "$seeds"/* "$work/corpus/"

vt_log "fuzzing $target for $secs s ($(ls "$seeds" | wc -l) seeds)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
rc=0
"$dir/tests/fuzz/$target" -max_total_time="$secs" -print_final_stats=1 \
  -artifact_prefix="$dir/artifacts/$target/" "$work/corpus" >"$work/log" 2>&1 || rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
if [ $rc -ne 0 ]; then
  tail -n 40 "$work/log" >&2
  vt_die "$target crashed after ${execs:-?} executions (inputs in $dir/artifacts/$target/)"
fi
vt_log "$target: ${execs:-?} executions in $secs s, corpus grew to $(ls "$work/corpus" | wc -l) files"
