"""DESIGN §2 value rules and the bad-input battery: rejected values write nothing."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from poto_sessions import (
    CorruptDataError,
    InMemorySessionProvider,
    InvalidArgumentError,
    LLMPotoModule,
    PotoModule,
    RedisSessionProvider,
    SessionTooLargeError,
)


@pytest.fixture
def store() -> InMemorySessionProvider:
    return InMemorySessionProvider()


async def test_exact_round_trip(redis_server, prefix) -> None:
    p = RedisSessionProvider(redis_server.url, prefix=prefix)
    data = {"max": 2**63 - 1, "umax": 2**64 - 1, "min": -(2**63), "f": 0.1, "big": 1e300, "list": [], "map": {}, "t": (1, 2), "u": "é🙂", "none": None}
    await p.set_session("v", data)
    got = await p.get_session("v")
    assert got is not None
    for key in ["max", "umax", "min", "f", "big", "list", "map", "u", "none"]:
        assert got[key] == data[key] and type(got[key]) is type(data[key])
    assert got["t"] == [1, 2]


@pytest.mark.parametrize(
    "bad",
    [
        {"x": math.nan},
        {"x": math.inf},
        {"x": 2**64},
        {"x": -(2**63) - 1},
        {"x": {1, 2}},
        {"x": b"bytes"},
        {"x": object()},
        {1: "non-str key"},
        {"nested": {"deep": [{"x": float("-inf")}]}},
    ],
)
async def test_rejected_values_write_nothing(store, bad) -> None:
    with pytest.raises(InvalidArgumentError):
        await store.set_session("u", bad)
    key, value = next(iter(bad.items()))
    if isinstance(key, str):
        with pytest.raises(InvalidArgumentError):
            await PotoModule(store).set_session_value("k", value, user_id="u")
    else:
        with pytest.raises(InvalidArgumentError):
            await PotoModule(store).set_session_value("k", bad, user_id="u")
    assert await store.count() == 0


async def test_cycles_and_non_dicts(store) -> None:
    cyclic: dict = {}
    cyclic["self"] = cyclic
    with pytest.raises(InvalidArgumentError):
        await store.set_session("u", cyclic)
    for not_a_dict in [[1, 2], "text", 3, None]:
        with pytest.raises(InvalidArgumentError):
            await store.set_session("u", not_a_dict)
    module = PotoModule(store)
    with pytest.raises(InvalidArgumentError):
        await module.update_user_session(lambda s: [1, 2], user_id="u2")
    assert await store.count() == 0


async def test_bad_ids(store) -> None:
    for bad in ["", "a\0b"]:
        with pytest.raises(InvalidArgumentError):
            await store.set_session(bad, {})
        with pytest.raises(InvalidArgumentError):
            await PotoModule(store).get_user_session(user_id=bad)
    with pytest.raises(SessionTooLargeError):
        await store.set_session("x" * 513, {})
    assert await store.count() == 0
    await store.set_session("*?[]:{}", {"ok": True})
    assert await store.get_active_sessions() == ["*?[]:{}"]


async def test_non_str_ids_keys_and_models_are_invalid_arguments(store) -> None:
    """Not pyo3's TypeError: the same InvalidArgumentError (a ValueError) as every bad input."""
    module = LLMPotoModule(store)
    for bad in [1, None, b"bytes", ["a"], "\ud800"]:  # the last: a lone surrogate, not valid Unicode
        with pytest.raises(InvalidArgumentError):
            await store.set_session(bad, {})  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            store.get_session_sync(bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            await module.set_session_value(bad, 1, user_id="u")  # type: ignore[arg-type]
        with pytest.raises(InvalidArgumentError):
            await module.update_user_model(bad, user_id="u")  # type: ignore[arg-type]
        if bad is not None:  # user_id=None means the current user
            with pytest.raises(InvalidArgumentError):
                module.get_user_session_sync(user_id=bad)  # type: ignore[arg-type]
    assert await store.count() == 0


async def test_errors_are_typed_and_standard(store) -> None:
    with pytest.raises(ValueError):
        await store.set_session("u", {"userId": "mallory"})
    with pytest.raises(SessionTooLargeError):
        await store.set_session("u", {"blob": "z" * (1024 * 1024 + 1)})


async def test_ttl_accepts_seconds_and_timedelta(store) -> None:
    await store.set_session("a", {}, ttl=0.05)
    await store.set_session("b", {}, ttl=timedelta(hours=1))
    import asyncio

    await asyncio.sleep(0.15)
    assert await store.get_active_sessions() == ["b"]
    with pytest.raises(InvalidArgumentError):
        await store.set_session("c", {}, ttl=-1)
    with pytest.raises(InvalidArgumentError):
        InMemorySessionProvider(ttl=0)


async def test_corrupt_data_names_the_user(redis_server, prefix) -> None:
    p = RedisSessionProvider(redis_server.url, prefix=prefix)
    await p.set_session("eve", {"ok": 1})
    key = redis_server.cli("--raw", "KEYS", f"{prefix}*:s:eve").splitlines()[0]
    stored = redis_server.cli("--raw", "GET", key).rstrip("\n")
    redis_server.cli("SET", key, stored.replace('"ok":1', '"ok":{not json'))
    with pytest.raises(CorruptDataError, match="eve"):
        await p.get_session("eve")


def test_repr_hides_password() -> None:
    p = RedisSessionProvider("redis://:hunter2@127.0.0.1:1/0")
    assert "hunter2" not in repr(p)


def nested(levels: int) -> dict:
    """A session `levels` deep, counting the session object (`{"a": 1}` is 1 deep)."""
    value: object = 1
    for _ in range(levels):
        value = {"a": value}
    assert isinstance(value, dict)
    return value


@pytest.mark.parametrize("kind", ["memory", "redis"])
async def test_depth_is_counted_as_the_core_counts_it(kind, redis_server, prefix) -> None:
    """100 levels (core's MAX_DEPTH, the session object being level 1) on every write path, and
    read back by every later call; one more is refused and writes nothing."""
    store = InMemorySessionProvider() if kind == "memory" else RedisSessionProvider(redis_server.url, prefix=prefix)
    module = PotoModule(store)
    await store.set_session("u", nested(100))
    await module.set_session_value("k", nested(99), user_id="v")
    await module.update_user_session(lambda s: {**s, "deep": nested(99)}, user_id="w")
    for user_id in ["u", "v", "w"]:
        await module.update_user_session(lambda s: s.update(n=1), user_id=user_id)
        assert (await module.get_user_session(user_id=user_id))["n"] == 1
    for too_deep in [101, 200, 1000]:
        with pytest.raises(InvalidArgumentError, match="deeper than 100"):
            await store.set_session("x", nested(too_deep))
        with pytest.raises(InvalidArgumentError, match="deeper than 100"):
            await module.set_session_value("k", nested(too_deep - 1), user_id="x")
        with pytest.raises(InvalidArgumentError, match="deeper than 100"):
            await module.update_user_session(lambda s: {**s, "deep": nested(too_deep - 1)}, user_id="x")
    assert not await store.has_session("x")
