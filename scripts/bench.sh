#!/usr/bin/env bash
# Runs the benchmark suite (about half an hour on a 2-core machine) and rewrites its sections
# of docs/benchmarks.md. The soak (bench/soak.ts, 30 minutes more) runs on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
node --import tsx bench/serving.ts "$@"
node --import tsx bench/serving.ts --sections shadow --report-section "Serving: shadow rollouts" --seconds 3 --rounds 3
node --import tsx bench/quantize.ts
node --import tsx bench/request-profile.ts --settings off,sampled,on --rounds 3 --seconds 6
node --import tsx bench/ingest.ts
node --import tsx bench/monitor.ts
node --import tsx bench/api.ts
node --import tsx bench/memory.ts
