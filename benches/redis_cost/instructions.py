"""What one operation costs redis-server in machine instructions, counted by valgrind's
callgrind: unlike time, the count does not move with the machine's load, so scripts can be
compared on a busy machine and against the write budget (DESIGN §4.11). Rows: plain commands of
a ~540-byte session value, the no-Lua `MULTI` floor, `EVALSHA` of scripts that do nothing but
take the write's arguments or call `TIME`, and the provider's own scripts as it sends them
(joined from core/src/redis/lua/ as core/src/redis/scripts.rs lists them).

    python3 benches/redis_cost/instructions.py [--calls 1000] [--rev COMMIT]

`--rev` measures the provider scripts of another commit (read with `git show`), for a paired
before/after comparison.

Needs valgrind (callgrind_control) and redis-server; starts its own server under callgrind on a
free loopback port, in a temporary directory, and stops it at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "support"))
from redis_servers import free_port  # noqa: E402

TTL_MS = 86_400_000
CREATED = '"2026-12-03T07:00:00.000Z"'
KEYS = ("p{00}:i:exp", "p{00}:i:act", "p{00}:i:seq")
USERS = 1000


def source(path: str, rev: str | None) -> str:
    """A file of this checkout, or of commit `rev`."""
    if rev is None:
        return (ROOT / path).read_text()
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], check=True, capture_output=True, text=True).stdout


def script(name: str, rev: str | None) -> str:
    """The text of one provider script, joined from its snippets as scripts.rs joins them (before
    commit 749d4ed every script was `common.lua` followed by its own file)."""
    rust = source("core/src/redis/scripts.rs", rev)
    files = re.search(rf"pub static {name}: Lazy<Script> = script!\(([^)]*)\)", rust)
    if not files:
        raise SystemExit(f"no script {name} in scripts.rs")
    names = [f.strip().strip('"') for f in files.group(1).split(",")]
    if 'include_str!("lua/common.lua")' in rust:
        names.insert(0, "common.lua")
    return "".join(source(f"core/src/redis/lua/{n}", rev) for n in names)


def tail() -> str:
    """The members of a ~500-byte session after its timestamps, as the client sends them."""
    members = [("cookie", '{"originalMaxAge":86400000,"expires":"2026-12-04T07:00:00.000Z","httpOnly":true,"path":"/"}')]
    members += [(f"k{i}", '"' + "x" * 30 + '"') for i in range(10)] + [("userId", '"u1"')]
    return "".join(f',"{k}":{v}' for k, v in members) + "}"


def hint() -> str:
    """The clock hint the provider sends: the current second, as text."""
    now = int(time.time())
    return f"{now} {time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(now))}"


class Client:
    """Just enough RESP to pipeline commands and skip their replies."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.file = self.sock.makefile("rb")

    @staticmethod
    def encode(*args: object) -> bytes:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            data = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)

    def reply(self) -> object:
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"-":
            raise SystemExit(f"redis error: {rest.decode()}")
        if kind == b"$":
            return None if int(rest) < 0 else self.file.read(int(rest) + 2)[:-2]
        if kind == b"*":
            return [self.reply() for _ in range(int(rest))]
        return rest

    def call(self, *args: object) -> object:
        self.sock.sendall(self.encode(*args))
        return self.reply()

    def pipeline(self, commands: list[tuple]) -> None:
        """Sends in groups of 10 (a fresh clock hint per group: callgrind slows the server ~50x)."""
        for i in range(0, len(commands), 10):
            group = commands[i : i + 10]
            self.sock.sendall(b"".join(self.encode(*(hint() if a is hint else a for a in c)) for c in group))
            for _ in group:
                self.reply()


class Callgrind:
    """redis-server under callgrind; `count()` returns the instructions run since `zero()`."""

    def __init__(self, tmp: str) -> None:
        self.port = free_port()
        self.out = os.path.join(tmp, "callgrind.out")
        self.proc = subprocess.Popen(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={self.out}", "redis-server",
             "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", tmp],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                if Client(self.port).call("PING") == b"PONG":
                    return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("redis-server under callgrind did not start")

    def zero(self) -> None:
        subprocess.run(["callgrind_control", "-z", str(self.proc.pid)], check=True, capture_output=True)

    def count(self) -> int:
        subprocess.run(["callgrind_control", "-d", str(self.proc.pid)], check=True, capture_output=True)
        dumps = sorted(Path(self.out).parent.glob("callgrind.out*"), key=lambda p: p.stat().st_mtime)
        return int(re.search(r"^summary: (\d+)", dumps[-1].read_text(), re.M).group(1))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="operations per row (default 1000)")
    parser.add_argument("--rev", help="measure the provider scripts of this commit instead of the checkout's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="poto-instructions-") as tmp:
        server = Callgrind(tmp)
        try:
            run(server, Client(server.port), args.calls, args.rev)
        finally:
            server.stop()


def run(server: Callgrind, client: Client, calls: int, rev: str | None) -> None:
    members = tail()
    value = "PS2 0000000000000001 00000026 1764745200000" + '{"lastActivity":' + CREATED + ',"createdAt":' + CREATED + members
    sha = {name: client.call("SCRIPT", "LOAD", text).decode() for name, text in {
        "nothing": "return 1",
        "time": "redis.call('TIME') return 1",
        "time5": "redis.call('TIME') " * 5 + "return 1",
        "write": script("WRITE", rev),
        "touch": script("TOUCH", rev),
    }.items()}

    def user(i: int) -> str:
        return f"u{i % USERS}"

    def write(name: str, created: str):
        return lambda i: ("EVALSHA", sha[name], 4, f"p{{00}}:s:{user(i)}", *KEYS, user(i), TTL_MS, "set", 0, created, members, hint)

    def touch(after: int):
        return lambda i: ("EVALSHA", sha["touch"], 3, f"p{{00}}:s:{user(i)}", *KEYS[:2], user(i), TTL_MS, "touch", after, hint)

    rows = [
        ("SET of the ~540-byte value", lambda i: ("SET", f"plain:{user(i)}", value)),
        ("GET of it", lambda i: ("GET", f"plain:{user(i)}")),
        ("EVALSHA 'return 1' with the write's 4 keys and 7 arguments", write("nothing", CREATED)),
        ("EVALSHA of one redis.call('TIME')", write("time", CREATED)),
        ("EVALSHA of five redis.call('TIME')", write("time5", CREATED)),
        ("write.lua set, createdAt sent (within the index slack)", write("write", CREATED)),
        ("write.lua set, createdAt kept (within the index slack)", write("write", "")),
        ("touch.lua, touch_after 0 (re-indexes)", touch(0)),
        ("touch.lua, lazy, session fresh (writes nothing)", touch(60_000)),
    ]
    multi = [("MULTI",), ("INCR", KEYS[2]), ("SET", "plain:u0", value, "KEEPTTL"), ("EXEC",)]
    # Every session exists and is indexed first, so each row measures its steady state.
    client.pipeline([write("write", CREATED)(i) for i in range(USERS)])
    print(f"# redis-server instructions per operation (callgrind; {calls} operations per row; request parsing and reply"
          f" included); provider scripts of {rev or 'this checkout'}")
    base = None
    for name, command in rows + [("no Lua: MULTI, INCR, SET … KEEPTTL, EXEC", None)]:
        batch = [c for _ in range(calls) for c in multi] if command is None else [command(i) for i in range(calls)]
        client.pipeline(batch[: len(batch) // 5])
        server.zero()
        client.pipeline(batch)
        per_op = server.count() / calls
        base = base or per_op
        print(f"{name:<62} {per_op:>9,.0f}  {per_op / base:5.1f}x SET")


if __name__ == "__main__":
    main()
