"""The descriptor that wakes event loops: Linux's eventfd by default, and the portable socket
pair used elsewhere, selected here with POTO_PYTHON_WAKER=socket (read once at import, so each
runs in its own interpreter)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

WORKLOAD = r"""
import asyncio, sys
from poto_sessions import PotoModule, RedisSessionProvider, _native
from tests.stores import AsyncDictStore, DictStore

assert _native._waker_kind() == sys.argv[1], _native._waker_kind()

async def bump(session):
    await asyncio.sleep(0)
    session["n"] = session.get("n", 0) + 1

async def main(round):
    stores = [AsyncDictStore(), DictStore(), RedisSessionProvider(sys.argv[2], prefix=sys.argv[3])]
    for i, store in enumerate(stores):
        module = PotoModule(store)
        user = f"w{round}-{i}"
        await asyncio.gather(*(module.update_user_session(bump, user_id=user) for _ in range(30)))
        await asyncio.gather(*(module.set_session_value(f"k{j}", j, user_id=user) for j in range(20)))
        session = await module.get_user_session(user_id=user)
        assert session["n"] == 30 and all(session[f"k{j}"] == j for j in range(20)), session

for round in range(2):  # a new event loop each time: a new waker each time
    asyncio.run(main(round))
print("ok")
"""


def run(kind: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "POTO_PYTHON_WAKER"}
    if kind is not None:
        env["POTO_PYTHON_WAKER"] = kind
    return subprocess.run([sys.executable, "-c", WORKLOAD, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", ["socket", None] + (["eventfd"] if sys.platform == "linux" else []))
def test_event_loops_are_woken(kind, redis_server, prefix) -> None:
    expected = kind or ("eventfd" if sys.platform == "linux" else "socket")
    out = run(kind, expected, redis_server.url, prefix)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stdout + out.stderr


def test_unknown_waker_is_refused_at_import() -> None:
    env = {**os.environ, "POTO_PYTHON_WAKER": "carrier-pigeon"}
    out = subprocess.run([sys.executable, "-c", "import poto_sessions"], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "POTO_PYTHON_WAKER" in out.stderr
