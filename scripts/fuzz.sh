#!/usr/bin/env bash
# Run libFuzzer targets for a while over a copy of their seed corpora (vectors/fuzz/<target>/).
# Builds with clang and -DVTOKEN_FUZZ=ON in build/fuzz (VT_FUZZ_DIR overrides), prints the
# number of executions, keeps crashing inputs in <build>/artifacts/<target>/ and exits
# non-zero when a target found one (a crash, a leak, a failed property or an input that
# takes longer than VT_FUZZ_TIMEOUT seconds, 25 by default).
# Usage: scripts/fuzz.sh <target> [seconds, default 60]
#        scripts/fuzz.sh --all [seconds per target, default 60]   every target, two at a time
#        scripts/fuzz.sh --list                                   the targets
# Targets: fuzz_apdu fuzz_tlv fuzz_atr (APDU codec), fuzz_card_kaztoken fuzz_card_etoken
# fuzz_card_jacarta (card engine per dialect), fuzz_image (card images), fuzz_pkcs15
# (PKCS#15 decoders), fuzz_p12 (PKCS#12 reader).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

TARGETS=(fuzz_apdu fuzz_tlv fuzz_atr fuzz_card_kaztoken fuzz_card_etoken fuzz_card_jacarta
         fuzz_image fuzz_pkcs15 fuzz_p12)

if [ "${1:-}" = --list ]; then
  printf '%s\n' "${TARGETS[@]}"
  exit 0
fi
vt_install_packages "${VT_PACKAGES[@]}"

arg=${1:?usage: scripts/fuzz.sh <target>|--all [seconds]}
secs=${2:-60}
dir=${VT_FUZZ_DIR:-$VT_ROOT/build/fuzz}
if [ "$arg" = --all ]; then
  targets=("${TARGETS[@]}")
else
  targets=("$arg")
fi
for t in "${targets[@]}"; do
  [ -d "$VT_ROOT/vectors/fuzz/$t" ] || vt_die "no seed corpus at $VT_ROOT/vectors/fuzz/$t"
done

if [ ! -f "$dir/CMakeCache.txt" ]; then
  CC=clang cmake -S "$VT_ROOT" -B "$dir" -DCMAKE_C_COMPILER=clang -DVTOKEN_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || vt_die "cmake configure failed for $dir"
fi
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}" -- --no-print-directory \
  >"$dir/build.log" 2>&1 || { tail -n 60 "$dir/build.log" >&2; vt_die "build of ${targets[*]} failed"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/vtoken-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# run_one <target>: fuzz it for $secs seconds; the result line goes to $work/<target>.result.
run_one() {
  local t=$1 rc=0 execs
  mkdir -p "$work/$t" "$dir/artifacts/$t"
  cp "$VT_ROOT/vectors/fuzz/$t"/* "$work/$t/"
  "$dir/tests/fuzz/$t" -max_total_time="$secs" -timeout="${VT_FUZZ_TIMEOUT:-25}" \
    -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t/" "$work/$t" \
    >"$work/$t.log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -n 1)
  if [ $rc -ne 0 ]; then
    printf 'FAIL %s: crashed after %s executions (inputs in %s)\n' "$t" "${execs:-?}" \
      "$dir/artifacts/$t/" >"$work/$t.result"
    cp "$work/$t.log" "$dir/artifacts/$t/last.log"
  else
    printf 'ok   %s: %s executions in %s s, corpus %s -> %s files\n' "$t" "${execs:-?}" "$secs" \
      "$(ls "$VT_ROOT/vectors/fuzz/$t" | wc -l)" "$(ls "$work/$t" | wc -l)" >"$work/$t.result"
  fi
  return $rc
}

# Two at a time (one per core of a small CI machine): start a pair, wait for both.
status=0
jobs_per_round=${VT_FUZZ_JOBS:-2}
for ((i = 0; i < ${#targets[@]}; i += jobs_per_round)); do
  pids=()
  for t in "${targets[@]:i:jobs_per_round}"; do
    vt_log "fuzzing $t for $secs s ($(ls "$VT_ROOT/vectors/fuzz/$t" | wc -l) seeds)"
    run_one "$t" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done

vt_log "fuzzing results"
for t in "${targets[@]}"; do
  cat "$work/$t.result"
  if grep -q '^FAIL' "$work/$t.result"; then
    tail -n 40 "$work/$t.log" >&2
  fi
done
exit $status
