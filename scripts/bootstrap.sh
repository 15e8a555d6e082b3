#!/usr/bin/env bash
# Installs what the project needs on a machine that has only Node 20 and npm, then builds it:
# pnpm, the workspace's packages (onnxruntime-node without its CUDA download), generated
# protobuf code and the demo model. Safe to run again; each step is quick when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

PNPM_VERSION=10.34.9
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
export TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1

if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "==> installing pnpm $PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION"
fi

echo "==> installing workspace packages"
if [ "${CI:-}" = "true" ]; then
  pnpm install --frozen-lockfile --reporter=append-only
else
  pnpm install --reporter=silent
fi

echo "==> building (protobuf code, demo model)"
pnpm exec turbo run build --output-logs=errors-only
