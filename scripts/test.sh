#!/usr/bin/env bash
# Runs every test: installs missing tools, then the Rust suite (each test starts its own
# redis-server on a free loopback port), the README's examples, and a benchmark smoke run
# (a bench binary run by `cargo test` does a short pass).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo test --workspace --all-targets
cargo test --workspace --doc
