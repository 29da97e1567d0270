//! A private redis-server per test binary: free loopback port, temp dir, stopped on drop. The
//! one launcher of the Rust tests and benchmarks: core's tests, ffi's and cli's (via `#[path]`),
//! and the benches crate.
#![allow(dead_code)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// Settings beyond port, bind address and directory; kept for [`RedisServer::restart`].
    settings: Vec<String>,
    dir: tempfile::TempDir,
}

/// No persistence: the default of every test server.
const EPHEMERAL: &[&str] = &["--save", "", "--appendonly", "no"];

const NOT_FOUND: &str = "redis-server not found: run scripts/install-deps.sh";

fn try_spawn(port: u16, dir: &std::path::Path, settings: &[String]) -> std::io::Result<Child> {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(settings)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
}

fn spawn(port: u16, dir: &std::path::Path, settings: &[String]) -> Child {
    try_spawn(port, dir, settings).expect(NOT_FOUND)
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(EPHEMERAL)
    }

    /// A server with `settings` (e.g. `--appendonly yes`) in place of the ephemeral defaults.
    pub fn start_with(settings: &[&str]) -> Self {
        Self::try_start_with(settings).unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`RedisServer::start`] for callers that carry on without Redis (the benchmarks): why not,
    /// instead of a panic.
    pub fn try_start() -> Result<Self, String> {
        Self::try_start_with(EPHEMERAL)
    }

    pub fn try_start_with(settings: &[&str]) -> Result<Self, String> {
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?.local_addr().unwrap().port();
            let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
            let child = try_spawn(port, dir.path(), &settings).map_err(|e| format!("{NOT_FOUND} ({e})"))?;
            let mut server = RedisServer { child, port, settings: settings.clone(), dir };
            if server.wait_ready() {
                return Ok(server);
            }
        }
        Err("could not start redis-server".into())
    }

    /// The server's process id (for its CPU accounting).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` to the server (e.g. `SIGSTOP` / `SIGCONT` to freeze and resume it).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid, which is only reaped by `stop` and `drop`.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Stops the server with `signal` (`SIGKILL`: a crash, `SIGTERM`: a clean shutdown) and
    /// waits until it has exited.
    pub fn stop(&mut self, signal: i32) {
        self.signal(signal);
        let _ = self.child.wait();
    }

    /// Starts the server again on the same port and directory, so it reads its data back.
    pub fn restart(&mut self) {
        self.child = spawn(self.port, self.dir.path(), &self.settings);
        assert!(self.wait_ready(), "redis-server did not restart on port {}", self.port);
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if self.cli(&["PING"]).trim() == "PONG" {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A server replicating `master` (`--replicaof`), returned once its link is up, the first
    /// sync is done and the master's `WAIT` counts it.
    pub fn start_replica_of(master: &RedisServer) -> Self {
        // Redis 7 waits 5 s before a diskless full sync, for more replicas to join it.
        assert_eq!(master.cli(&["CONFIG", "SET", "repl-diskless-sync-delay", "0"]).trim(), "OK");
        let port = master.port.to_string();
        let settings: Vec<&str> = EPHEMERAL.iter().copied().chain(["--replicaof", "127.0.0.1", &port]).collect();
        let replica = Self::start_with(&settings);
        replica.wait_replicating();
        // After a diskless sync the master streams writes to the replica only once it has
        // acknowledged an offset, which a replica does once a second: until then a WAIT after a
        // write counts no replica. Probe with one, on one connection.
        let deadline = Instant::now() + Duration::from_secs(30);
        while master.cli_script("SET poto-test:probe 1\nDEL poto-test:probe\nWAIT 1 100\n").lines().last() != Some("1")
        {
            assert!(Instant::now() < deadline, "master on port {} never counted its replica", master.port);
            std::thread::sleep(Duration::from_millis(20));
        }
        replica
    }

    /// Waits until this replica's link to its master is up.
    pub fn wait_replicating(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.info("replication").contains("master_link_status:up") {
            assert!(Instant::now() < deadline, "replica on port {} did not sync", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `INFO <section>`.
    pub fn info(&self, section: &str) -> String {
        self.cli(&["INFO", section])
    }

    /// Runs the commands of `script`, one a line, over one `redis-cli` connection; their output.
    pub fn cli_script(&self, script: &str) -> String {
        use std::io::Write;
        let mut child = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-cli not found");
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `redis-cli` against this server and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .expect("redis-cli not found");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A local Redis Cluster, stopped on drop.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start(masters: usize) -> Self {
        Self::start_with(masters, 0, &[])
    }

    /// `masters` masters with `replicas` replicas each (`redis-cli --cluster create
    /// --cluster-replicas`), every node with `settings` too (e.g. `--cluster-node-timeout`).
    /// Returned once every node sees the cluster ok and every replica is in sync.
    pub fn start_with(masters: usize, replicas: usize, settings: &[&str]) -> Self {
        let mut nodes = Vec::new();
        while nodes.len() < masters * (1 + replicas) {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            // The cluster bus listens on port + 10000.
            if port > 55_000 || TcpListener::bind(("127.0.0.1", port + 10_000)).is_err() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let settings: Vec<String> = EPHEMERAL
                .iter()
                .chain(&["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
                .chain(settings)
                .map(|s| s.to_string())
                .collect();
            let child = spawn(port, dir.path(), &settings);
            let mut server = RedisServer { child, port, settings, dir };
            if server.wait_ready() {
                nodes.push(server);
            }
        }
        let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli not found");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = RedisCluster { nodes };
        let deadline = Instant::now() + Duration::from_secs(30);
        let known = format!("cluster_known_nodes:{}", cluster.nodes.len());
        let ready = |n: &RedisServer| {
            let info = n.cli(&["CLUSTER", "INFO"]);
            let replication = n.info("replication");
            info.contains("cluster_state:ok")
                && info.contains(&known)
                && (replication.contains("role:master") || replication.contains("master_link_status:up"))
        };
        while !cluster.nodes.iter().all(ready) {
            assert!(Instant::now() < deadline, "cluster did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
        cluster
    }

    /// The nodes that are masters now (by `INFO replication`; a stopped node is none).
    pub fn masters(&self) -> Vec<&RedisServer> {
        self.nodes.iter().filter(|n| n.info("replication").contains("role:master")).collect()
    }

    /// The node with `port`.
    pub fn node(&self, port: u16) -> &RedisServer {
        self.nodes.iter().find(|n| n.port == port).expect("no node on that port")
    }

    pub fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        self.nodes.iter_mut().find(|n| n.port == port).expect("no node on that port")
    }

    /// `redis+cluster://` URL with every node as a seed.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
        format!("redis+cluster://{}", hosts.join(","))
    }
}
