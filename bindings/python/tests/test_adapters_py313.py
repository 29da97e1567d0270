"""The framework adapters on CPython 3.13 with the current Django (6.x needs Python >= 3.12; this
suite's own interpreter may be older and get Django 5.2): the wheel under test (the same abi3
build, not a second one) goes into a 3.13 venv kept under the target directory, and the Django,
Flask and ASGI adapter tests run there."""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from .test_packaging import ROOT, wheel

#: What the 3.13 venv holds besides the wheel: the current Django line, the other frameworks
#: and the test tools (a change here makes a fresh venv).
REQUIREMENTS = (
    "django>=6,<7",
    "flask>=3.0",
    "starlette>=0.40",
    "fastapi>=0.115",
    "httpx>=0.27",
    "itsdangerous>=2.1",
    "pytest>=8",
    "pytest-asyncio>=0.24",
)
ADAPTER_TESTS = ["tests/test_adapters_django.py", "tests/test_adapters_flask.py", "tests/test_adapters_asgi.py"]


def python313() -> str:
    root = os.environ.get("PYENV_ROOT") or (shutil.which("pyenv") and subprocess.run(
        ["pyenv", "root"], capture_output=True, text=True, check=True).stdout.strip())
    found = sorted(glob.glob(f"{root}/versions/3.13*/bin/python3.13")) if root else []
    if not found:
        pytest.skip("no CPython 3.13 under pyenv")
    return found[-1]


def venv313() -> Path:
    """The cached venv (rebuilt when the interpreter or REQUIREMENTS change)."""
    interpreter = python313()
    key = hashlib.sha256("\n".join((interpreter, *REQUIREMENTS)).encode()).hexdigest()[:12]
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "../../target")
    env_dir = target / f"python313-adapters-{key}"
    python = env_dir / "bin" / "python"
    if not (env_dir / "ready").exists():
        shutil.rmtree(env_dir, ignore_errors=True)
        subprocess.run([interpreter, "-m", "venv", env_dir], check=True)
        subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", *REQUIREMENTS], check=True)
        (env_dir / "ready").touch()
    return env_dir


def test_adapters_on_python_313_with_current_django() -> None:
    python = venv313() / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--force-reinstall", "--no-deps", wheel()],
        check=True,
    )
    versions = subprocess.run(
        [python, "-c", "import sys, django; print(sys.version_info[:2] >= (3, 13), django.VERSION[0])"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    assert versions[0] == "True" and int(versions[1]) >= 6, versions
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONPATH")}
    run = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", *ADAPTER_TESTS],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    missing = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED") and ("install" in line or "need" in line)]
    assert not missing, missing  # every framework (and what its tests need) is there
