"""Cancelling an awaited call (task.cancel(), asyncio.wait_for timing out) drops the call: one
cancelled before its write is sent writes nothing, and its update function is not run (again)."""

from __future__ import annotations

import asyncio
import threading
from typing import Optional

import pytest

from poto_sessions import InMemorySessionProvider, PotoModule

from .stores import DictStore, Session, VersionedDictStore


class Gate:
    """Blocks a provider method (on the library's blocking pool) until the test opens it."""

    def __init__(self) -> None:
        self.armed = False
        self.entered = threading.Event()
        self.opened = threading.Event()

    def pass_through(self) -> None:
        if self.armed:
            self.armed = False
            self.entered.set()
            self.opened.wait(10)

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 10)


class SlowReads(DictStore):
    """No compare-and-set (so updates take the per-process lock); reads can be held."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = Gate()

    def get_session(self, user_id: str) -> Optional[Session]:
        self.gate.pass_through()
        return super().get_session(user_id)


class SlowCas(VersionedDictStore):
    """A compare-and-set that can be held, and then reports that another writer won."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = Gate()

    def compare_and_set(self, user_id: str, expected: Optional[int], data: Session, ttl: Optional[float]) -> Optional[int]:
        if self.gate.armed:
            self.gate.pass_through()
            return None
        return super().compare_and_set(user_id, expected, data, ttl)


async def test_update_cancelled_while_reading_writes_nothing() -> None:
    store = SlowReads()
    module = PotoModule(store)
    await module.set_session_value("n", 0, user_id="u")
    calls = 0

    def inc(session: Session) -> None:
        nonlocal calls
        calls += 1
        session["n"] += 1

    store.gate.armed = True
    task = asyncio.ensure_future(module.update_user_session(inc, user_id="u"))
    await store.gate.wait_entered()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.gate.opened.set()
    # Takes the same per-user lock: runs after the cancelled call, had it gone on to write.
    after = await module.update_user_session(lambda s: None, user_id="u")
    assert after["n"] == 0 and calls == 0


async def test_set_session_value_timed_out_writes_nothing() -> None:
    store = SlowReads()
    module = PotoModule(store)
    await module.set_session_value("n", 0, user_id="u")
    store.gate.armed = True
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(module.set_session_value("late", 1, user_id="u"), 0.05)
    store.gate.opened.set()
    after = await module.update_user_session(lambda s: None, user_id="u")
    assert "late" not in after


async def test_cancelled_update_is_not_retried() -> None:
    store = SlowCas()
    module = PotoModule(store)
    await module.set_session_value("n", 0, user_id="u")
    calls = 0

    def inc(session: Session) -> None:
        nonlocal calls
        calls += 1
        session["n"] += 1

    store.gate.armed = True
    task = asyncio.ensure_future(module.update_user_session(inc, user_id="u"))
    await store.gate.wait_entered()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    store.gate.opened.set()  # the held compare-and-set now reports a conflict
    for _ in range(50):  # a call still running would re-read and run inc again at once
        await asyncio.sleep(0.01)
    assert calls == 1
    assert await module.get_session_value("n", user_id="u") == 0


async def test_async_update_function_is_cancelled_with_its_call() -> None:
    module = PotoModule(InMemorySessionProvider())
    await module.set_session_value("n", 0, user_id="u")
    calls = 0
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def slow(session: Session) -> None:
        nonlocal calls
        calls += 1
        entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        session["n"] = 1

    task = asyncio.ensure_future(module.update_user_session(slow, user_id="u"))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cancelled.wait(), 5)
    assert calls == 1 and await module.get_session_value("n", user_id="u") == 0


async def test_update_cancelled_before_its_function_ran() -> None:
    module = PotoModule(InMemorySessionProvider())
    await module.set_session_value("n", 0, user_id="u")
    calls = 0

    def inc(session: Session) -> None:
        nonlocal calls
        calls += 1
        session["n"] += 1

    task = asyncio.ensure_future(module.update_user_session(inc, user_id="u"))
    await asyncio.sleep(0)  # the call has started: its function waits for this loop's next turn
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.05)
    assert calls == 0 and await module.get_session_value("n", user_id="u") == 0


async def test_calls_after_cancellations_work() -> None:
    module = PotoModule(InMemorySessionProvider())
    for i in range(50):
        task = asyncio.ensure_future(module.set_session_value("k", i, user_id="u"))
        if i % 2:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await module.update_user_session(lambda s: s.update(done=True), user_id="u")
    assert (await module.get_user_session(user_id="u"))["done"] is True


async def test_call_cancelled_in_the_turn_it_was_made_sends_nothing(redis_server, prefix) -> None:
    """Calls reach the runtime together at the next turn of the loop: one cancelled before
    then is never sent (Redis runs no write for it), and the calls beside it run as usual."""
    from .adapters_support import Store

    store = Store("redis", redis_server, prefix)
    p = store.provider
    await p.set_session("kept", {"n": 0})
    writes = store.writes()
    cancelled = asyncio.ensure_future(p.set_session("dropped", {"n": 1}))
    kept = asyncio.ensure_future(p.set_session("kept", {"n": 2}))
    cancelled.cancel()
    await asyncio.gather(cancelled, kept, return_exceptions=True)
    assert cancelled.cancelled()
    assert store.writes() == writes + 1
    assert await p.has_session("dropped") is False
    assert (await p.get_session("kept") or {})["n"] == 2


async def test_in_memory_calls_are_ready_at_once() -> None:
    """The in-memory provider's calls complete on the calling thread: the awaitable holds the
    result (or the error) before the loop runs again, and no call waits for the runtime."""
    from poto_sessions import InvalidArgumentError, _native

    p = InMemorySessionProvider()
    made = p.set_session("a", {"n": 1})
    assert isinstance(made, _native.Ready)
    await made
    got = p.get_session("a")
    assert isinstance(got, _native.Ready)
    assert (await got or {})["n"] == 1
    failing = p.get_session("")
    assert isinstance(failing, _native.Ready)
    with pytest.raises(InvalidArgumentError):
        await failing
