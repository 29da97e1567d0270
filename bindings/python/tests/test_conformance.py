"""The provider conformance suite from Python: built-ins and Python custom providers."""

from __future__ import annotations

import pytest

from poto_sessions import InMemorySessionProvider, RedisSessionProvider, run_conformance

from .stores import AsyncDictStore, DictStore, VersionedDictStore

MAX = 1024 * 1024


def check(report: dict, skipped: tuple[str, ...] = ()) -> None:
    assert report["ok"], report["failed"]
    assert [s["name"] for s in report["skipped"]] == list(skipped)
    assert len(report["passed"]) + len(skipped) >= 16


def test_memory_provider() -> None:
    check(run_conformance(InMemorySessionProvider(), max_session_bytes=MAX))


def test_redis_provider(redis_server, prefix) -> None:
    a = RedisSessionProvider(redis_server.url, prefix=prefix)
    b = RedisSessionProvider(redis_server.url, prefix=prefix)
    check(run_conformance(a, b, max_session_bytes=MAX))


@pytest.mark.parametrize("store", [DictStore, VersionedDictStore, AsyncDictStore])
def test_python_custom_provider(store) -> None:
    # Without compare-and-set, that check is skipped (reported as such), not passed.
    skipped = ("compare_and_set",) if store is DictStore else ()
    check(run_conformance(store(), max_session_bytes=MAX), skipped)
