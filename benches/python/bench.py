"""poto-sessions from asyncio beside what a Python user would use instead: redis-py's asyncio
client with hiredis (GET + json.loads, SET + json.dumps, a WATCH/MULTI update), a no-op await
(the event loop's own cost) and a dict; then the blocking forms one call at a time beside
redis-py's blocking client doing the same. 64 operations in flight, ~500-byte sessions, one
private redis-server for everything. The Redis rows run in interleaved rounds (ours, then
redis-py, each round): each ratio is the median of the per-round ratios, so load from other
processes hits both sides alike. CPU per operation is split by side: the client's Python
thread(s), its runtime threads (`poto-sessions`), and redis-server (`INFO cpu`).

    python benches/python/bench.py [--seconds 2] [--rounds 5]
    (scripts/bench-python.sh builds a release wheel first)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List

import redis
import redis.asyncio as aioredis
import redis.utils
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


def thread_cpu() -> Dict[str, float]:
    """CPU seconds of this process's threads (schedstat: nanoseconds), summed by thread name."""
    by_name: Dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            name = Path(f"/proc/self/task/{tid}/comm").read_text().strip()
            ns = int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[0])
        except OSError:
            continue  # the thread ended
        by_name[name] = by_name.get(name, 0.0) + ns / 1e9
    return by_name


class Meter:
    """CPU seconds of the client's Python threads, its runtime threads and redis-server."""

    def __init__(self, admin: "redis.Redis[bytes]") -> None:
        self.admin = admin

    def read(self) -> Dict[str, float]:
        threads = thread_cpu()
        runtime = sum(v for k, v in threads.items() if k.startswith("poto-sessions"))
        info = self.admin.info("cpu")
        return {
            "python": sum(threads.values()) - runtime,
            "runtime": runtime,
            "redis": float(info["used_cpu_user"]) + float(info["used_cpu_sys"]),
        }


def cpu_text(row: Dict[str, Any]) -> str:
    return "   cpu µs/op " + " ".join(f"{k} {v:5.1f}" for k, v in row["cpu"].items() if v >= 0.05)


async def measure(name: str, op: Callable[[int], Awaitable[Any]], seconds: float, meter: "Meter | None" = None) -> Dict[str, Any]:
    latencies: List[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(w: int) -> None:
        i = w
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            await op(i)
            latencies.append(time.perf_counter() - t0)
            i += IN_FLIGHT

    before = meter.read() if meter else {}
    start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    return report(name, latencies, elapsed, meter, before)


def report(name: str, latencies: List[float], elapsed: float, meter: "Meter | None", before: Dict[str, float]) -> Dict[str, Any]:
    after = meter.read() if meter else {}
    latencies.sort()
    row = {
        "name": name,
        "ops": len(latencies) / elapsed,
        "p50": latencies[len(latencies) // 2] * 1e6,
        "p99": latencies[int(len(latencies) * 0.99)] * 1e6,
        "cpu": {k: (after[k] - before[k]) / len(latencies) * 1e6 for k in after},
    }
    print(f"{name:<44} {row['ops']:>10.0f} ops/s   p50 {row['p50']:>8.0f} µs   p99 {row['p99']:>8.0f} µs"
          + (cpu_text(row) if meter else ""), flush=True)
    return row


def measure_sync(name: str, op: Callable[[int], Any], seconds: float, meter: Meter) -> Dict[str, Any]:
    """One blocking call at a time on this thread."""
    latencies: List[float] = []
    before = meter.read()
    start = time.perf_counter()
    deadline = start + seconds
    i = 0
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        op(i)
        latencies.append(time.perf_counter() - t0)
        i += 1
    return report(name, latencies, time.perf_counter() - start, meter, before)


def summary(what: str, pairs: List[tuple], target: float) -> None:
    """Median of the per-round ratios of ops/s, and of client CPU per op (redis-py's / ours)."""
    ops = statistics.median(p["ops"] / r["ops"] for p, r in pairs)
    client = lambda row: row["cpu"]["python"] + row["cpu"]["runtime"]  # noqa: E731
    cpu = statistics.median(client(r) / client(p) for p, r in pairs)
    verdict = "met" if ops >= target else "missed"
    print(f"{what:<28} {ops:5.2f}x redis-py ops/s (target {target:g}x: {verdict}); "
          f"client CPU per op {cpu:.2f}x less; rounds: " + ", ".join(f"{p['ops'] / r['ops']:.2f}" for p, r in pairs))


async def main(seconds: float, rounds: int) -> None:
    if not redis.utils.HIREDIS_AVAILABLE:
        raise SystemExit("install hiredis: the comparison is with redis-py as deployed, on hiredis")
    server = RedisServer()
    url = server.url
    try:
        admin = redis.Redis.from_url(url)
        meter = Meter(admin)
        print(f"asyncio, {IN_FLIGHT} in flight, ~500-byte sessions, {seconds:g} s per row, {rounds} rounds; "
              f"redis-py {redis.__version__} with hiredis; load average {os.getloadavg()[0]:.1f}")
        await measure("no-op await (event loop cost)", lambda i: asyncio.sleep(0), seconds)
        table: Dict[str, Any] = {}

        async def dict_get(i: int) -> Any:
            return table.get(f"user-{i % USERS}")

        async def dict_set(i: int) -> None:
            table[f"user-{i % USERS}"] = dict(SESSION)

        await measure("dict set (async wrapper)", dict_set, seconds)
        await measure("dict get (async wrapper)", dict_get, seconds)

        memory = InMemorySessionProvider()
        await measure("poto InMemory set_session", lambda i: memory.set_session(f"user-{i % USERS}", SESSION), seconds, meter)
        await measure("poto InMemory get_session", lambda i: memory.get_session(f"user-{i % USERS}"), seconds, meter)

        client = aioredis.Redis.from_url(url, max_connections=IN_FLIGHT)
        provider = RedisSessionProvider(url, prefix="bench:")

        async def rp_get(i: int) -> Any:
            raw = await client.get(f"rp:{i % USERS}")
            return json.loads(raw) if raw else None

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

        modules = [PotoModule(RedisSessionProvider(url, prefix="bench-cas:")) for _ in range(2)]
        done = 0

        def bump(session: Dict[str, Any]) -> None:
            session["n"] = session.get("n", 0) + 1

        async def poto_update(i: int) -> None:
            nonlocal done
            await modules[i % 2].update_user_session(bump, user_id=f"hot-{random.randrange(HOT_KEYS)}")
            done += 1

        sets: List[tuple] = []
        gets: List[tuple] = []
        updates: List[tuple] = []
        for r in range(rounds):
            print(f"-- round {r + 1}, load average {os.getloadavg()[0]:.1f}")
            ours = await measure("poto Redis set_session", lambda i: provider.set_session(f"user-{i % USERS}", SESSION), seconds, meter)
            theirs = await measure("redis-py SET json.dumps", lambda i: client.set(f"rp:{i % USERS}", json.dumps(SESSION), ex=86400), seconds, meter)
            sets.append((ours, theirs))
            ours = await measure("poto Redis get_session", lambda i: provider.get_session(f"user-{i % USERS}"), seconds, meter)
            theirs = await measure("redis-py GET + json.loads", rp_get, seconds, meter)
            gets.append((ours, theirs))
            ours = await measure(f"poto update_user_session, {HOT_KEYS} hot keys", poto_update, seconds, meter)
            theirs = await measure(f"redis-py WATCH/MULTI update, {HOT_KEYS} hot keys", rp_update, seconds, meter)
            updates.append((ours, theirs))

        rp_total = 0
        for k in range(HOT_KEYS):
            rp_total += json.loads(await client.get(f"hot:{k}"))["n"]
        print(f"  redis-py: {rp_done} updates acknowledged, {rp_total} counted, lost {rp_done - rp_total}")
        total = 0
        for k in range(HOT_KEYS):
            total += await modules[0].get_session_value("n", user_id=f"hot-{k}") or 0
        print(f"  poto: {done} updates acknowledged, {total} counted, lost {done - total}")
        await client.aclose()

        print("blocking forms, one call at a time on a thread without an event loop")
        blocking = redis.Redis.from_url(url)
        sync_sets: List[tuple] = []
        sync_gets: List[tuple] = []

        def rp_get_sync(i: int) -> Any:
            raw = blocking.get(f"rp:{i % USERS}")
            return json.loads(raw) if raw else None

        def blocking_rounds() -> None:
            for r in range(rounds):
                ours = measure_sync("poto Redis set_session_sync", lambda i: provider.set_session_sync(f"user-{i % USERS}", SESSION), seconds, meter)
                theirs = measure_sync("redis-py SET json.dumps (blocking)", lambda i: blocking.set(f"rp:{i % USERS}", json.dumps(SESSION), ex=86400), seconds, meter)
                sync_sets.append((ours, theirs))
                ours = measure_sync("poto Redis get_session_sync", lambda i: provider.get_session_sync(f"user-{i % USERS}"), seconds, meter)
                theirs = measure_sync("redis-py GET + json.loads (blocking)", rp_get_sync, seconds, meter)
                sync_gets.append((ours, theirs))

        await asyncio.to_thread(blocking_rounds)
        blocking.close()

        print("medians of per-round ratios, ours / redis-py:")
        summary("async get", gets, 4)
        summary("async set", sets, 3)
        summary("async update", updates, 6)
        summary("blocking get", sync_gets, 1)
        summary("blocking set", sync_sets, 1)
        for what, pairs in (("blocking get", sync_gets), ("blocking set", sync_sets)):
            extra = statistics.median(
                (p["cpu"]["python"] + p["cpu"]["runtime"]) - (r["cpu"]["python"] + r["cpu"]["runtime"]) for p, r in pairs)
            print(f"{what}: client CPU per call {extra:+.1f} µs beside redis-py")
        admin.close()
    finally:
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    asyncio.run(main(args.seconds, args.rounds))
