"""Redis servers (one, a cluster, or one that persists every write) and the four worker
commands, shared by the cross-language test (run.py, outage.py) and the benchmark (bench.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
HERE = Path(__file__).resolve().parent


class Checks:
    """A tally of named checks, printed as `ok - name` / `FAILED - name detail` as they come."""

    def __init__(self, setup: str = "") -> None:
        self.passed = self.failed = 0
        self.suffix = f" ({setup})" if setup else ""

    def __call__(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"ok - {name}{self.suffix}")
        else:
            self.failed += 1
            print(f"FAILED - {name}{self.suffix}\n{detail}" if "\n" in detail else f"FAILED - {name}{self.suffix} {detail}")


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


#: Settings of a throwaway server, and of one that must keep every acknowledged write.
EPHEMERAL = ["--save", "", "--appendonly", "no"]
AOF_ALWAYS = ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]


def spawn_server(node_dir: str, port: int, cluster: bool, settings: list[str]) -> subprocess.Popen[bytes]:
    """A redis-server on `port` with its files in `node_dir`, once it accepts connections."""
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", *settings, "--dir", node_dir]
    if cluster:
        args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
    for _ in range(500):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            return proc
        except OSError:
            time.sleep(0.01)
    proc.kill()
    raise RuntimeError("redis-server did not start")


def start_server(tmp: str, cluster: bool, settings: list[str] = EPHEMERAL) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port(cluster)
    node_dir = os.path.join(tmp, str(port))
    os.makedirs(node_dir)
    return spawn_server(node_dir, port, cluster, settings), port


def start_redis(masters: int, settings: list[str] = EPHEMERAL) -> tuple[list[subprocess.Popen[bytes]], str, str]:
    """One redis-server (masters == 1), or a cluster of `masters` nodes; returns its REDIS_URL."""
    tmp = tempfile.mkdtemp(prefix="poto-xlang-")
    servers = [start_server(tmp, masters > 1, settings) for _ in range(masters)]
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


def workers(build_dir: Path, release: bool = False) -> dict[str, list[str]]:
    """The command of each language's worker: the C library and Rust worker in the debug or
    release profile; Python from the test venv (debug wheel) or the bench venv (release wheel,
    built by bench.py); Node with whichever addon was built last."""
    profile = "release" if release else "debug"
    # The C library and the Rust worker (the crate beside this file, worker.rs), in one build
    # whose features are those of the C library alone, so the library the C tests built (debug)
    # is reused and only the worker is compiled.
    build = ["cargo", "build", "-q", "-p", "poto-sessions-ffi", "-p", "poto-sessions-cross-language"]
    subprocess.run(build + (["--release"] if release else []), cwd=ROOT, check=True)
    lib = TARGET / profile
    c_worker = build_dir / "worker_c"
    subprocess.run(
        ["cc", "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread", f"-I{ROOT / 'include'}", str(HERE / "worker.c"),
         "-o", str(c_worker), f"-L{lib}", "-lpoto_sessions", f"-Wl,-rpath,{lib}"],
        check=True,
    )
    venv = TARGET / ("python-bench-venv" if release else "python-venv")
    return {
        "C": [str(c_worker)],
        "Python": [str(venv / "bin" / "python"), str(HERE / "worker.py")],
        "Node": ["node", str(HERE / "worker.js")],
        "Rust": [str(lib / "cross_language_worker")],
    }
