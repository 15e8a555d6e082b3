#!/usr/bin/env bash
# Starts Vigil with the demo model and demo traffic on this machine (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh >&2
exec node --import tsx --import ./packages/cli/src/telemetry-preload.ts packages/cli/src/main.ts up "$@"
