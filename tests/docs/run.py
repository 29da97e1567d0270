"""Runs the programs of docs/deployment.md, so its instructions stay true.

A code block preceded by `<!-- test: LANG GROUP ENV... -->` (LANG: rust, python, node, c, cpp)
is a complete program. It runs in each ENV listed:

    memory   no REDIS_URL
    redis    REDIS_URL of a redis-server started here, with a password in the URL
    cluster  REDIS_URL=redis+cluster://... of a local 3-master Redis Cluster, with a password
    down     REDIS_URL of a port where nothing listens: the program must fail, saying UNAVAILABLE

The programs of one GROUP run one after the other, in the document's order, on a store emptied
before the group. Each handles one request of `alice` and prints
`alice: previous server X, model M, N active session(s)`: in memory X is always `none` and M
`llm1`; on Redis X is the language of the program before it and M `llm2` — each program read the
session another language wrote.

`<!-- test: diff LANG FROM TO -->` before a diff block: applying it to the LANG program of group
FROM must give the LANG program of group TO.

Run by scripts/test.sh after the cross-language test (it uses what the earlier suites built):
    python3 tests/docs/run.py
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "deployment.md"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
PASSWORD = "docs-s3cret"

sys.path.insert(0, str(ROOT / "tests" / "cross_language"))
from harness import Checks  # noqa: E402  (it puts tests/support on sys.path)
from redis_servers import Redis, free_port, start_redis  # noqa: E402

# What each language's programs write as `lastServer`.
SERVER_NAME = {"rust": "rust", "python": "python", "node": "node", "c": "c", "cpp": "c++"}
SOURCE_SUFFIX = {"rust": ".rs", "python": ".py", "node": ".mjs", "c": ".c", "cpp": ".cpp"}
ENVS = ("memory", "redis", "cluster", "down")
LINE = re.compile(r"^(\S+): previous server (\S+), model (\S+), (\d+) active session\(s\)$", re.M)


@dataclass
class Program:
    lang: str
    group: str
    envs: list[str]
    code: str
    line: int  # of the code block in the document
    command: list[str] | None = None

    @property
    def name(self) -> str:
        return f"{self.group}/{self.lang} (docs/deployment.md:{self.line})"


@dataclass
class Diff:
    lang: str
    source: str
    target: str
    text: str
    line: int


def parse(doc: str) -> tuple[list[Program], list[Diff]]:
    lines = doc.split("\n")
    programs: list[Program] = []
    diffs: list[Diff] = []
    for i, line in enumerate(lines):
        marker = re.fullmatch(r"<!-- test: (.+?) -->", line.strip())
        if not marker:
            continue
        fence = lines[i + 1] if i + 1 < len(lines) else ""
        if not fence.startswith("```"):
            raise SystemExit(f"docs/deployment.md:{i + 1}: a test marker must be followed by a code block")
        end = next(j for j in range(i + 2, len(lines)) if lines[j].startswith("```"))
        code = "\n".join(lines[i + 2 : end]) + "\n"
        words = marker.group(1).split()
        if words[0] == "diff":
            diffs.append(Diff(words[1], words[2], words[3], code, i + 3))
            continue
        lang, group, envs = words[0], words[1], words[2:]
        if lang not in SERVER_NAME or not envs or any(e not in ENVS for e in envs):
            raise SystemExit(f"docs/deployment.md:{i + 1}: bad test marker {marker.group(1)!r}")
        programs.append(Program(lang, group, envs, code, i + 3))
    return programs, diffs


def apply_diff(source: str, diff: str) -> str:
    """Applies hunks (separated by `@@` lines; ` ` context, `-` removed, `+` added, an empty line is
    an empty context line) to `source`; each hunk's old lines must occur in order."""
    lines = source.split("\n")
    out: list[str] = []
    at = 0
    hunks: list[list[str]] = [[]]
    for line in diff.rstrip("\n").split("\n"):
        if line.startswith("@@"):
            hunks.append([])
        else:
            hunks[-1].append(line)
    for hunk in hunks:
        old = [l[1:] for l in hunk if not l.startswith("+")]
        new = [l[1:] for l in hunk if not l.startswith("-")]
        start = next((k for k in range(at, len(lines) - len(old) + 1) if lines[k : k + len(old)] == old), None)
        if start is None:
            raise ValueError(f"hunk not found: {old[:2]}")
        out += lines[at:start] + new
        at = start + len(old)
    return "\n".join(out + lines[at:])


def rust_externs() -> list[str]:
    """rustc arguments linking a program against the built poto-sessions, tokio and serde_json."""
    out = subprocess.run(
        ["cargo", "build", "-q", "-p", "poto-sessions", "-p", "poto-sessions-ffi", "--message-format=json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    rlibs: dict[str, str] = {}
    for message in map(json.loads, out.splitlines()):
        if message.get("reason") == "compiler-artifact" and message["target"]["name"] in ("poto_sessions", "tokio", "serde_json"):
            if "lib" in message["target"]["kind"]:
                rlibs[message["target"]["name"]] = next(f for f in message["filenames"] if f.endswith(".rlib"))
    if len(rlibs) != 3:
        raise SystemExit(f"cargo did not report the rlibs of poto_sessions, tokio and serde_json: {rlibs}")
    args = ["-L", f"dependency={TARGET / 'debug' / 'deps'}"]
    for name, path in rlibs.items():
        args += ["--extern", f"{name}={path}"]
    return args


def build(programs: list[Program], work: Path) -> None:
    """Writes every program; compiles the Rust, C and C++ ones (in parallel)."""
    node_modules = work / "node_modules"
    node_modules.mkdir()
    (node_modules / "poto-sessions").symlink_to(ROOT / "bindings" / "node")
    lib = TARGET / "debug"
    link = [f"-I{ROOT / 'include'}", f"-L{lib}", "-lpoto_sessions", f"-Wl,-rpath,{lib}"]
    externs = rust_externs()
    jobs = []
    for n, program in enumerate(programs):
        source = work / f"p{n}_{program.group}_{program.lang}{SOURCE_SUFFIX[program.lang]}"
        source.write_text(program.code)
        binary = str(work / f"p{n}_{program.group}_{program.lang}")
        if program.lang == "python":
            program.command = [str(TARGET / "python-venv" / "bin" / "python"), str(source)]
        elif program.lang == "node":
            program.command = ["node", str(source)]
        else:
            program.command = [binary]
            compile_cmd = {
                "rust": ["rustc", "--edition", "2021", "-D", "warnings", "-C", "debuginfo=0", str(source), "-o", binary, *externs],
                "c": ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", str(source), "-o", binary, *link],
                "cpp": ["c++", "-std=c++17", "-Wall", "-Wextra", "-Werror", str(source), "-o", binary, *link],
            }[program.lang]
            jobs.append((program, compile_cmd))

    def compile_one(job: tuple[Program, list[str]]) -> str | None:
        program, cmd = job
        result = subprocess.run(cmd, capture_output=True, text=True)
        return None if result.returncode == 0 else f"{program.name} does not compile:\n{result.stderr}"

    with ThreadPoolExecutor(2) as pool:
        errors = [e for e in pool.map(compile_one, jobs) if e]
    if errors:
        raise SystemExit("\n".join(errors))


class Stores:
    """The Redis servers of the redis and cluster environments, with a password set."""

    def __init__(self) -> None:
        self.servers: dict[str, Redis] = {}
        try:
            for env, masters in (("redis", 1), ("cluster", 3)):
                self.servers[env] = start_redis(masters, password=PASSWORD)
        except BaseException:
            self.stop()
            raise
        self.urls = {env: redis.url for env, redis in self.servers.items()}

    def empty(self, env: str) -> None:
        for node in self.servers[env].nodes:
            node.cli("FLUSHALL")

    def stop(self) -> None:
        for redis in self.servers.values():
            redis.stop()


def main() -> int:
    programs, diffs = parse(DOC.read_text())
    check = Checks()
    by_key = {(p.lang, p.group): p for p in programs}
    for diff in diffs:
        source, target = by_key.get((diff.lang, diff.source)), by_key.get((diff.lang, diff.target))
        name = f"diff {diff.lang} {diff.source} -> {diff.target} (docs/deployment.md:{diff.line})"
        try:
            ok = bool(source and target) and apply_diff(source.code, diff.text) == target.code
            check(name, ok, "applied to the first program it does not give the second")
        except ValueError as error:
            check(name, False, str(error))

    work = Path(tempfile.mkdtemp(prefix="poto-docs-"))
    stores = None
    try:
        build(programs, work)
        stores = Stores()
        urls = {"memory": None, **stores.urls, "down": f"redis://127.0.0.1:{free_port()}"}
        base_env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
        for env in ENVS:
            groups: dict[str, list[Program]] = {}
            for program in programs:
                if env in program.envs:
                    groups.setdefault(program.group, []).append(program)
            for group, members in groups.items():
                if env in ("redis", "cluster"):
                    stores.empty(env)
                run_env = dict(base_env) if urls[env] is None else {**base_env, "REDIS_URL": urls[env]}
                previous = None
                for program in members:
                    assert program.command
                    result = subprocess.run(program.command, cwd=work, env=run_env, capture_output=True, text=True, timeout=120)
                    output = f"exit {result.returncode}\nstdout:\n{result.stdout}stderr:\n{result.stderr}"
                    name = f"{program.name} [{env}]"
                    if env == "down":
                        check(name, result.returncode != 0 and "UNAVAILABLE" in result.stderr and not LINE.search(result.stdout), output)
                        continue
                    shared = env != "memory"
                    expected = ("alice", SERVER_NAME[previous.lang] if shared and previous else "none",
                                "llm2" if shared and previous else "llm1", "1")
                    lines = LINE.findall(result.stdout)
                    check(name, result.returncode == 0 and lines == [expected], f"expected {expected}\n{output}")
                    previous = program
    finally:
        if stores:
            stores.stop()
        shutil.rmtree(work, ignore_errors=True)
    print(f"docs: {check.passed} passed, {check.failed} failed")
    return 0 if check.failed == 0 and check.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
