"""Cross-language consistency (the seed's "Cross-Instance Consistency"): a C host, a Python
server, a Node server and a Rust program, as separate processes on one redis-server, see each
other's writes, and their concurrent atomic updates lose nothing.

Run by scripts/test.sh after the Rust, Python and Node suites (it uses what they built):
    python3 tests/cross_language/run.py
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
HERE = Path(__file__).resolve().parent


def free_port(cluster: bool) -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not cluster:
            return port
        if port > 55000:  # a cluster node also listens on port + 10000 (the cluster bus)
            continue
        try:
            with socket.socket() as bus:
                bus.bind(("127.0.0.1", port + 10000))
            return port
        except OSError:
            continue


def start_server(tmp: str, cluster: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port(cluster)
    node_dir = os.path.join(tmp, str(port))
    os.makedirs(node_dir)
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", node_dir]
    if cluster:
        args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("redis-server did not start")


def start_redis(masters: int) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    """One redis-server (masters == 1), or a cluster of `masters` nodes; returns its REDIS_URL."""
    tmp = tempfile.mkdtemp(prefix="poto-xlang-")
    servers = [start_server(tmp, masters > 1) for _ in range(masters)]
    procs = [proc for proc, _ in servers]
    if masters == 1:
        return procs, f"redis://127.0.0.1:{servers[0][1]}", tmp
    nodes = [f"127.0.0.1:{port}" for _, port in servers]
    subprocess.run(["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
    for _ in range(600):
        infos = [subprocess.run(["redis-cli", "-p", n.split(":")[1], "CLUSTER", "INFO"], capture_output=True, text=True).stdout for n in nodes]
        if all("cluster_state:ok" in info for info in infos):
            return procs, "redis+cluster://" + ",".join(nodes), tmp
        time.sleep(0.05)
    raise RuntimeError("cluster did not become ready")


def workers(build_dir: Path) -> dict[str, list[str]]:
    # The C library and the Rust worker (up to date after the Rust suite: this only links them).
    subprocess.run(["cargo", "build", "-q", "-p", "poto-sessions-ffi", "-p", "poto-sessions", "--example", "cross_language_worker"], cwd=ROOT, check=True)
    lib = TARGET / "debug"
    c_worker = build_dir / "worker_c"
    subprocess.run(
        ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", f"-I{ROOT / 'include'}", str(HERE / "worker.c"), "-o", str(c_worker),
         f"-L{lib}", "-lpoto_sessions", f"-Wl,-rpath,{lib}"],
        check=True,
    )
    return {
        "C": [str(c_worker)],
        "Python": [str(TARGET / "python-venv" / "bin" / "python"), str(HERE / "worker.py")],
        "Node": ["node", str(HERE / "worker.js")],
        "Rust": [str(TARGET / "debug" / "examples" / "cross_language_worker")],
    }


def main() -> int:
    build_dir = Path(tempfile.mkdtemp(prefix="poto-xlang-build-"))
    passed = failed = 0
    try:
        cmd = workers(build_dir)
        # The same checks on one Redis, then on a 3-master cluster selected by REDIS_URL alone.
        for masters, setup in [(1, "one redis-server"), (3, "a 3-master Redis Cluster")]:
            p, f = scenario(cmd, masters, setup)
            passed, failed = passed + p, failed + f
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    print(f"cross-language: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def scenario(cmd: dict[str, list[str]], masters: int, setup: str) -> tuple[int, int]:
    procs, url, tmp = start_redis(masters)
    env = {**os.environ, "REDIS_URL": url, "POTO_PREFIX": "xlang:"}
    passed = failed = 0
    print(f"# {setup}: {url}")

    def run(lang: str, *args: str) -> str:
        out = subprocess.run(cmd[lang] + list(args), env=env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{lang} {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def check(name: str, ok: bool, detail: str = "") -> None:
        nonlocal passed, failed
        if ok:
            passed += 1
            print(f"ok - {name} ({setup})")
        else:
            failed += 1
            print(f"FAILED - {name} ({setup}) {detail}")

    try:
        langs = list(cmd)
        # A model set through each language is read by every other one.
        for writer in langs:
            model = f"model-from-{writer.lower()}"
            run(writer, "set-model", "alice", model)
            for reader in langs:
                got = run(reader, "get-model", "alice")
                check(f"model set in {writer} is read in {reader}", got == model, f"got {got!r}")
        # A custom field written by each language is read by every other one, JSON intact.
        for writer in langs:
            value = {"by": writer, "n": 2**53 + 1 if writer != "Node" else 7, "list": [], "nested": {"ü": [1.5, None]}}
            run(writer, "set-value", "bob", "custom", json.dumps(value))
            for reader in langs:
                got = json.loads(run(reader, "get-value", "bob", "custom"))
                # JavaScript numbers are doubles: Node reads 2^53 + 1 as 2^53, as JSON.parse does.
                expected = {**value, "n": int(float(value["n"]))} if reader == "Node" else value
                check(f"field written in {writer} is read in {reader}", got == expected, f"got {got!r}")
        # All four increment one counter at once: every update succeeds, the total is exact.
        each = 25
        with ThreadPoolExecutor(len(langs)) as pool:
            list(pool.map(lambda lang: run(lang, "increment", "counter", str(each)), langs))
        total = json.loads(run("Python", "get-value", "counter", "n"))
        check(f"{len(langs)} languages x {each} concurrent updates", total == len(langs) * each, f"counter is {total}")
        # 20 concurrent field writes spread over the four processes all survive.
        jobs = [(langs[i % len(langs)], i) for i in range(20)]
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda job: run(job[0], "set-value", "fields", f"k{job[1]}", str(job[1])), jobs))
        values = [json.loads(run(langs[i % len(langs)], "get-value", "fields", f"k{i}")) for i in range(20)]
        check("20 concurrent field writes over four processes", values == list(range(20)), f"got {values}")
    except Exception as error:  # a worker that fails is a failed check, with its message
        check("workers ran", False, str(error))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return passed, failed


if __name__ == "__main__":
    sys.exit(main())
