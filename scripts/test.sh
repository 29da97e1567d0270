#!/usr/bin/env bash
# Runs every test: installs missing tools, then the Rust suite of core and the C API (each test
# starts its own redis-server on a free loopback port; the C programs run under valgrind), the
# README's examples, benchmark smoke runs (a bench binary run by `cargo test` does a short
# pass), and the Python and Node packages' suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --all-targets   # core and ffi (the default members)
cargo test --doc
bash scripts/test-python.sh
bash scripts/test-node.sh
