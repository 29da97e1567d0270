"""The seed's module and LLM API from Python: async and blocking, context users, subclasses."""

from __future__ import annotations

import asyncio
import threading

import pytest

from poto_sessions import (
    InMemorySessionProvider,
    LLMPotoModule,
    NotAuthenticatedError,
    PotoModule,
    ProviderError,
    RedisSessionProvider,
    SessionProvider,
    current_user,
    user_context,
)

from .stores import AsyncDictStore, DictStore


async def test_seed_flow_async() -> None:
    module = PotoModule(InMemorySessionProvider())
    with user_context("alice"):
        session = await module.get_user_session()
        assert session["userId"] == "alice" and "createdAt" in session and "lastActivity" in session
        await module.update_user_session(lambda s: s.update(someField="value"))
        assert (await module.get_user_session())["someField"] == "value"
        await module.set_session_value("theme", "dark")
        assert await module.get_session_value("theme") == "dark"
        assert await module.get_session_value("missing") is None
        stats = await module.get_session_stats()
        assert stats.active_sessions == 1 and stats.user_ids == ["alice"]
        await module.delete_user_session()
        assert (await module.get_session_stats()).active_sessions == 0


def test_seed_flow_sync() -> None:
    module = LLMPotoModule(InMemorySessionProvider())
    with user_context("bob"):
        assert module.get_user_model_sync() == "llm1"
        module.update_user_model_sync("llm2")
        assert module.get_user_model_sync() == "llm2"
        written = module.update_user_session_sync(lambda s: {**s, "n": 1})
        assert written["n"] == 1 and written["currentModelName"] == "llm2"
    assert module.get_user_session_sync(user_id="bob")["n"] == 1

    def explode(session: dict) -> None:
        session["n"] = 100
        raise KeyError("rejected")

    with pytest.raises(KeyError):
        module.update_user_session_sync(explode, user_id="bob")
    assert module.get_user_session_sync(user_id="bob")["n"] == 1


async def test_no_current_user() -> None:
    module = PotoModule(InMemorySessionProvider())
    with pytest.raises(NotAuthenticatedError):
        await module.get_user_session()
    with pytest.raises(NotAuthenticatedError):
        module.set_session_value_sync("k", 1)


async def test_context_follows_tasks() -> None:
    module = PotoModule(InMemorySessionProvider())

    async def request(user: str) -> str:
        with user_context(user):
            await asyncio.sleep(0)
            return (await module.get_user_session())["userId"]

    assert await asyncio.gather(*(request(f"u{i}") for i in range(20))) == [f"u{i}" for i in range(20)]

    @user_context("decorated")
    async def handler() -> str:
        return (await module.get_user_session())["userId"]

    assert await handler() == "decorated"


async def test_subclass_extends_defaults() -> None:
    class MyModule(LLMPotoModule):
        def create_default_session_data(self, user_id: str) -> dict:
            return {**super().create_default_session_data(user_id), "customField": "default", "anotherField": 0}

    session = await MyModule(InMemorySessionProvider()).get_user_session(user_id="carol")
    assert session["customField"] == "default" and session["anotherField"] == 0
    assert session["currentModelName"] == "llm1" and session["userId"] == "carol"


async def test_async_update_function_and_exceptions() -> None:
    module = PotoModule(InMemorySessionProvider())

    async def bump(session: dict) -> None:
        await asyncio.sleep(0)
        session["n"] = session.get("n", 0) + 1

    await module.update_user_session(bump, user_id="dave")
    before = await module.update_user_session(bump, user_id="dave")
    assert before["n"] == 2

    class Boom(Exception):
        pass

    def explode(session: dict) -> None:
        session["n"] = 100
        raise Boom("no")

    with pytest.raises(Boom):
        await module.update_user_session(explode, user_id="dave")
    after = await module.get_user_session(user_id="dave")
    assert after["n"] == 2


async def test_concurrent_updates_across_instances(redis_server, prefix) -> None:
    modules = [PotoModule(RedisSessionProvider(redis_server.url, prefix=prefix)) for _ in range(2)]

    def bump(session: dict) -> None:
        session["n"] = session.get("n", 0) + 1

    await asyncio.gather(*(modules[i % 2].update_user_session(bump, user_id="counter") for i in range(64)))
    assert (await modules[0].get_user_session(user_id="counter"))["n"] == 64

    await asyncio.gather(*(modules[i % 2].set_session_value(f"k{i}", i, user_id="fields") for i in range(20)))
    session = await modules[1].get_user_session(user_id="fields")
    assert all(session[f"k{i}"] == i for i in range(20))


def test_blocking_calls_from_threads(redis_server, prefix) -> None:
    module = PotoModule(RedisSessionProvider(redis_server.url, prefix=prefix))
    errors: list = []

    def worker() -> None:
        try:
            for _ in range(10):
                module.update_user_session_sync(lambda s: s.update(n=s.get("n", 0) + 1), user_id="threads")
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert module.get_user_session_sync(user_id="threads")["n"] == 80


async def test_sync_form_inside_event_loop_is_refused() -> None:
    module = PotoModule(InMemorySessionProvider())
    with pytest.raises(ValueError):
        module.get_user_session_sync(user_id="x")


async def test_llm_preference_crosses_instances(redis_server, prefix) -> None:
    server1 = LLMPotoModule(RedisSessionProvider(redis_server.url, prefix=prefix))
    server2 = LLMPotoModule(RedisSessionProvider(redis_server.url, prefix=prefix), default_model="gpt-x")
    assert await server2.get_user_model(user_id="erin") == "gpt-x"
    await server1.update_user_model("llm2", user_id="erin")
    assert await server2.get_user_model(user_id="erin") == "llm2"


async def test_global_provider() -> None:
    store = InMemorySessionProvider()
    PotoModule.set_session_provider(store)
    await PotoModule().set_session_value("k", 1, user_id="glob")
    assert await store.has_session("glob")


@pytest.mark.parametrize("store", [DictStore, AsyncDictStore])
async def test_custom_provider_under_module_api(store) -> None:
    module = LLMPotoModule(store())
    await module.update_user_model("llm3", user_id="fay")
    assert await module.get_user_model(user_id="fay") == "llm3"
    await asyncio.gather(*(module.update_user_session(lambda s: s.update(n=s.get("n", 0) + 1), user_id="fay") for _ in range(16)))
    assert (await module.get_user_session(user_id="fay"))["n"] == 16


async def test_custom_provider_errors_are_provider_errors() -> None:
    module = PotoModule(DictStore(fail=True))
    with pytest.raises(ProviderError, match="database is down") as info:
        await module.get_user_session(user_id="gus")
    assert info.value.code == "POTO_PROVIDER"

    class Incomplete:
        def get_session(self, user_id: str) -> None:
            return None

    with pytest.raises(ValueError, match="lacks"):
        PotoModule(Incomplete())


async def test_callbacks_see_the_current_user_of_their_own_request() -> None:
    """Update functions, default factories and async custom providers run in the context of
    the call that made them, never in another request's (contextvars are per request)."""
    seen: list[tuple[str, str | None, str | None]] = []

    class Tracked(PotoModule):
        def create_default_session_data(self, user_id: str) -> dict[str, object]:
            return {**super().create_default_session_data(user_id), "factoryUser": current_user()}

    module = Tracked(InMemorySessionProvider())

    async def request(user: str, delay: float) -> None:
        with user_context(user):
            await asyncio.sleep(delay)
            session = await module.get_user_session()

            def bump(s: dict[str, object]) -> None:
                seen.append((user, current_user(), str(session["factoryUser"])))

            await module.update_user_session(bump)

    await asyncio.gather(*(request(u, i * 0.01) for i, u in enumerate(["alice", "bob", "carol"])))
    assert sorted(seen) == [(u, u, u) for u in ["alice", "bob", "carol"]]

    class AsyncProvider(AsyncDictStore):
        async def get_session(self, user_id: str) -> dict[str, object] | None:
            seen.append((user_id, current_user(), None))
            return await super().get_session(user_id)

    provider = SessionProvider.wrap(AsyncProvider())
    seen.clear()
    with user_context("alice"):
        await provider.get_session("alice")
    with user_context("bob"):
        # A blocking call from a worker thread, while the loop runs: the caller's context.
        await asyncio.to_thread(provider.get_session_sync, "bob")
    assert seen == [("alice", "alice", None), ("bob", "bob", None)]


@pytest.mark.parametrize("store", ["memory", "redis"])
async def test_reads_touch_lazily(store, redis_server, prefix) -> None:
    """A read of a fresh session writes nothing; ``touch_after=0`` touches on every read."""
    provider = InMemorySessionProvider() if store == "memory" else RedisSessionProvider(redis_server.url, prefix=prefix)
    lazy, eager = PotoModule(provider), PotoModule(provider, touch_after=0)
    first = await lazy.get_user_session(user_id="reader")
    await asyncio.sleep(0.005)
    assert await lazy.get_user_session(user_id="reader") == first
    assert (await provider.get_session("reader"))["lastActivity"] == first["lastActivity"]
    await asyncio.sleep(0.005)
    await eager.get_user_session(user_id="reader")
    assert (await provider.get_session("reader"))["lastActivity"] != first["lastActivity"]
