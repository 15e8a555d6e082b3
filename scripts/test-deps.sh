#!/usr/bin/env bash
# Debian packages the test suite talks to: Python's gRPC stack, which drives the server
# from a second, independent gRPC implementation; scikit-learn, the independent reference
# for the metrics Vigil computes, and statsmodels (with scipy), the one for the rollout tests; Prometheus, which scrapes the server; Alertmanager, which
# takes the alerts Vigil pushes; and Chromium, the browser the dashboard tests drive.
# Installed only when missing.
set -euo pipefail
packages=(python3-grpcio python3-grpc-tools python3-sklearn python3-statsmodels openssl prometheus prometheus-alertmanager chromium)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "==> installing Debian packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
