"""Safe across os.fork() (gunicorn --preload, multiprocessing): providers used before the fork
keep working in the child, and the parent is unaffected."""

from __future__ import annotations

import asyncio
import multiprocessing
import os

from typing import Any, Dict, Optional

from poto_sessions import InMemorySessionProvider, LLMPotoModule, RedisSessionProvider


async def read(provider: RedisSessionProvider, user_id: str) -> Optional[Dict[str, Any]]:
    return await provider.get_session(user_id)


def child_work(url: str, prefix: str) -> None:
    provider = RedisSessionProvider(url, prefix=prefix)
    LLMPotoModule(provider).update_user_model_sync("from-child", user_id="mp")


def test_fork_child_and_parent(redis_server, prefix) -> None:
    redis = RedisSessionProvider(redis_server.url, prefix=prefix)
    memory = InMemorySessionProvider()
    redis.set_session_sync("parent", {"n": 1})
    memory.set_session_sync("m", {"a": 1})
    asyncio.run(read(redis, "parent"))  # the async machinery is running before the fork too

    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 1
        try:
            redis.set_session_sync("child", {"n": 2})
            parent = redis.get_session_sync("parent")
            ok = parent is not None and parent["n"] == 1 and memory.get_session_sync("m") is not None
            got = asyncio.run(read(redis, "child"))
            code = 0 if ok and got is not None and got["n"] == 2 else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    child = redis.get_session_sync("child")
    assert child is not None and child["n"] == 2
    assert asyncio.run(read(redis, "parent")) is not None
    assert memory.get_session_sync("m") is not None


def test_multiprocessing_fork(redis_server, prefix) -> None:
    RedisSessionProvider(redis_server.url, prefix=prefix).count_sync()  # used before forking
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=child_work, args=(redis_server.url, prefix)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
        assert w.exitcode == 0
    assert LLMPotoModule(RedisSessionProvider(redis_server.url, prefix=prefix)).get_user_model_sync(user_id="mp") == "from-child"
