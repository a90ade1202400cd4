#!/usr/bin/env bash
# Install what is missing, build, and run the main job on the embedded default.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"
cd "$VT_ROOT"
vt_log "building build/"
vt_build build
exec bash "$VT_ROOT/scripts/demo-run.sh" "$VT_ROOT/build"
