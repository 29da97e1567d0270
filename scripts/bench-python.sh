#!/usr/bin/env bash
# Builds a release wheel and runs the Python benchmark (benches/python/bench.py) beside
# redis-py (on hiredis), a no-op await and a dict, against a private redis-server.
#   bash scripts/bench-python.sh [--seconds 2] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/python-bench-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "maturin>=1.7,<2" "redis>=5" hiredis
rm -rf "$target/wheels-release"
(cd bindings/python && "$venv/bin/maturin" build --release --quiet -o "$target/wheels-release")
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$target"/wheels-release/poto_sessions-*.whl
"$venv/bin/python" benches/python/bench.py "$@"
