"""Custom providers through the core's adapter: the object is checked by name when wrapped, its
results are read strictly (a wrong shape is a ProviderError naming the method), count and stats
are its own where it has them, and every provider has touch."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from poto_sessions import (
    InMemorySessionProvider,
    InvalidArgumentError,
    PotoModule,
    ProviderError,
    RedisSessionProvider,
    SessionProvider,
)

from .stores import AsyncDictStore, DictStore, VersionedDictStore


def test_objects_are_checked_when_wrapped() -> None:
    class Incomplete:
        def get_session(self, user_id: str) -> None:
            return None

    with pytest.raises(InvalidArgumentError, match="lacks set_session, delete_session, has_session"):
        SessionProvider.wrap(Incomplete())

    class Half(DictStore):
        def get_versioned(self, user_id: str) -> Any:
            return None

    with pytest.raises(InvalidArgumentError, match="get_versioned and compare_and_set go together"):
        PotoModule(Half())


@pytest.mark.parametrize("reply", [[1, 2], "text", 3, True, object(), {"n": float("nan")}], ids=repr)
async def test_results_of_the_wrong_shape_are_provider_errors(reply: Any) -> None:
    class Odd(DictStore):
        def get_session(self, user_id: str) -> Any:
            return reply

    with pytest.raises(ProviderError, match="get_session returned"):
        await SessionProvider.wrap(Odd()).get_session("u")


async def test_versioned_results_are_read_as_pairs() -> None:
    class BadPair(VersionedDictStore):
        def get_versioned(self, user_id: str) -> Any:
            return ({"userId": user_id}, "one")

    with pytest.raises(ProviderError, match="get_versioned returned"):
        await PotoModule(BadPair()).update_user_session(lambda s: None, user_id="u")
    for store in [VersionedDictStore(), AsyncDictStore()]:
        module = PotoModule(store)
        await asyncio.gather(*(module.update_user_session(lambda s: s.update(n=s.get("n", 0) + 1), user_id="u") for _ in range(20)))
        assert await module.get_session_value("n", user_id="u") == 20


@pytest.mark.parametrize(
    "stats",
    [
        SimpleNamespace(active_sessions=2, user_ids=["a", "b"]),
        {"activeSessions": 2, "userIds": ["a", "b"]},
        {"active_sessions": 2, "user_ids": ["a", "b"]},
    ],
    ids=["attributes", "camelCase", "snake_case"],
)
async def test_count_and_stats_of_the_object_are_used(stats: Any) -> None:
    class Counted(DictStore):
        def count(self) -> int:
            return 42

        def get_stats(self) -> Any:
            return stats

    provider = SessionProvider.wrap(Counted())
    assert await provider.count() == 42
    got = await provider.get_stats()
    assert (got.active_sessions, got.user_ids) == (2, ["a", "b"])
    # Without them: from get_active_sessions.
    plain = SessionProvider.wrap(DictStore())
    await plain.set_session("x", {})
    assert (await plain.count(), (await plain.get_stats()).user_ids) == (1, ["x"])


@pytest.mark.parametrize("kind", ["memory", "redis", "custom", "async custom"])
async def test_touch_restarts_the_ttl_and_stamps(kind: str, redis_server, prefix) -> None:
    provider = {
        "memory": lambda: InMemorySessionProvider(),
        "redis": lambda: RedisSessionProvider(redis_server.url, prefix=prefix),
        "custom": lambda: SessionProvider.wrap(DictStore()),
        "async custom": lambda: SessionProvider.wrap(AsyncDictStore()),
    }[kind]()
    assert await provider.touch("nobody") is False
    # A TTL a loaded machine cannot outrun before the touch, then a wait past it.
    await provider.set_session("u", {"a": 1}, ttl=1.5)
    before = await provider.get_session("u")
    assert before is not None
    await asyncio.sleep(0.05)
    assert await provider.touch("u", ttl=10) is True
    after = await provider.get_session("u")
    assert after is not None and after["a"] == 1 and after["lastActivity"] > before["lastActivity"]
    assert after["createdAt"] == before["createdAt"]
    await asyncio.sleep(1.6)  # past the first TTL
    assert await provider.has_session("u")
    assert await asyncio.to_thread(provider.touch_sync, "u") is True
    assert await asyncio.to_thread(provider.touch_sync, "nobody") is False
