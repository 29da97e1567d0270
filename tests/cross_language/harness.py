"""The four worker commands and the checks tally, shared by the cross-language test (run.py,
outage.py) and benchmark (benches/cross_language/bench.py); their Redis servers come from the
one Python launcher, tests/support/redis_servers.py (on sys.path from here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
HERE = Path(__file__).resolve().parent


class Checks:
    """A tally of named checks, printed as `ok - name` / `FAILED - name detail` as they come."""

    def __init__(self, setup: str = "") -> None:
        self.passed = self.failed = 0
        self.suffix = f" ({setup})" if setup else ""

    def __call__(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok - {name}{self.suffix}")
        else:
            self.failed += 1
            print(f"FAILED - {name}{self.suffix}\n{detail}" if "\n" in detail else f"FAILED - {name}{self.suffix} {detail}")


def workers(build_dir: Path, release: bool = False) -> dict[str, list[str]]:
    """The command of each language's worker: the C library and Rust worker in the debug or
    release profile; Python from the test venv (debug wheel) or the bench venv (release wheel,
    built by benches/cross_language/bench.py); Node with whichever addon was built last."""
    profile = "release" if release else "debug"
    # The C library and the Rust worker (the crate beside this file, worker.rs), in one build
    # whose features are those of the C library alone, so the library the C tests built (debug)
    # is reused and only the worker is compiled.
    build = ["cargo", "build", "-q", "-p", "poto-sessions-ffi", "-p", "poto-sessions-cross-language"]
    subprocess.run(build + (["--release"] if release else []), cwd=ROOT, check=True)
    lib = TARGET / profile
    c_worker = build_dir / "worker_c"
    subprocess.run(
        ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", f"-I{ROOT / 'include'}", str(HERE / "worker.c"),
         "-o", str(c_worker), f"-L{lib}", "-lpoto_sessions", f"-Wl,-rpath,{lib}"],
        check=True,
    )
    venv = TARGET / ("python-bench-venv" if release else "python-venv")
    return {
        "C": [str(c_worker)],
        "Python": [str(venv / "bin" / "python"), str(HERE / "worker.py")],
        "Node": ["node", str(HERE / "worker.js")],
        "Rust": [str(lib / "cross_language_worker")],
    }
