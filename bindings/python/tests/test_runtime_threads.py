"""A Python process runs one runtime worker unless POTO_WORKER_THREADS says otherwise (one
loop or GIL-bound thread issues the calls; a second worker mostly adds wake-ups)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

COUNT_WORKERS = """
import os, sys
from poto_sessions import RedisSessionProvider
p = RedisSessionProvider(sys.argv[1], prefix=sys.argv[2])
p.set_session_sync("u", {"n": 1})
assert p.get_session_sync("u")["n"] == 1
import time
def count():
    names = [open(f"/proc/self/task/{t}/comm").read().strip() for t in os.listdir("/proc/self/task")]
    return sum(name.startswith("poto-sessions") for name in names)
# A worker takes its name once it runs: wait (bounded) for as many as expected, then report.
deadline = time.monotonic() + 30
while count() < int(sys.argv[3]) and time.monotonic() < deadline:
    time.sleep(0.01)
print(count())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="counts threads through /proc")
@pytest.mark.parametrize("setting, workers", [(None, 1), ("3", 3)])
def test_runtime_workers(setting, workers, redis_server, prefix) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POTO_WORKER_THREADS"}
    if setting is not None:
        env["POTO_WORKER_THREADS"] = setting
    out = subprocess.run([sys.executable, "-c", COUNT_WORKERS, redis_server.url, prefix, str(workers)], env=env, capture_output=True, text=True, check=True)
    assert int(out.stdout) == workers
