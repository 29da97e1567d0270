"""No panic leaves a call waiting: with a failpoint armed (core/src/failpoint.rs; the wheel of
scripts/test-python.sh is built with them), the call raises ``InternalError`` — awaited or
blocking, in the awaited future or in a task it waits on — and the next call works. A call left
pending shows as ``asyncio.wait_for``'s generous timeout, not as a timed assertion."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from poto_sessions import InMemorySessionProvider, InternalError, PotoModule, RedisSessionProvider, SessionProvider
from poto_sessions import _native

from .stores import AsyncDictStore, DictStore

ROOT = Path(__file__).resolve().parents[1]
LOST = 120.0  # far beyond any call here: reaching it means the call was left waiting

arm: Callable[..., None] = getattr(_native, "_arm_failpoint", None)  # type: ignore[assignment]
needs_failpoints = pytest.mark.skipif(arm is None, reason="a wheel built without failpoints (scripts/test-python.sh builds with)")
if arm is None and os.environ.get("POTO_FAILPOINTS_REQUIRED"):
    raise RuntimeError("POTO_FAILPOINTS_REQUIRED is set, but this wheel has no failpoints: nothing here would run")
POINTS = ["memory.get", "memory.set", "redis.read", "redis.write", "module.update", "host.call", "host.task"]


@pytest.fixture(autouse=True)
def disarmed() -> Any:
    """No point stays armed for the next test, whatever this one did."""
    yield
    if arm is not None:
        for point in POINTS:
            arm(point, 0)


async def fails_then_works(point: str, call: Callable[[], Awaitable[Any]]) -> None:
    arm(point, 1)
    with pytest.raises(InternalError, match=f"panicked.*{re.escape(point)}") as raised:
        await asyncio.wait_for(call(), LOST)
    assert raised.value.code == "POTO_INTERNAL"
    await asyncio.wait_for(call(), LOST)


def fails_then_works_sync(point: str, call: Callable[[], Any]) -> None:
    arm(point, 1)
    with pytest.raises(InternalError, match=f"panicked.*{re.escape(point)}"):
        call()
    call()


@needs_failpoints
async def test_in_memory_provider() -> None:
    store = InMemorySessionProvider()
    await store.set_session("ada", {"n": 1})
    await fails_then_works("memory.get", lambda: store.get_session("ada"))
    await fails_then_works("memory.set", lambda: store.set_session("ada", {"n": 2}))


@needs_failpoints
def test_in_memory_provider_sync() -> None:
    store = InMemorySessionProvider()
    store.set_session_sync("ada", {"n": 1})
    fails_then_works_sync("memory.get", lambda: store.get_session_sync("ada"))
    fails_then_works_sync("memory.set", lambda: store.set_session_sync("ada", {"n": 2}))


@needs_failpoints
async def test_module_update() -> None:
    module = PotoModule(InMemorySessionProvider())
    await module.get_user_session(user_id="ada")
    await fails_then_works("module.update", lambda: module.update_user_session(lambda s: s.update(n=1), user_id="ada"))


@needs_failpoints
def test_module_update_sync() -> None:
    module = PotoModule(InMemorySessionProvider())
    module.get_user_session_sync(user_id="ada")
    fails_then_works_sync("module.update", lambda: module.update_user_session_sync(lambda s: s.update(n=2), user_id="ada"))


@needs_failpoints
async def test_redis_provider(redis_server, prefix) -> None:
    store = RedisSessionProvider(redis_server.url, prefix=prefix)
    await store.set_session("ada", {"n": 1})
    await fails_then_works("redis.read", lambda: store.get_session("ada"))
    await fails_then_works("redis.write", lambda: store.set_session("ada", {"n": 2}))


@needs_failpoints
def test_redis_provider_sync(redis_server, prefix) -> None:
    store = RedisSessionProvider(redis_server.url, prefix=prefix)
    fails_then_works_sync("redis.write", lambda: store.set_session_sync("ada", {"n": 3}))
    fails_then_works_sync("redis.read", lambda: store.get_session_sync("ada"))


@needs_failpoints
@pytest.mark.parametrize("point", ["host.call", "host.task"])
async def test_custom_provider(point: str) -> None:
    # A sync store runs on the blocking pool (host.task panics inside that task); an async one
    # on the event loop.
    for store in [SessionProvider.wrap(DictStore()), SessionProvider.wrap(AsyncDictStore())]:
        await fails_then_works(point, lambda: store.get_session("ada"))
    module = PotoModule(DictStore())
    await fails_then_works(point, lambda: module.get_user_session(user_id="ada"))


@needs_failpoints
async def test_many_calls_in_flight_each_end() -> None:
    store = InMemorySessionProvider()
    arm("memory.set", 5)
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(store.set_session(f"u{i}", {"i": i}) for i in range(20)), return_exceptions=True), LOST
    )
    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 5 and all(isinstance(o, InternalError) for o in failed)


@needs_failpoints
def test_armed_from_the_environment(redis_server, prefix) -> None:
    """``POTO_FAILPOINTS`` arms points for a whole process (read at the first failpoint met)."""
    program = f"""
import asyncio
from poto_sessions import InternalError, RedisSessionProvider
async def main():
    store = RedisSessionProvider({redis_server.url!r}, prefix={prefix!r})
    try:
        await asyncio.wait_for(store.get_session("ada"), 120)
    except InternalError as e:
        print("internal:", e.code)
    print("then:", await asyncio.wait_for(store.get_session("ada"), 120))
asyncio.run(main())
"""
    env = {**os.environ, "POTO_FAILPOINTS": "redis.read=1", "RUST_BACKTRACE": "0"}
    out = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=LOST)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["internal: POTO_INTERNAL", "then: None"]
    # The default panic hook's report, nothing more: where, and the failpoint's message.
    assert "poto-sessions failpoint redis.read" in out.stderr


def test_release_builds_have_no_failpoints() -> None:
    """What pip and release builds compile: pyproject.toml's maturin features, never failpoints."""
    text = (ROOT / "pyproject.toml").read_text()
    features = re.search(r"^\[tool\.maturin\][^\[]*?^features\s*=\s*\[(.*?)\]", text, re.S | re.M)
    assert features is not None, "pyproject.toml has no [tool.maturin] features"
    assert "failpoints" not in features.group(1)
