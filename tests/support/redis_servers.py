"""The one redis-server launcher of the Python tests and benchmarks (the Rust one is
core/tests/support/mod.rs, the Node one bindings/node/test/helpers.js): a server or a local Redis
Cluster on free loopback ports, each node with a temporary directory of its own, ready when this
returns (it answers PING), stopped by process, never by name. Never touches another Redis.

Used by bindings/python/tests/conftest.py, tests/cross_language/, tests/docs/run.py and
benches/python/, benches/cross_language/, which put this folder on sys.path:

    with start_redis() as redis:                              # one server, no persistence
        ... redis.url ...
    with start_redis(3, password="s3cret") as cluster:       # 3 masters, redis+cluster:// URL
        ...
    server = RedisServer(AOF_ALWAYS); server.kill(); server.restart(); server.stop()
    with RedisSentinels() as sentinel:                        # master, replica, 3 sentinels
        ... sentinel.url ...  (redis+sentinel://), sentinel.master_port(), sentinel.failover()
    with TestCerts() as certs, RedisServer(tls=certs) as redis:  # also TLS, on redis.tls_port
        ... redis.tls_url ... certs.path("ca.crt") ...
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable, Sequence, TypeVar
from urllib.parse import quote

#: Settings of a throwaway server (the default), and of one that must keep every acknowledged write.
EPHEMERAL = ("--save", "", "--appendonly", "no")
AOF_ALWAYS = ("--save", "", "--appendonly", "yes", "--appendfsync", "always")
CLUSTER = ("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
HOST = "127.0.0.1"
_Self = TypeVar("_Self", bound="Redis")


def free_port(cluster: bool = False) -> int:
    """A loopback port nothing listens on; for a cluster node, one whose bus port (+ 10000) is free too."""
    while True:
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = int(s.getsockname()[1])
        if not cluster:
            return port
        if port > 55000:
            continue
        try:
            with socket.socket() as bus:
                bus.bind((HOST, port + 10000))
            return port
        except OSError:
            continue


def _command(*args: str) -> bytes:
    return f"*{len(args)}\r\n".encode() + b"".join(f"${len(a.encode())}\r\n{a}\r\n".encode() for a in args)


def _cli_auth(password: str | None) -> list[str]:
    return ["--no-auth-warning", "-a", password] if password else []


class Redis:
    """A server or a cluster: its URL, nodes and process ids, and a `with` block that stops it."""

    SCHEME = "redis"
    password: str | None

    @property
    def nodes(self) -> list[RedisServer]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        return f"{self.SCHEME}://{auth}" + ",".join(n.address for n in self.nodes)

    @property
    def pids(self) -> list[int]:
        return [n.pid for n in self.nodes]

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


class RedisServer(Redis):
    """One redis-server on a free loopback port with `settings` (default: no persistence), its
    files in a temporary directory removed by `stop()`. `password` sets `requirepass` (and
    `masterauth`, for cluster replicas)."""

    def __init__(self, settings: Sequence[str] = EPHEMERAL, *, password: str | None = None, cluster: bool = False,
                 tls: TestCerts | None = None, server_cert: str = "server", auth_clients: bool = False) -> None:
        self.password = password
        self.base_settings = [*settings, *(CLUSTER if cluster else ())]
        if password:
            self.base_settings += ["--requirepass", password, "--masterauth", password]
        self.settings = self.base_settings
        self.tls_port: int | None = None
        self.dir = tempfile.mkdtemp(prefix="poto-redis-")
        try:
            for _ in range(5):  # another process may take the port between free_port and the bind
                self.port = free_port(cluster)
                if tls:  # TLS on a port of its own; the plain one stays for readiness and cli()
                    self.tls_port = free_port()
                    self.settings = [*self.base_settings, *tls.server_settings(self.tls_port, server_cert, auth_clients)]
                self._spawn()
                if self._wait_ready():
                    return
                self.kill()
            raise RuntimeError("redis-server did not start")
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def tls_url(self) -> str:
        """rediss://localhost:<TLS port> (the host name the test certificates are for)."""
        assert self.tls_port, "not a TLS server"
        return f"rediss://localhost:{self.tls_port}"

    @property
    def nodes(self) -> list[RedisServer]:
        """The servers to address one by one, as a cluster's: this one."""
        return [self]

    @property
    def pid(self) -> int:
        return self.process.pid

    def cli(self, *args: str) -> str:
        """Runs redis-cli against this server (authenticated when it has a password); its output."""
        command = ["redis-cli", "-h", HOST, "-p", str(self.port), *_cli_auth(self.password), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    def kill(self) -> None:
        """Kills the server (a crash: SIGKILL) and waits for it; its files stay for `restart()`."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def restart(self) -> None:
        """Starts the server again on the same port and directory, so it reads its data back."""
        self._spawn()
        if not self._wait_ready():
            self.kill()
            raise RuntimeError(f"redis-server did not restart on port {self.port}")

    def stop(self) -> None:
        """Kills the server and removes its directory."""
        if hasattr(self, "process"):
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _spawn(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", HOST, *self.settings, "--dir", self.dir]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _wait_ready(self, seconds: float = 10) -> bool:
        """True once the server answers PING (after AUTH when it has a password; a server still
        loading its data does not); False if it exits first or takes longer than `seconds`."""
        commands = ([_command("AUTH", self.password)] if self.password else []) + [_command("PING")]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5) as conn:
                    conn.sendall(b"".join(commands))
                    reply = b""
                    while reply.count(b"\r\n") < len(commands):
                        chunk = conn.recv(256)
                        if not chunk:
                            break
                        reply += chunk
                    if reply.endswith(b"+PONG\r\n"):
                        return True
            except OSError:
                pass
            time.sleep(0.02)
        return False


class RedisCluster(Redis):
    """A local Redis Cluster: `masters` masters with `replicas` replicas each, every node a
    `RedisServer` with `settings` (and `password`); `url` is its redis+cluster:// URL."""

    SCHEME = "redis+cluster"

    def __init__(self, masters: int, replicas: int = 0, settings: Sequence[str] = EPHEMERAL, *, password: str | None = None) -> None:
        self.password = password
        self._nodes: list[RedisServer] = []
        try:
            for _ in range(masters * (1 + replicas)):
                self._nodes.append(RedisServer(settings, password=password, cluster=True))
            subprocess.run(["redis-cli", *_cli_auth(password), "--cluster", "create", *(n.address for n in self.nodes),
                            "--cluster-replicas", str(replicas), "--cluster-yes"], check=True, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while not all("cluster_state:ok" in n.cli("CLUSTER", "INFO") for n in self.nodes):
                if time.monotonic() > deadline:
                    raise RuntimeError("the Redis Cluster did not become ready")
                time.sleep(0.05)
        except BaseException:
            self.stop()
            raise

    @property
    def nodes(self) -> list[RedisServer]:
        return self._nodes

    def stop(self) -> None:
        for node in self._nodes:
            node.stop()


class SentinelServer(RedisServer):
    """A sentinel (`redis-server sentinel.conf --sentinel`) watching the master on `master_port` as
    `service`, quorum 2, with a short `down-after-milliseconds` and `failover-timeout`."""

    def __init__(self, master_port: int, service: str, down_after_ms: int, failover_timeout_ms: int) -> None:
        self.master_port, self.service = master_port, service
        self.down_after_ms, self.failover_timeout_ms = down_after_ms, failover_timeout_ms
        super().__init__(())

    def _spawn(self) -> None:
        config = os.path.join(self.dir, "sentinel.conf")
        with open(config, "w") as f:
            f.write(f"port {self.port}\nbind {HOST}\ndir {self.dir}\n"
                    f"sentinel monitor {self.service} {HOST} {self.master_port} 2\n"
                    f"sentinel down-after-milliseconds {self.service} {self.down_after_ms}\n"
                    f"sentinel failover-timeout {self.service} {self.failover_timeout_ms}\n"
                    f"sentinel parallel-syncs {self.service} 1\n")
        self.process = subprocess.Popen(["redis-server", config, "--sentinel"], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class RedisSentinels(Redis):
    """A Redis Sentinel deployment on loopback: a master, a replica of it and three sentinels
    (quorum 2) watching `service`; ready once each sentinel knows the replica and the two other
    sentinels. `url` is its redis+sentinel:// URL. The same commands as core/tests/support/mod.rs:

        redis-server --port M --bind 127.0.0.1 --save "" --appendonly no --dir D1
        redis-server --port R --bind 127.0.0.1 --save "" --appendonly no --replicaof 127.0.0.1 M --dir D2
        redis-server sentinel.conf --sentinel      # x3, sentinel.conf as in SentinelServer
    """

    SCHEME = "redis+sentinel"

    def __init__(self, service: str = "potomaster", *, down_after_ms: int = 1000, failover_timeout_ms: int = 3000) -> None:
        self.password = None
        self.service = service
        self.data: list[RedisServer] = []
        self.sentinels: list[SentinelServer] = []
        try:
            master = RedisServer()
            self.data.append(master)
            self.data.append(RedisServer((*EPHEMERAL, "--replicaof", HOST, str(master.port))))
            self._wait("the replica to sync", lambda: "master_link_status:up" in self.data[1].cli("INFO", "replication"))
            for _ in range(3):
                self.sentinels.append(SentinelServer(master.port, service, down_after_ms, failover_timeout_ms))

            def ready(sentinel: SentinelServer) -> bool:
                fields = sentinel.cli("SENTINEL", "MASTER", service).splitlines()
                info = dict(zip(fields[::2], fields[1::2]))
                return info.get("num-slaves") == "1" and info.get("num-other-sentinels") == "2"

            self._wait("the sentinels to know each other and the replica", lambda: all(ready(s) for s in self.sentinels))
        except BaseException:
            self.stop()
            raise

    @staticmethod
    def _wait(what: str, done: Callable[[], bool], seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while not done():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out waiting for {what}")
            time.sleep(0.05)

    @property
    def nodes(self) -> list[RedisServer]:
        return self.data

    @property
    def url(self) -> str:
        return f"{self.SCHEME}://" + ",".join(s.address for s in self.sentinels) + f"/{self.service}"

    def master_port(self) -> int | None:
        """The master's port as the sentinels that answer name it, when they agree."""
        ports = set()
        for sentinel in self.sentinels:
            if sentinel.process.poll() is None:
                out = sentinel.cli("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service).splitlines()
                ports.add(int(out[1]) if len(out) == 2 else None)
        return ports.pop() if len(ports) == 1 else None

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.data if n.port == port)

    def failover(self) -> None:
        """`SENTINEL FAILOVER <service>` on the first sentinel: the master is demoted while up."""
        reply = self.sentinels[0].cli("SENTINEL", "FAILOVER", self.service)
        if reply != "OK":
            raise RuntimeError(f"SENTINEL FAILOVER: {reply}")

    def wait_for_new_master(self, old: int, seconds: float = 60) -> int:
        """Waits until the sentinels agree on a master other than `old` that says it is one."""
        def promoted() -> bool:
            port = self.master_port()
            return port not in (None, old) and self.node(port).cli("ROLE").startswith("master")

        self._wait("the sentinels to promote a new master", promoted, seconds)
        return self.master_port()  # type: ignore[return-value]

    def stop(self) -> None:
        for server in [*self.sentinels, *self.data]:
            server.stop()


class TestCerts:
    """Certificates for TLS tests, made by openssl in a temporary directory (removed by `stop()`),
    the same set as the Rust launcher's (core/tests/support/mod.rs): `ca.crt`/`ca.key` (the test
    CA), `server.*` (DNS:localhost, IP:127.0.0.1), `expired.*` (valid in 2020 only, by
    `openssl ca -startdate/-enddate`), `other-host.*` (DNS:other.example), `other-ca.crt` (an
    unrelated CA), `client.*` (a client certificate)."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="poto-certs-")
        try:
            os.makedirs(os.path.join(self.dir, "db"))
            os.makedirs(os.path.join(self.dir, "newcerts"))
            open(os.path.join(self.dir, "db", "index.txt"), "w").close()
            with open(os.path.join(self.dir, "db", "serial"), "w") as f:
                f.write("1000\n")
            with open(os.path.join(self.dir, "ca.cnf"), "w") as f:
                f.write(_CA_CONFIG.replace("$DIR", self.dir))
            ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
            for name, subject in (("ca", "poto test CA"), ("other-ca", "unrelated CA")):
                self._openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "3650",
                              "-subj", f"/CN={subject}")
            valid = ["-days", "365"]
            expired = ["-startdate", "20200101000000Z", "-enddate", "20210101000000Z"]
            for name, section, dates in (("server", "server", valid), ("expired", "server", expired),
                                         ("other-host", "other_host", valid), ("client", "client", valid)):
                self._openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN=poto {name}")
                self._openssl("ca", "-batch", "-notext", "-config", "ca.cnf", "-extensions", section, *dates,
                              "-in", f"{name}.csr", "-out", f"{name}.crt")
        except BaseException:
            self.stop()
            raise

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def read(self, name: str) -> str:
        with open(self.path(name)) as f:
            return f.read()

    def server_settings(self, tls_port: int, server_cert: str = "server", auth_clients: bool = False) -> list[str]:
        """redis-server settings for TLS on `tls_port` with the certificate `server_cert`."""
        return ["--tls-port", str(tls_port), "--tls-cert-file", self.path(f"{server_cert}.crt"),
                "--tls-key-file", self.path(f"{server_cert}.key"), "--tls-ca-cert-file", self.path("ca.crt"),
                "--tls-auth-clients", "yes" if auth_clients else "no"]

    def stop(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> TestCerts:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def _openssl(self, *args: str) -> None:
        subprocess.run(["openssl", *args], cwd=self.dir, check=True, stdin=subprocess.DEVNULL, capture_output=True)


#: The `openssl ca` configuration of TestCerts, shared with the Rust and Node launchers.
_CA_CONFIG = Path(__file__).with_name("test-ca.cnf").read_text()


def start_redis(masters: int = 1, settings: Sequence[str] = EPHEMERAL, *, replicas: int = 0, password: str | None = None) -> Redis:
    """One redis-server (masters == 1 and no replicas), else a cluster; either has `url`, `nodes`,
    `pids` and `stop()`, and stops when a `with` block ends."""
    if masters == 1 and replicas == 0:
        return RedisServer(settings, password=password)
    return RedisCluster(masters, replicas, settings, password=password)
