#!/usr/bin/env bash
# Runs the Node benchmarks on a release build of the addon: the store benchmark (run.js beside
# this file), or with --express the express app benchmark (express.js; other arguments go to it).
# The npm dependencies they compare against are the Node package's devDependencies
# (bindings/node, package-lock.json), installed there when missing.
set -euo pipefail
bench="$(cd "$(dirname "$0")" && pwd)"
cd "$bench/../../bindings/node"
[ -d node_modules/autocannon ] || npm ci --no-audit --no-fund --loglevel=error
node scripts/build.js --release
script=run.js
if [ "${1:-}" = "--express" ]; then
  script=express.js
  shift
fi
node "$bench/$script" "$@"
