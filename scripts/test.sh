#!/usr/bin/env bash
# The test suite.
#   scripts/test.sh        install, build, lint, type-check, then every test: the unit tests next to
#                          the code (packages/*/src/**/*.test.ts) and the end-to-end tests (test/*.int.test.ts)
#   scripts/test.sh unit   only the unit tests, on an installed workspace (seconds)
# No test runs past TEST_TIMEOUT_MS, the whole run past SUITE_TIMEOUT, and no process a test
# started survives its test file. The last line counts a timed-out (cancelled) test as failed.
set -euo pipefail
cd "$(dirname "$0")/.."

TEST_TIMEOUT_MS="${VIGIL_TEST_TIMEOUT_MS:-600000}"
SUITE_TIMEOUT="${VIGIL_SUITE_TIMEOUT:-50m}"

mode="${1:-all}"
case "$mode" in
  all) ;;
  unit) ;;
  *) echo "usage: scripts/test.sh [unit]" >&2; exit 2 ;;
esac

if [ "$mode" = all ]; then
  bash scripts/bootstrap.sh
  bash scripts/test-deps.sh
  echo "==> linting"
  pnpm lint
  echo "==> type-checking"
  pnpm exec turbo run typecheck --output-logs=errors-only
fi

mapfile -t files < <(find packages -path '*/node_modules' -prune -o -path '*/src/*' -name '*.test.ts' -print | sort)
if [ "$mode" = all ]; then
  mapfile -t -O "${#files[@]}" files < <(find test -maxdepth 1 -name '*.int.test.ts' | sort)
fi

echo "==> running ${#files[@]} test files ($mode)"
mkdir -p .vigil
results=.vigil/test-results.tap
rm -f "$results"
# `timeout` puts the runner and everything it starts in one process group of its own: when the
# bound is hit the whole group gets the signal, and after the run any process left in it is killed.
timeout --kill-after=30s "$SUITE_TIMEOUT" \
  node --import tsx --import ./test/support/setup.ts --test --test-timeout="$TEST_TIMEOUT_MS" \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$results" "${files[@]}" &
runner=$!
status=0
wait "$runner" || status=$?
kill -KILL -- "-$runner" 2>/dev/null || true

count() { sed -n "s/^# $1 \([0-9]*\)\$/\1/p" "$results" 2>/dev/null | tail -n 1; }
passed=$(count pass)
cancelled=$(count cancelled)
fails=$(count fail)
failed=$(( ${fails:-0} + ${cancelled:-0} ))
note=""
if [ "${cancelled:-0}" -gt 0 ]; then note=" (${cancelled} timed out)"; fi
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
  echo "the test run passed its bound of $SUITE_TIMEOUT and was stopped"
  failed=$(( failed + 1 ))
fi
# A runner that failed with no failing test (a file that could not load) still failed.
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "tests: ${passed:-0} passed, ${failed} failed${note}"
exit "$status"
