"""Redis killed under load from all four languages and restarted on the same port and data
directory (AOF with `appendfsync always`). Each worker runs `load USER SECONDS` (field writes
k1, k2, ... printing `ok I EPOCH_MS` or `err I EPOCH_MS CODE` per call) with 500 ms timeouts.
Checks: no worker crashes or hangs; while Redis is down calls fail only with POTO_UNAVAILABLE or
POTO_OUTCOME_UNKNOWN and none succeeds; every worker succeeds again after the restart without
being restarted itself; every acknowledged write is read back afterwards by another language.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from typing import Callable

from harness import Checks
from redis_servers import AOF_ALWAYS, RedisServer

LOAD_SECONDS = 8.0
TIMEOUT_MS = 500
ALLOWED = {"POTO_UNAVAILABLE", "POTO_OUTCOME_UNKNOWN"}


class Worker:
    """One `load` process, its output lines collected as they come."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=self.stderr, text=True)
        self.lines: list[list[str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.split())

    def acked(self) -> list[int]:
        return [int(line[1]) for line in self.lines if line[0] == "ok"]

    def finish(self, timeout: float) -> str | None:
        """None when it exited 0 by itself within `timeout`, else what went wrong."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung (killed)"
        finally:
            self.reader.join()
        self.stderr.seek(0)
        return None if self.proc.returncode == 0 else f"exit {self.proc.returncode}: {self.stderr.read().strip()[-500:]}"


def wait_until(done: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def scenario(cmd: dict[str, list[str]]) -> tuple[int, int]:
    setup = "redis killed and restarted under load"
    server = RedisServer(AOF_ALWAYS)
    url = server.url
    env = {**os.environ, "REDIS_URL": url, "POTO_PREFIX": "outage:", "POTO_TIMEOUT_MS": str(TIMEOUT_MS)}
    print(f"# {setup}: {url}, AOF appendfsync always, {TIMEOUT_MS} ms timeouts")
    check = Checks(setup)
    users = {lang: f"load-{lang.lower()}" for lang in cmd}
    workers: dict[str, Worker] = {}
    try:
        workers = {lang: Worker(cmd[lang] + ["load", users[lang], str(LOAD_SECONDS)], env) for lang in cmd}
        started = wait_until(lambda: all(w.acked() for w in workers.values()), 30)
        check("every worker writes before the outage", started)
        time.sleep(1.0)
        server.kill()
        killed_at = time.time() * 1000
        time.sleep(1.5)
        restarting_at = time.time() * 1000
        server.restart()
        for lang, worker in workers.items():
            problem = worker.finish(LOAD_SECONDS + 60)
            check(f"{lang} ran through the outage without crashing or hanging", problem is None, problem or "")
            errors = [line for line in worker.lines if line[0] == "err"]
            kinds = {line[3] for line in errors}
            check(f"{lang} saw only unavailable / outcome unknown", bool(errors) and kinds <= ALLOWED,
                  f"errors: {len(errors)}, kinds: {sorted(kinds)}")
            while_down = [line for line in worker.lines if line[0] == "ok" and killed_at < int(line[2]) < restarting_at]
            check(f"{lang} had no success while redis was down", not while_down, f"{while_down[:3]}")
            recovered = [line for line in worker.lines if line[0] == "ok" and int(line[2]) > restarting_at]
            check(f"{lang} succeeded again after the restart by itself", bool(recovered))
        # Each language's acknowledged writes, read back by the next language.
        langs = list(cmd)
        for i, lang in enumerate(langs):
            reader = langs[(i + 1) % len(langs)]
            out = subprocess.run(cmd[reader] + ["get-session", users[lang]], env=env, capture_output=True, text=True, timeout=120)
            session = json.loads(out.stdout) if out.returncode == 0 else {}
            acked = workers[lang].acked()
            lost = [n for n in acked if session.get(f"k{n}") != n]
            check(f"{len(acked)} writes acknowledged to {lang} are read back by {reader}", out.returncode == 0 and not lost,
                  f"lost: {lost[:10]} {out.stderr.strip()[-300:]}")
    except Exception as error:  # a harness failure is a failed check, with its message
        check("outage scenario ran", False, str(error))
    finally:
        for worker in workers.values():
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait()
            worker.stderr.close()
        server.stop()
    return check.passed, check.failed
