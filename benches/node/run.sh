#!/usr/bin/env bash
# Runs the Node benchmark (run.js beside this file) on a release build of the addon; the npm
# dependencies it compares against are the Node package's devDependencies (bindings/node,
# package-lock.json), installed there when missing.
set -euo pipefail
bench="$(cd "$(dirname "$0")" && pwd)"
cd "$bench/../../bindings/node"
[ -d node_modules/connect-redis ] || npm ci --no-audit --no-fund --loglevel=error
node scripts/build.js --release
node "$bench/run.js" "$@"
