#!/usr/bin/env bash
# Run `vtoken-bench table` with a private pcscd, a vpcd reader and `vtoken sim` serving a
# Kaztoken in it, so the table includes signing through pcscd + vpcd (docs/PERFORMANCE.md).
# Usage: scripts/bench.sh [--build DIR] [vtoken-bench table options, e.g. --seconds 5]
# Needs root for the private pcscd (its own mount namespace, as the integration tests).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$ROOT/build
if [ "${1:-}" = "--build" ]; then
  BUILD=$(cd "$2" && pwd)
  shift 2
fi
export VT_BUILD_DIR=$BUILD VT_SOURCE_DIR=$ROOT
# shellcheck source=../tests/integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
BENCH=$VT_BUILD_DIR/tools/bench/vtoken-bench
[ -x "$BENCH" ] || vt_fail "vtoken-bench not built: $BENCH"
[ -x "$VTOKEN" ] || vt_fail "vtoken not built: $VTOKEN"
vt_setup

PORT=$(vt_port_base bench)
READER="DigiFlow LLP. KAZTOKEN"
cat >"$VTOKEN_HOME/vtoken.conf" <<EOF
[token kaztoken]
profile = kaztoken
image = tokens/kaztoken.img
vpcd_port = $PORT
EOF
VT_PCSCD_FLAGS="" vt_pcscd_start "$READER" "$PORT" # no APDU logging: it costs time
vt_bg sim "$VTOKEN" sim --token kaztoken
card_in() { "$BENCH" pcsc-challenge --reader "$READER 00 00" --seconds 1 >/dev/null 2>&1; }
vt_wait_for 20 card_in || vt_fail "the Kaztoken did not show up in '$READER 00 00'"
"$BENCH" pcsc-challenge --reader "$READER 00 00" --seconds 2
"$BENCH" table --reader "$READER 00 00" "$@"
