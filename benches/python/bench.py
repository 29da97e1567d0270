"""poto-sessions from asyncio beside what a Python user would use instead: redis-py's asyncio
client (JSON GET/SET, WATCH/MULTI update), a no-op await (the event loop's own cost) and a dict.
64 operations in flight, ~500-byte sessions, one private redis-server for everything.

    python benches/python/bench.py [--seconds 3]   (scripts/bench-python.sh builds a release wheel first)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import redis.asyncio as aioredis
from redis.exceptions import WatchError

import poto_sessions
from poto_sessions import InMemorySessionProvider, PotoModule, RedisSessionProvider

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from redis_servers import RedisServer  # noqa: E402

IN_FLIGHT = 64
USERS = 10_000
HOT_KEYS = 100
SESSION: Dict[str, Any] = {
    "currentModelName": "llm2",
    "systemPrompt": "You are a concise assistant for a chat server; answer briefly and cite sources when asked.",
    "currentConversationId": "c-0c4f2a9e-1b7d-4f7a-9d2e-5a6b7c8d9e0f",
    "theme": "dark",
    "locale": "en-GB",
    "messagesSent": 1234,
    "tokensUsed": 987654,
    "features": ["search", "code", "images"],
    "limits": {"daily": 500, "burst": 20},
    "lastPrompt": "Summarise the meeting notes from Tuesday and list the action items with owners.",
}


async def measure(name: str, op: Callable[[int], Awaitable[Any]], seconds: float) -> Dict[str, Any]:
    latencies: List[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        i = w
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)
            i += IN_FLIGHT

    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    row = {
        "name": name,
        "ops": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1e6,
        "p99": latencies[int(len(latencies) * 0.99)] * 1e6,
    }
    print(f"{name:<44} {row['ops']:>10.0f} ops/s   p50 {row['p50']:>8.0f} µs   p99 {row['p99']:>8.0f} µs", flush=True)
    return row


async def main(seconds: float) -> None:
    server = RedisServer()
    url = server.url
    try:
        print(f"asyncio, {IN_FLIGHT} in flight, ~500-byte sessions, {seconds:g} s per row (poto_sessions {poto_sessions.__name__})")
        await measure("no-op await (event loop cost)", lambda i: asyncio.sleep(0), seconds)
        table: Dict[str, Any] = {}

        async def dict_get(i: int) -> Any:
            return table.get(f"user-{i % USERS}")

        async def dict_set(i: int) -> None:
            table[f"user-{i % USERS}"] = dict(SESSION)

        await measure("dict set (async wrapper)", dict_set, seconds)
        await measure("dict get (async wrapper)", dict_get, seconds)

        memory = InMemorySessionProvider()
        await measure("poto InMemory set_session", lambda i: memory.set_session(f"user-{i % USERS}", SESSION), seconds)
        await measure("poto InMemory get_session", lambda i: memory.get_session(f"user-{i % USERS}"), seconds)

        client = aioredis.Redis.from_url(url, max_connections=IN_FLIGHT)
        rp_set_row = await measure("redis-py SET json.dumps", lambda i: client.set(f"rp:{i % USERS}", json.dumps(SESSION), ex=86400), seconds)

        async def rp_get(i: int) -> Any:
            raw = await client.get(f"rp:{i % USERS}")
            return json.loads(raw) if raw else None

        rp_get_row = await measure("redis-py GET + json.loads", rp_get, seconds)

        redis = RedisSessionProvider(url, prefix="bench:")
        poto_set_row = await measure("poto Redis set_session", lambda i: redis.set_session(f"user-{i % USERS}", SESSION), seconds)
        poto_get_row = await measure("poto Redis get_session", lambda i: redis.get_session(f"user-{i % USERS}"), seconds)

        for k in range(HOT_KEYS):
            await client.set(f"hot:{k}", json.dumps({**SESSION, "n": 0}))
        rp_done = 0

        async def rp_update(i: int) -> None:
            nonlocal rp_done
            key = f"hot:{random.randrange(HOT_KEYS)}"
            async with client.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        await pipe.watch(key)
                        data = json.loads(await pipe.get(key))
                        data["n"] += 1
                        pipe.multi()
                        pipe.set(key, json.dumps(data))
                        await pipe.execute()
                        rp_done += 1
                        return
                    except WatchError:
                        continue

        rp_update_row = await measure(f"redis-py WATCH/MULTI update, {HOT_KEYS} hot keys", rp_update, seconds)
        rp_total = 0
        for k in range(HOT_KEYS):
            rp_total += json.loads(await client.get(f"hot:{k}"))["n"]
        print(f"  redis-py: {rp_done} updates acknowledged, {rp_total} counted, lost {rp_done - rp_total}")

        modules = [PotoModule(RedisSessionProvider(url, prefix="bench-cas:")) for _ in range(2)]
        done = 0

        def bump(session: Dict[str, Any]) -> None:
            session["n"] = session.get("n", 0) + 1

        async def poto_update(i: int) -> None:
            nonlocal done
            await modules[i % 2].update_user_session(bump, user_id=f"hot-{random.randrange(HOT_KEYS)}")
            done += 1

        poto_update_row = await measure(f"poto update_user_session, {HOT_KEYS} hot keys", poto_update, seconds)
        total = 0
        for k in range(HOT_KEYS):
            total += await modules[0].get_session_value("n", user_id=f"hot-{k}") or 0
        print(f"  poto: {done} updates acknowledged, {total} counted, lost {done - total}")
        ratio = lambda poto, rp: poto["ops"] / rp["ops"]  # noqa: E731
        print(f"get: {ratio(poto_get_row, rp_get_row):.1f}x redis-py; set: {ratio(poto_set_row, rp_set_row):.1f}x; "
              f"update: {ratio(poto_update_row, rp_update_row):.1f}x (targets: 3x each)")
        await client.aclose()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    asyncio.run(main(parser.parse_args().seconds))
