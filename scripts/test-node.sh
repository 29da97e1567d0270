#!/usr/bin/env bash
# The Node package's tests, on what users install: the addon of dist/'s
# poto-sessions-linux-x64-gnu package (scripts/dist.sh builds it when missing, release, linked
# for glibc 2.17) in the package's native/ folder. Installs node/npm and redis-server when
# missing and the package's npm dependencies (npm ci, from package-lock.json), type-checks the
# typed example with tsc, makes sure a PostgreSQL server runs (scripts/start-postgres.sh;
# test/postgres.test.js creates and drops a database of its own on it), and runs the node:test
# suite (each Redis test starts its own redis-server on a free loopback port). Only
# panics.test.js needs core's failpoints, which a shipped addon never has: it runs last on a
# debug test build with them, and native/ gets the dist addon back for the steps after this.
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
bash scripts/dist.sh
root=$PWD
cd bindings/node
npm ci --no-audit --no-fund --loglevel=error
addon="native/poto-sessions.linux-x64.node"   # where lib/loader.js looks first
from_dist() {
  local unpacked
  unpacked=$(mktemp -d)
  tar -xzf "$(ls "$root"/dist/poto-sessions-linux-x64-gnu-*.tgz)" -C "$unpacked"
  mkdir -p native
  cp "$unpacked/package/poto-sessions.linux-x64-gnu.node" "$addon.tmp" && mv "$addon.tmp" "$addon"
  rm -rf "$unpacked"
}
from_dist
npx --no-install tsc --noEmit -p examples/tsconfig.json
node --test $(ls test/*.test.js | grep -v '/panics\.test\.js$')
node scripts/build.js --failpoints   # a test build: with core's failpoints (never shipped)
POTO_FAILPOINTS_REQUIRED=1 node --test test/panics.test.js
from_dist
