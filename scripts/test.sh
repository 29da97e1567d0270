#!/usr/bin/env bash
# Runs every test: installs missing tools, then the Rust suite of core and the C API (each test
# starts its own redis-server on a free loopback port; the C programs run under valgrind), the
# README's examples, benchmark smoke runs (benches/: a bench binary run by `cargo test` does a
# short pass), the Python and Node packages' suites, and the cross-language test (one process per
# language on one redis-server), the programs of docs/deployment.md, and the packages: built into
# dist/ once (scripts/dist.sh), which the Python and Node suites test and tests/install/run.py
# installs as users do.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
# core, ffi and the admin tool (the default members), and the benches crate, whose bench
# binaries run by `cargo test` do a short smoke pass: one build for all of them.
cargo test --all-targets -p poto-sessions -p poto-sessions-ffi -p poto-sessions-admin -p poto-sessions-benches
cargo test --doc
bash scripts/dist.sh                  # every package into dist/, once (release, glibc 2.17)
bash scripts/test-python.sh           # on dist/'s wheel (test_panics.py on a failpoint test build)
bash scripts/test-node.sh             # on dist/'s addon (panics.test.js on a failpoint test build)
python3 tests/cross_language/run.py   # C, Python, Node and Rust processes on one Redis
python3 tests/failover/run.py         # the same four under load through a Redis Sentinel failover
python3 tests/docs/run.py             # the programs of docs/deployment.md, in memory, on Redis and on a cluster
python3 tests/install/run.py          # pip, npm and a C prefix install them from local servers and run them
