"""Four server processes, one per language (C, Python, Node, Rust), sharing one Redis, then a
local 3-master Redis Cluster. Each runs `bench PREFIX SECONDS IN_FLIGHT`: a mix of
get_user_session, set_session_value and update_user_session (one third each) over 1000 users that
all four share, with IN_FLIGHT calls in flight (C: threads on the blocking API; Python: asyncio
tasks; Node: promises; Rust: tokio tasks on one thread), and prints its ops and latency
percentiles as JSON. This prints ops/s, p50 and p99 per language and the total.

    python3 benches/cross_language/bench.py [--seconds 5] [--in-flight 16] [--setups 1,3] [--debug]
                                          [--languages C,Python,Node,Rust] [--appendfsync always]

Redis runs without persistence unless --appendfsync (always, everysec, no) turns the AOF on, to
measure what durability costs (docs/operations.md). Release builds by default (C library and Rust worker, a release wheel in
target/python-bench-venv, the Node addon rebuilt in release); --debug uses what the test command
built. Exits 1 if a worker fails or reports an error. `smoke()` is the short run of
tests/cross_language/run.py. The workers and their harness are the cross-language test's
(tests/cross_language/), the Redis launcher tests/support/redis_servers.py.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "cross_language"))
from harness import ROOT, TARGET, workers  # noqa: E402  (it puts tests/support on sys.path)
from redis_servers import EPHEMERAL, start_redis  # noqa: E402

SETUPS = {1: "one redis-server", 3: "a 3-master Redis Cluster"}
OPS = ["get_user_session", "set_session_value", "update_user_session"]


def build_release() -> None:
    """The release Python wheel (in its own venv) and Node addon; bench.workers builds the rest."""
    venv = TARGET / "python-bench-venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["maturin>=1.7,<2"], check=True)
    wheels = TARGET / "wheels-release"
    shutil.rmtree(wheels, ignore_errors=True)
    subprocess.run([str(venv / "bin" / "maturin"), "build", "--release", "--quiet", "-o", str(wheels)], cwd=ROOT / "bindings" / "python", check=True)
    subprocess.run(pip + ["--force-reinstall", "--no-deps", *map(str, wheels.glob("poto_sessions-*.whl"))], check=True)
    subprocess.run(["node", "scripts/build.js", "--release"], cwd=ROOT / "bindings" / "node", check=True, stdout=subprocess.DEVNULL)


def cpu_ticks(pids: list[int]) -> tuple[int, int]:
    """(busy ticks of the whole machine, ticks of `pids`), from /proc."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    mine = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            mine += int(stat[11]) + int(stat[12])  # utime, stime
        except (FileNotFoundError, IndexError):
            pass
    return busy, mine


def run(cmd: dict[str, list[str]], url: str, seconds: float, in_flight: int, redis_pids: list[int]) -> dict:
    """Every language at once on `url`; their JSON reports, plus CPU use in cores."""
    env = {**os.environ, "REDIS_URL": url, "POTO_PREFIX": "bench:", "POTO_BENCH_WAIT": "1"}
    procs = {
        lang: subprocess.Popen(cmd[lang] + ["bench", "user-", str(seconds), str(in_flight)], env=env, text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for lang in cmd
    }
    try:
        for lang, proc in procs.items():
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"{lang} worker did not start: {line} {proc.stderr.read() if proc.stderr else ''}")
        worker_pids = [p.pid for p in procs.values()]
        hz = os.sysconf("SC_CLK_TCK")
        busy0, redis0 = cpu_ticks(redis_pids)
        _, workers0 = cpu_ticks(worker_pids)
        started = time.monotonic()
        for proc in procs.values():
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        time.sleep(seconds * 0.95)  # sample CPU while all still run
        busy1, redis1 = cpu_ticks(redis_pids)
        _, workers1 = cpu_ticks(worker_pids)
        elapsed = time.monotonic() - started
        reports = {}
        for lang, proc in procs.items():
            out, err = proc.communicate(timeout=seconds + 120)
            if proc.returncode != 0:
                raise RuntimeError(f"{lang} worker failed: {err.strip()[-500:]}")
            reports[lang] = json.loads(out.strip().splitlines()[-1])
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    cores = lambda ticks: ticks / hz / elapsed  # noqa: E731
    workers_cpu, redis_cpu = cores(workers1 - workers0), cores(redis1 - redis0)
    return {"workers": reports, "cpu": {"workers": workers_cpu, "redis": redis_cpu,
                                        "other": max(0.0, cores(busy1 - busy0) - workers_cpu - redis_cpu)}}


def table(setup: str, result: dict) -> str:
    rows = [f"{'language':<10} {'ops/s':>9} {'p50 ms':>8} {'p99 ms':>8}   " + "   ".join(f"{op} p50/p99 ms" for op in OPS)]
    total = 0.0
    for lang, report in result["workers"].items():
        rate = report["ops"] / report["seconds"]
        total += rate
        ms = lambda stats, key: f"{stats[key] / 1000:.2f}"  # noqa: E731
        per_op = "   ".join(f"{ms(report[op], 'p50_us') + ' / ' + ms(report[op], 'p99_us'):>{len(op) + 12}}" for op in OPS)
        rows.append(f"{lang:<10} {rate:>9,.0f} {ms(report['all'], 'p50_us'):>8} {ms(report['all'], 'p99_us'):>8}   {per_op}")
    rows.append(f"{'total':<10} {total:>9,.0f}")
    cpu = result["cpu"]
    rows.append(f"CPU (cores): workers {cpu['workers']:.2f}, redis {cpu['redis']:.2f}, other {cpu['other']:.2f}")
    return f"{setup}\n" + "\n".join(rows)


def bench(cmd: dict[str, list[str]], masters: int, seconds: float, in_flight: int, settings: Sequence[str] = EPHEMERAL) -> dict:
    with start_redis(masters, settings) as redis:
        return run(cmd, redis.url, seconds, in_flight, redis.pids)


def smoke(cmd: dict[str, list[str]]) -> list[str]:
    """A one-second run of every language on one Redis (run.py): the problems found."""
    result = bench(cmd, 1, 1.0, 4)
    return [f"{lang}: {report['ops']} ops, {report['errors']} errors" for lang, report in result["workers"].items()
            if report["ops"] == 0 or report["errors"] != 0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--in-flight", type=int, default=16, help="calls in flight per process")
    parser.add_argument("--setups", default="1,3", help="masters per setup: 1 (one redis-server), 3 (cluster)")
    parser.add_argument("--debug", action="store_true", help="use the test command's debug builds")
    parser.add_argument("--languages", default="C,Python,Node,Rust", help="which workers run")
    parser.add_argument("--appendfsync", choices=["always", "everysec", "no"], help="turn the AOF on with this fsync policy")
    parser.add_argument("--json", help="also write every report to this file")
    args = parser.parse_args()
    settings = ["--save", "", "--appendonly", "yes", "--appendfsync", args.appendfsync] if args.appendfsync else EPHEMERAL
    if not args.debug:
        build_release()
    build_dir = Path(tempfile.mkdtemp(prefix="poto-xlang-bench-"))
    results, failed = {}, False
    try:
        every = workers(build_dir, release=not args.debug)
        cmd = {lang: every[lang] for lang in args.languages.split(",")}
        aof = f"AOF appendfsync {args.appendfsync}" if args.appendfsync else "no persistence"
        print(f"{len(cmd)} processes, {args.in_flight} calls in flight each, {args.seconds:g} s, 1000 shared users, {aof}, "
              f"{'debug' if args.debug else 'release'} builds; load average before: {os.getloadavg()[0]:.2f}\n")
        for masters in (int(m) for m in args.setups.split(",")):
            result = bench(cmd, masters, args.seconds, args.in_flight, settings)
            results[SETUPS[masters]] = result
            print(table(SETUPS[masters], result) + "\n")
            failed |= any(r["errors"] or not r["ops"] for r in result["workers"].values())
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    if failed:
        print("FAILED: a worker reported errors or no operations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
