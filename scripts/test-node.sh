#!/usr/bin/env bash
# The Node package's tests: installs node/npm and redis-server when missing, the package's npm
# dependencies (npm ci, from package-lock.json), builds the addon once (debug, in the workspace's
# target dir), type-checks the typed example with tsc, makes sure a PostgreSQL server runs
# (scripts/start-postgres.sh; test/postgres.test.js creates and drops a database of its own on it),
# and runs the node:test suite (each Redis test starts its own redis-server on a free loopback port).
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi
pg_env="$(bash scripts/start-postgres.sh)"
eval "$pg_env" # exports PGHOST, PGPORT, PGUSER
node -e 'if (+process.versions.node.split(".")[0] < 18) { console.error("Node >= 18 needed, found " + process.version); process.exit(1) }'
cd bindings/node
npm ci --no-audit --no-fund --loglevel=error
node scripts/build.js --failpoints   # a test build: with core's failpoints (never shipped)
npx --no-install tsc --noEmit -p examples/tsconfig.json
node --test test/*.test.js
