"""poto-sessions' web-framework adapters beside what those users run today, on one private
redis-server: Flask (poto_sessions.flask vs Flask-Session's Redis backend), Django
(poto_sessions.django vs the cache session engine on django.core.cache.backends.redis.RedisCache)
and Starlette (poto_sessions.asgi vs starsessions' RedisStore).

Each side runs as the same server with the same worker count (Flask and Django: gunicorn, 1 worker,
gthread with 4 threads; Starlette: uvicorn, 1 worker), the apps of adapter_apps.py. The load comes
from a separate process (this script with --loadgen: asyncio, raw HTTP/1.1 keep-alive, one session
per connection, created by a request before the clock starts). Rounds are interleaved (every
server of a round before the next round); medians of the rounds are printed, and for each pair the
median of its per-round ratios (throughput, p99, and the server's CPU per request): a round's sides
run back to back, so other load on the machine shifts both alike. Redis's CPU per request is
printed too. Plus a store-level microbenchmark: one session get/set through the provider beside
redis-py's GET/SET of the same JSON.

    python benches/python/adapters.py [--rounds 3] [--seconds 5] [--connections 8] [--only flask,django,asgi]

Needs the packages of benches/python/requirements-adapters.txt (pip install -r it, and poto-sessions).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1] / "tests" / "support"))

#: (framework, impl, option, label)
SIDES = [
    ("flask", "poto", "", "poto_sessions.flask"),
    ("flask", "baseline", "", "Flask-Session 0.8 (Redis)"),
    ("flask", "baseline", "norefresh", "Flask-Session, SESSION_REFRESH_EACH_REQUEST=False"),
    ("django", "poto", "", "poto_sessions.django"),
    ("django", "baseline", "", "Django cache sessions (RedisCache)"),
    ("asgi", "poto", "", "poto_sessions.asgi"),
    ("asgi", "baseline", "", "starsessions (RedisStore)"),
]
COOKIE = {"flask": "session", "django": "sessionid", "asgi": "session"}
ROUTES = ["read", "change"]


# -- load generator (a separate process) ---------------------------------------------------------


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, cookie: Optional[str], name: str) -> Tuple[int, Optional[str]]:
    head = f"GET /{path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if cookie:
        head += f"Cookie: {name}={cookie}\r\n"
    writer.write((head + "\r\n").encode())
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    new_cookie = None
    for line in lines[1:]:
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "content-length":
            length = int(value)
        elif key == "transfer-encoding":
            chunked = "chunked" in value.lower()
        elif key == "set-cookie":
            first = value.strip().split(";", 1)[0]
            k, _, v = first.partition("=")
            if k == name:
                new_cookie = v
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status, new_cookie


async def _load(port: int, route: str, name: str, seconds: float, connections: int) -> Dict[str, Any]:
    latencies: List[float] = []
    errors = 0
    ready = asyncio.Event()
    started = 0
    deadline = 0.0

    async def client() -> None:
        nonlocal errors, started, deadline
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        status, cookie = await _request(reader, writer, "change", None, name)  # the session, before the clock
        assert status == 200 and cookie, f"no session cookie from port {port}"
        started += 1
        if started == connections:
            deadline = time.perf_counter() + seconds
            ready.set()
        await ready.wait()
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            status, new = await _request(reader, writer, route, cookie, name)
            latencies.append(time.perf_counter() - t0)
            if status != 200:
                errors += 1
            if new:
                cookie = new
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.perf_counter() - (deadline - seconds)
    del t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        "errors": errors,
    }


def loadgen(argv: List[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int)
    parser.add_argument("--route")
    parser.add_argument("--cookie")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--connections", type=int)
    a = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_load(a.port, a.route, a.cookie, a.seconds, a.connections))))


# -- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(framework: str, impl: str, option: str, redis_url: str) -> Tuple[subprocess.Popen, int]:  # type: ignore[type-arg]
    port = free_port()
    env = {**os.environ, "BENCH_FRAMEWORK": framework, "BENCH_IMPL": impl, "BENCH_OPTION": option, "BENCH_REDIS_URL": redis_url}
    bindir = Path(sys.executable).parent
    if framework == "asgi":
        cmd = [sys.executable, "-m", "uvicorn", "adapter_apps:app", "--app-dir", str(HERE), "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--no-access-log", "--log-level", "warning"]
    else:
        cmd = [str(bindir / "gunicorn"), "--chdir", str(HERE), "-w", "1", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
               "--log-level", "warning", "adapter_apps:app"]
    server = subprocess.Popen(cmd, env=env)
    try:
        return server, wait_ready(server, port, f"{framework}/{impl}")
    except BaseException:
        stop_server(server)
        raise


def wait_ready(server: subprocess.Popen, port: int, name: str) -> int:  # type: ignore[type-arg]
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/read", timeout=2) as r:
                if r.status == 200:
                    return port
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{name} server did not start")
        time.sleep(0.1)


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (all threads), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def redis_cpu_seconds(redis_server: Any) -> float:
    info = dict(line.split(":", 1) for line in redis_server.cli("INFO", "cpu").splitlines() if ":" in line)
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def stop_server(server: subprocess.Popen) -> None:  # type: ignore[type-arg]
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def run_load(port: int, route: str, cookie: str, seconds: float, connections: int) -> Dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--loadgen", "--port", str(port), "--route", route, "--cookie", cookie, "--seconds", str(seconds),
         "--connections", str(connections)],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"load generator failed: {out.stderr}")
    return json.loads(out.stdout)


# -- store-level microbenchmark --------------------------------------------------------------------


def micro(redis_url: str, rounds: int) -> None:
    import redis

    from adapter_apps import PROFILE  # type: ignore[import-not-found]
    from poto_sessions import RedisSessionProvider
    from poto_sessions._web import SessionBackend

    backend = SessionBackend(RedisSessionProvider(redis_url, prefix="bench-micro:"))
    client = redis.Redis.from_url(redis_url)
    sess = dict(PROFILE, n=1)
    backend.save_sync("micro", sess, 3600.0)
    client.set("bench-micro-raw", json.dumps(sess), ex=3600)
    rows = {
        "poto load (get_session)": lambda: backend.load_sync("micro"),
        "poto save (set_session)": lambda: backend.save_sync("micro", sess, 3600.0),
        "poto touch": lambda: backend.touch_sync("micro", 3600.0),
        "redis-py GET + json.loads": lambda: json.loads(client.get("bench-micro-raw")),  # type: ignore[arg-type]
        "redis-py SET EX + json.dumps": lambda: client.set("bench-micro-raw", json.dumps(sess), ex=3600),
    }
    results: Dict[str, List[Tuple[float, float]]] = {k: [] for k in rows}
    for _ in range(rounds):
        for name, op in rows.items():
            for _ in range(200):
                op()
            n = 3000
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(n):
                op()
            results[name].append(((time.perf_counter() - wall) / n * 1e6, (time.process_time() - cpu) / n * 1e6))
    print("\nStore level, one blocking call at a time (medians; µs per op, wall and client CPU):")
    for name, values in results.items():
        print(f"  {name:32} {statistics.median(v[0] for v in values):7.1f} wall  {statistics.median(v[1] for v in values):7.1f} CPU")


# -- main ----------------------------------------------------------------------------------------


def main() -> None:
    if "--loadgen" in sys.argv:
        loadgen([a for a in sys.argv[1:] if a != "--loadgen"])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", default="flask,django,asgi")
    parser.add_argument("--no-micro", action="store_true")
    args = parser.parse_args()
    # SIGTERM stops the servers and redis-server this run started, as Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    sides = [s for s in SIDES if s[0] in only]

    from redis_servers import start_redis  # type: ignore[import-not-found]

    sys.path.insert(0, str(HERE))
    results: Dict[Tuple[str, str, str, str], List[Dict[str, Any]]] = {}
    with start_redis() as redis_server:
        url = redis_server.url
        for round_no in range(args.rounds):
            for framework, impl, option, label in sides:
                server, port = start_server(framework, impl, option, url)
                try:
                    run_load(port, "read", COOKIE[framework], 1.0, args.connections)  # warm-up
                    for route in ROUTES:
                        cpu, redis_cpu = tree_cpu_seconds(server.pid), redis_cpu_seconds(redis_server)
                        r = run_load(port, route, COOKIE[framework], args.seconds, args.connections)
                        r["server_us"] = (tree_cpu_seconds(server.pid) - cpu) / r["requests"] * 1e6
                        r["redis_us"] = (redis_cpu_seconds(redis_server) - redis_cpu) / r["requests"] * 1e6
                        results.setdefault((framework, impl, option, route), []).append(r)
                        print(f"round {round_no + 1} {label:52} {route:6} {r['rps']:8.0f} req/s  p99 {r['p99_ms']:6.2f} ms  server CPU {r['server_us']:5.0f} µs/req  Redis CPU {r['redis_us']:4.1f} µs/req  errors {r['errors']}", flush=True)
                finally:
                    stop_server(server)
        if not args.no_micro:
            micro(url, args.rounds)

    print(f"\nMedians of {args.rounds} interleaved rounds, {args.seconds:g} s each, {args.connections} connections, one session each")
    print("(server CPU: the server process with its threads, µs per request; Redis CPU: redis-server's, µs per request):")
    print(f"  {'side':52} {'route':6} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'srv µs':>7} {'redis µs':>8}")
    for framework, impl, option, label in sides:
        for route in ROUTES:
            runs = results[(framework, impl, option, route)]
            print(f"  {label:52} {route:6} {statistics.median(r['rps'] for r in runs):8.0f} {statistics.median(r['p50_ms'] for r in runs):7.2f}"
                  f" {statistics.median(r['p99_ms'] for r in runs):7.2f} {statistics.median(r['server_us'] for r in runs):7.0f}"
                  f" {statistics.median(r['redis_us'] for r in runs):8.1f}")
    print("\npoto-sessions against each baseline: medians of the per-round ratios (sides of one round ran back to back;")
    print("above 1.00x is better for poto-sessions: more req/s, lower p99, less server CPU per request):")
    for framework, impl, option, label in sides:
        if impl != "poto":
            continue
        for f2, i2, o2, l2 in sides:
            if f2 != framework or i2 != "baseline":
                continue
            for route in ROUTES:
                mine, base = results[(framework, impl, option, route)], results[(f2, i2, o2, route)]
                rps = [m["rps"] / b["rps"] for m, b in zip(mine, base)]
                p99 = [b["p99_ms"] / m["p99_ms"] for m, b in zip(mine, base)]
                cpu = [b["server_us"] / m["server_us"] for m, b in zip(mine, base)]
                print(f"  {label} vs {l2}, {route}: req/s {statistics.median(rps):.2f}x (rounds {min(rps):.2f}-{max(rps):.2f}),"
                      f" p99 {statistics.median(p99):.2f}x, server CPU {statistics.median(cpu):.2f}x")


if __name__ == "__main__":
    main()
