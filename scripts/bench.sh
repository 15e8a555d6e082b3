#!/usr/bin/env bash
# Runs the benchmarks and rewrites their sections of docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
node --import tsx bench/serving.ts "$@"
node --import tsx bench/ingest.ts
node --import tsx bench/monitor.ts
node --import tsx bench/api.ts
