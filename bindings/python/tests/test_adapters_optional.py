"""The web frameworks are optional extras: `import poto_sessions` loads none of them, and each
adapter names the extra to install when its framework is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def test_core_import_loads_no_framework() -> None:
    code = textwrap.dedent(
        """
        import sys, poto_sessions, poto_sessions._web
        loaded = sorted(m for m in ("flask", "django", "starlette", "fastapi", "itsdangerous", "werkzeug") if m in sys.modules)
        print(",".join(loaded))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_extras_are_declared() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib needs Python 3.11")
    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)["project"]
    assert "dependencies" not in project or not project["dependencies"]
    extras = project["optional-dependencies"]
    assert any(d.startswith("flask") for d in extras["flask"])
    assert any(d.startswith("django") for d in extras["django"])
    assert any(d.startswith("starlette") for d in extras["asgi"])


@pytest.mark.parametrize(("adapter", "framework", "extra"), [("flask", "flask", "flask"), ("django", "django", "django"), ("asgi", "starlette", "asgi")])
def test_missing_framework_names_the_extra(adapter: str, framework: str, extra: str) -> None:
    code = f"import sys; sys.modules[{framework!r}] = None; import poto_sessions.{adapter}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0
    assert f"pip install 'poto-sessions[{extra}]'" in out.stderr


def test_adapters_type_check() -> None:
    pytest.importorskip("mypy", reason="mypy is not installed")
    for framework in ("flask", "django", "starlette"):
        pytest.importorskip(framework, reason=f"{framework} is not installed")
    package = Path(__file__).resolve().parents[1] / "python" / "poto_sessions"
    files = [str(package / f"{name}.py") for name in ("_web", "_signing", "flask", "django", "asgi")]
    out = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", *files], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
