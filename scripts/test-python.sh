#!/usr/bin/env bash
# The Python package's tests, on what users install: the wheel scripts/dist.sh put in dist/
# (release, abi3, manylinux2014; dist.sh builds it when missing and does nothing when it is up to
# date). Only test_panics.py needs core's failpoints (core/src/failpoint.rs), which a shipped
# wheel never has: it runs last on a debug test wheel built with them, and the venv gets the
# dist wheel back for the steps after this script (cross-language, failover, docs).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
venv="$target/python-venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r bindings/python/requirements-dev.txt
bash scripts/dist.sh
wheel=$(ls "$PWD"/dist/poto_sessions-*-abi3-manylinux*.whl)
install() { "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$1"; }

install "$wheel"
(cd bindings/python && POTO_WHEEL="$wheel" "$venv/bin/python" -m pytest -q -p no:cacheprovider)

rm -rf "$target/wheels"
(cd bindings/python && "$venv/bin/maturin" build --quiet --features failpoints -o "$target/wheels")
install "$(ls "$target"/wheels/poto_sessions-*.whl)"
(cd bindings/python && POTO_FAILPOINTS_REQUIRED=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_panics.py)
install "$wheel"
