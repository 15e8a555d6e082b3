#!/usr/bin/env bash
# The whole test suite: install, build, type-check, then every test file under node's test runner.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/test-deps.sh

echo "==> type-checking"
pnpm exec turbo run typecheck --output-logs=errors-only

echo "==> running tests"
mapfile -t files < <(find packages test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
mkdir -p .vigil
results=.vigil/test-results.tap
status=0
node --import tsx --test --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$results" "${files[@]}" || status=$?
passed=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$results" | tail -n 1)
failed=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$results" | tail -n 1)
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
exit "$status"
