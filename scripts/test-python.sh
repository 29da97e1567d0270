#!/usr/bin/env bash
# Builds the Python wheel once (debug, abi3) with maturin, installs it in a test venv and runs the
# pytest suite (which also installs the same wheel in a fresh venv, type-checks the stubs, and
# runs the framework-adapter tests on CPython 3.13 with Django 6 in a venv cached under the target).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r bindings/python/requirements-dev.txt
rm -rf "$target/wheels"
# A test build: with the failpoints of core/src/failpoint.rs (never in a release wheel).
(cd bindings/python && "$venv/bin/maturin" build --quiet --features failpoints -o "$target/wheels")
wheel=$(ls "$target"/wheels/poto_sessions-*.whl)
"$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel"
cd bindings/python
POTO_WHEEL="$wheel" "$venv/bin/python" -m pytest -q -p no:cacheprovider
