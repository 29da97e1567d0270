"""Cross-language consistency (the seed's "Cross-Instance Consistency"): a C host, a Python
server, a Node server and a Rust program, as separate processes on one redis-server and on a
3-master cluster, see each other's writes, and their concurrent atomic updates lose nothing.
Then all four ride through a Redis crash and restart (outage.py), and the benchmark's command
runs briefly in each (benches/cross_language/bench.py).

Run by scripts/test.sh after the Rust, Python and Node suites (it uses what they built):
    python3 tests/cross_language/run.py
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import outage
from harness import ROOT, Checks, workers
from redis_servers import start_redis

sys.path.insert(0, str(ROOT / "benches" / "cross_language"))
import bench  # noqa: E402


def main() -> int:
    build_dir = Path(tempfile.mkdtemp(prefix="poto-xlang-build-"))
    passed = failed = 0
    try:
        cmd = workers(build_dir)
        # The same checks on one Redis, then on a 3-master cluster selected by REDIS_URL alone.
        for masters, setup in [(1, "one redis-server"), (3, "a 3-master Redis Cluster")]:
            p, f = scenario(cmd, masters, setup)
            passed, failed = passed + p, failed + f
        p, f = outage.scenario(cmd)
        passed, failed = passed + p, failed + f
        try:
            problems = bench.smoke(cmd)
        except Exception as error:  # a worker that fails is a failed check, with its message
            problems = [str(error)]
        print(f"{'FAILED' if problems else 'ok'} - bench command in every language (1 s smoke run) {' '.join(problems)}")
        passed, failed = passed + (not problems), failed + bool(problems)
    finally:
        shutil.rmtree(build_dir, ignore_errors=True)
    print(f"cross-language: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def stored_text(url: str, user: str, key: str) -> str:
    """The stored JSON text of one top-level key, read with redis-cli (format 2: one string under
    `xlang:{NN}:s:<user>`, NN the id's FNV-1a-64 shard: a 43-byte header, then the session's JSON
    object, whose members' text is cut out as stored)."""
    shard = 0xCBF29CE484222325
    for byte in user.encode():
        shard = ((shard ^ byte) * 0x100000001B3) % 2**64
    host, port = url.split("//")[1].split(",")[0].split(":")
    out = subprocess.run(["redis-cli", "-c", "-h", host, "-p", port, "--raw", "GET",
                          f"xlang:{{{shard % 64:02}}}:s:{user}"], capture_output=True, text=True, timeout=30)
    text = out.stdout.rstrip("\n")[43:]
    member = "," + json.dumps(key) + ":"
    at = text.find(member)
    if at < 0:
        return ""
    start = at + len(member)
    _, end = json.JSONDecoder().raw_decode(text, start)
    return text[start:end]


def scenario(cmd: dict[str, list[str]], masters: int, setup: str) -> tuple[int, int]:
    redis = start_redis(masters)
    url = redis.url
    env = {**os.environ, "REDIS_URL": url, "POTO_PREFIX": "xlang:"}
    check = Checks(setup)
    print(f"# {setup}: {url}")

    def run(lang: str, *args: str) -> str:
        out = subprocess.run(cmd[lang] + list(args), env=env, capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            raise RuntimeError(f"{lang} {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout.strip()


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
        # Values each language wrote keep their exact stored text while every language updates
        # an unrelated field (a JavaScript update sees 2^60 + 1 as 2^60, -0.0 as 0, 1.0 as 1).
        deep = "[" * 98 + "1" + "]" * 98  # session, object and 98 arrays: 100 levels, the limit
        planted = {
            "Python": ("py", '{"id":1152921504606846977,"one":1.0,"negZero":-0.0,"big":1e300}'),
            "C": ("c", '{"pi":3.14159265358979323846264338327950288,"price":1.50,"tiny":5e-324,'
                       '"text":"tab\\t quote\\" \\u00e9 \\ud83d\\ude00 \u00e9\U0001F600"}'),
            "Rust": ("rust", '{"deep":' + deep + ',"min":-9223372036854775808,"max":18446744073709551615}'),
            "Node": ("node", '{"s":"line\\nbreak \\u2028","n":[0.1,-0]}'),
        }
        for writer, (key, text) in planted.items():
            run(writer, "set-value", "carol", key, text)
        stored = {key: stored_text(url, "carol", key) for key, _ in planted.values()}
        for toucher in langs:
            run(toucher, "touch-field", "carol", f"note_{toucher.lower()}")
        after = {key: stored_text(url, "carol", key) for key, _ in planted.values()}
        changed = [key for key in stored if stored[key] != after[key]]
        check("values another language wrote keep their stored text through every language's update",
              not changed and all(v not in ('', '(nil)') for v in stored.values()), f"rewritten: {changed}: {stored} -> {after}")
        notes = json.loads(run("C", "get-session", "carol"))
        check("every language's update was applied", all(notes.get(f"note_{l.lower()}") == "x" for l in langs), str(notes))
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
        redis.stop()
    return check.passed, check.failed


if __name__ == "__main__":
    sys.exit(main())
