#!/usr/bin/env bash
# Runs the Node benchmark on a release build of the addon (npm deps from package-lock.json).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/connect-redis ] || npm ci --no-audit --no-fund --loglevel=error
node scripts/build.js --release
node bench/run.js "$@"
