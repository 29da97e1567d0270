#!/usr/bin/env bash
# Builds and runs the poto-sessions benchmark in release mode (results: BENCHMARKS.md).
#
#   bash scripts/bench.sh                 # every measurement, ~3 s each (about 2 minutes)
#   bash scripts/bench.sh --quick         # ~0.5 s each, for CI smoke runs
#   bash scripts/bench.sh --scale         # plus the 1,000,000-session run (a few more minutes)
#
# Every argument is passed to the bench binary (see the top of benches/sessions/main.rs:
# --quick, --scale, --scale-sessions=N, --no-redis, --only=..., --op=..., --flights=...,
# --workers=N, --cas-base-delay-us=N). The Redis measurements start a private redis-server on a
# free loopback port with a temporary directory and stop it at the end; they never touch another
# Redis. Set CARGO_TARGET_DIR to build elsewhere than ./target. The C API beside Rust:
# cargo bench -p poto-sessions-benches --bench c_vs_rust.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

for tool in redis-server redis-benchmark; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "note: $tool not found; the Redis measurements will be skipped or incomplete" >&2
    fi
done

exec cargo bench -p poto-sessions-benches --bench sessions -- "$@"
