"""Redis Sentinel failover under load from all four languages: a C host, a Python server, a Node
server and a Rust program, each one process running the cross-language workers' `load` command
(field writes k1, k2, ... printing `ok I EPOCH_MS` or `err I EPOCH_MS CODE` per call) on one
Sentinel deployment (tests/support/redis_servers.py: a master, a replica, three sentinels),
selected by REDIS_URL=redis+sentinel://... alone, with 500 ms timeouts.

Twice: the master killed (SIGKILL), then, on a new deployment, demoted by `SENTINEL FAILOVER`
while still up. Checks: no worker crashes or hangs; every failed call is POTO_UNAVAILABLE or
POTO_OUTCOME_UNKNOWN; every worker succeeds again after the promotion without being restarted
(its provider is the one it started with); its last acknowledged writes are read back through
the new master by another language. Printed per language: calls, errors by kind, the time from
the trigger to its first success after its last failure, its longest stretch without a success,
and the acknowledged writes the failover lost (asynchronous replication), which are not checked.

Run by scripts/test.sh after the Python and Node suites (it uses what they built):
    python3 tests/failover/run.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cross_language"))

from harness import Checks, workers  # noqa: E402
from outage import Worker, wait_until  # noqa: E402
from redis_servers import RedisSentinels  # noqa: E402

LOAD_SECONDS = 12.0
TIMEOUT_MS = 500
ALLOWED = {"POTO_UNAVAILABLE", "POTO_OUTCOME_UNKNOWN"}
#: Acknowledged writes at the end of each load that must be on the new master.
LAST = 20


def scenario(cmd: dict[str, list[str]], how: str) -> tuple[int, int]:
    setup = f"Sentinel failover by {how}"
    deployment = RedisSentinels()
    url = deployment.url
    env = {**os.environ, "REDIS_URL": url, "POTO_PREFIX": "failover:", "POTO_TIMEOUT_MS": str(TIMEOUT_MS)}
    print(f"# {setup}: {url}, {TIMEOUT_MS} ms timeouts")
    check = Checks(setup)
    users = {lang: f"failover-{lang.lower()}" for lang in cmd}
    running: dict[str, Worker] = {}
    try:
        old = deployment.master_port()
        running = {lang: Worker(cmd[lang] + ["load", users[lang], str(LOAD_SECONDS)], env) for lang in cmd}
        check("every worker writes before the failover", wait_until(lambda: all(w.acked() for w in running.values()), 30))
        time.sleep(1.0)
        triggered = time.time() * 1000
        if how == "kill":
            deployment.node(old).kill()
        else:
            deployment.failover()
        new = deployment.wait_for_new_master(old)
        promoted = time.time() * 1000
        print(f"# master {old} -> {new}: the sentinels agreed {promoted - triggered:.0f} ms after the trigger")
        for lang, worker in running.items():
            problem = worker.finish(LOAD_SECONDS + 60)
            check(f"{lang} ran through the failover without crashing or hanging", problem is None, problem or "")
            lines = worker.lines
            errors = [line for line in lines if line[0] == "err"]
            kinds = Counter(line[3] for line in errors)
            check(f"{lang} saw only unavailable / outcome unknown", set(kinds) <= ALLOWED, f"kinds: {dict(kinds)}")
            after = [line for line in lines if line[0] == "ok" and int(line[2]) > promoted]
            check(f"{lang} succeeded again after the promotion by itself", bool(after))
            # Figures: the first success after the last failure, the longest stretch without one.
            last_error = max((int(line[2]) for line in errors), default=None)
            oks = [int(line[2]) for line in lines if line[0] == "ok"]
            recovered = next((t for t in oks if last_error is None or t > last_error), None)
            gaps = [b - a for a, b in zip(oks, oks[1:])]
            recovery = f"{recovered - triggered:.0f} ms" if errors and recovered else "no failed call"
            print(f"#   {lang}: {len(lines)} calls, {len(errors)} errors {dict(kinds)}, recovered {recovery} after the trigger, "
                  f"longest stretch without a success {max(gaps, default=0)} ms")
        # Each language's writes, read back through the new master by the next language (a
        # session of some 20,000 fields: a longer timeout than the load's).
        langs = list(cmd)
        env = {**env, "POTO_TIMEOUT_MS": "10000"}
        for i, lang in enumerate(langs):
            reader = langs[(i + 1) % len(langs)]
            out = subprocess.run(cmd[reader] + ["get-session", users[lang]], env=env, capture_output=True, text=True, timeout=120)
            session = json.loads(out.stdout) if out.returncode == 0 else {}
            acked = running[lang].acked()
            missing = [n for n in acked[-LAST:] if session.get(f"k{n}") != n]
            check(f"{lang}'s last {LAST} acknowledged writes are on the new master (read by {reader})",
                  out.returncode == 0 and bool(acked) and not missing, f"missing: {missing} {out.stderr.strip()[-300:]}")
            lost = [n for n in acked if session.get(f"k{n}") != n]
            print(f"#   {lang}: {len(acked)} writes acknowledged, {len(lost)} of them lost by the failover")
    except Exception as error:  # a harness failure is a failed check, with its message
        check("failover scenario ran", False, str(error))
    finally:
        for worker in running.values():
            if worker.proc.poll() is None:
                worker.proc.kill()
                worker.proc.wait()
            worker.stderr.close()
        deployment.stop()
    return check.passed, check.failed


def main() -> int:
    build_dir = Path(tempfile.mkdtemp(prefix="poto-failover-build-"))
    passed = failed = 0
    try:
        cmd = workers(build_dir)
        for how in ["kill", "SENTINEL FAILOVER"]:
            p, f = scenario(cmd, how)
            passed, failed = passed + p, failed + f
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    print(f"failover: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
