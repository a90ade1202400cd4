#!/usr/bin/env bash
# Install what is missing, build, and run the main job on the embedded default: NCA's
# personal-cabinet flows on each virtual token and a .p12 (scripts/demo-run.sh).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
vt_install_packages "${VT_PACKAGES[@]}"
cd "$VT_ROOT"
vt_log "building build/"
vt_build build
vt_log "running NCA's flows on the virtual tokens (scripts/demo-run.sh build)"
exec bash "$VT_ROOT/scripts/demo-run.sh" "$VT_ROOT/build"
