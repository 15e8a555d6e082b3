#!/usr/bin/env bash
# Runs the benchmarks and rewrites docs/benchmarks.md with their results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
node --import tsx bench/serving.ts "$@"
