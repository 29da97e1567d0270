//! A private redis-server per test binary: free loopback port, temp dir, stopped on drop. The
//! one launcher of the Rust tests and benchmarks: core's tests, ffi's and cli's (via `#[path]`),
//! and the benches crate. A TLS server ([`RedisServer::start_tls`], [`RedisCluster::start_tls`])
//! listens on a TLS port besides its plain one (kept for readiness checks and `redis-cli`),
//! with certificates from a CA that [`TestCerts::generate`] makes with `openssl`; so do the data
//! nodes and sentinels of [`SentinelDeployment::start_tls`].
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// The TLS port of a server started with [`RedisServer::start_tls`].
    pub tls_port: Option<u16>,
    /// Settings beyond port, bind address and directory; kept for [`RedisServer::restart`].
    settings: Vec<String>,
    dir: tempfile::TempDir,
    /// `requirepass`, for `cli` and the readiness check.
    password: Option<String>,
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
            let mut server =
                RedisServer { child, port, tls_port: None, settings: settings.clone(), dir, password: None };
            if server.wait_ready() {
                return Ok(server);
            }
        }
        Err("could not start redis-server".into())
    }

    /// A server that also speaks TLS on [`RedisServer::tls_port`], presenting the certificate
    /// `server_cert` of `certs` (`"server"`, `"expired"`, `"other-host"`), trusting `certs`' CA
    /// for client certificates, and requiring one when `auth_clients`.
    pub fn start_tls(certs: &TestCerts, server_cert: &str, auth_clients: bool) -> Self {
        for _ in 0..5 {
            let tls_port = free_port();
            let mut settings: Vec<&str> = EPHEMERAL.to_vec();
            let tls = certs.server_settings(tls_port, server_cert, auth_clients);
            settings.extend(tls.iter().map(String::as_str));
            if let Ok(mut server) = Self::try_start_with(&settings) {
                if server.wait_tls_ready(tls_port) {
                    server.tls_port = Some(tls_port);
                    return server;
                }
            }
        }
        panic!("could not start a TLS redis-server");
    }

    /// Whether the TLS port accepts connections.
    fn wait_tls_ready(&mut self, tls_port: u16) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// `rediss://localhost:<tls port>` (the host name the test certificates are for).
    pub fn tls_url(&self) -> String {
        format!("rediss://localhost:{}", self.tls_port.expect("not a TLS server"))
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
        let auth: Vec<&str> = match &self.password {
            Some(password) => vec!["--no-auth-warning", "-a", password],
            None => vec![],
        };
        let out = Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(auth)
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
        Self::start_inner(masters, replicas, settings, None)
    }

    /// A cluster whose nodes speak TLS to clients, to each other (`tls-cluster yes`) and to
    /// replicas (`tls-replication yes`), announcing 127.0.0.1 and their TLS ports; each node
    /// keeps a plain port for `cli`. [`RedisCluster::tls_url`] is its `rediss+cluster://` URL.
    pub fn start_tls(masters: usize, certs: &TestCerts) -> Self {
        Self::start_inner(masters, 0, &[], Some(certs))
    }

    fn start_inner(masters: usize, replicas: usize, settings: &[&str], certs: Option<&TestCerts>) -> Self {
        let mut nodes = Vec::new();
        while nodes.len() < masters * (1 + replicas) {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            // The cluster bus listens on (TLS) port + 10000.
            let bus_base = match certs {
                Some(_) => free_port(),
                None => port,
            };
            if bus_base > 55_000 || TcpListener::bind(("127.0.0.1", bus_base + 10_000)).is_err() {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let mut settings: Vec<String> = EPHEMERAL
                .iter()
                .chain(&["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
                .chain(settings)
                .map(|s| s.to_string())
                .collect();
            if let Some(certs) = certs {
                settings.extend(certs.server_settings(bus_base, "server", false));
                settings.extend(["--tls-cluster", "yes", "--tls-replication", "yes"].map(String::from));
            }
            let child = spawn(port, dir.path(), &settings);
            let mut server = RedisServer { child, port, tls_port: None, settings, dir, password: None };
            if server.wait_ready() && (certs.is_none() || server.wait_tls_ready(bus_base)) {
                server.tls_port = certs.map(|_| bus_base);
                nodes.push(server);
            }
        }
        let addresses: Vec<String> =
            nodes.iter().map(|n| format!("127.0.0.1:{}", n.tls_port.unwrap_or(n.port))).collect();
        let tls_args: Vec<String> = match certs {
            Some(certs) => vec!["--tls".into(), "--cacert".into(), certs.path("ca.crt").display().to_string()],
            None => Vec::new(),
        };
        let status = Command::new("redis-cli")
            .args(&tls_args)
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

    /// `rediss+cluster://` URL with every node's TLS port as a seed.
    pub fn tls_url(&self) -> String {
        let hosts: Vec<String> =
            self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.tls_port.expect("not a TLS cluster"))).collect();
        format!("rediss+cluster://{}", hosts.join(","))
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

/// A Redis Sentinel deployment on loopback: a master, a replica of it and three sentinels
/// (quorum 2) watching service [`SENTINEL_SERVICE`], with a short `down-after-milliseconds` and
/// `failover-timeout` so that a failover takes seconds. Data nodes and sentinels may each
/// require a password. Every process is stopped on drop.
pub struct SentinelDeployment {
    /// The data nodes: `[0]` starts as the master, `[1]` as its replica.
    pub nodes: Vec<RedisServer>,
    pub sentinels: Vec<RedisServer>,
    pub data_password: Option<String>,
    pub sentinel_password: Option<String>,
}

pub const SENTINEL_SERVICE: &str = "potomaster";
/// How long a master may stay silent before a sentinel deems it down.
pub const SENTINEL_DOWN_AFTER_MS: u64 = 1000;
pub const SENTINEL_FAILOVER_TIMEOUT_MS: u64 = 3000;

impl SentinelDeployment {
    pub fn start(data_password: Option<&str>, sentinel_password: Option<&str>) -> Self {
        Self::start_inner(data_password, sentinel_password, None)
    }

    /// The same deployment over TLS with `certs`' `server` certificate everywhere: the data nodes
    /// listen on a TLS port (the one the sentinels monitor and name) and the replica syncs over
    /// TLS (`tls-replication yes`); the sentinels listen on a TLS port and talk TLS to the data
    /// nodes and to each other (`tls-replication yes` in sentinel.conf). Every process keeps a
    /// plain port for `cli` and the readiness checks. [`SentinelDeployment::tls_url`] is its
    /// `rediss+sentinel://` URL.
    pub fn start_tls(certs: &TestCerts) -> Self {
        Self::start_inner(None, None, Some(certs))
    }

    fn start_inner(data_password: Option<&str>, sentinel_password: Option<&str>, certs: Option<&TestCerts>) -> Self {
        let auth: Vec<String> = match data_password {
            Some(pw) => vec!["--requirepass".into(), pw.into(), "--masterauth".into(), pw.into()],
            None => vec![],
        };
        let mut data_settings: Vec<&str> = EPHEMERAL.iter().copied().chain(auth.iter().map(String::as_str)).collect();
        if certs.is_some() {
            data_settings.extend(["--tls-replication", "yes"]);
        }
        let start = |settings: &[&str]| match certs {
            Some(certs) => RedisServer::start_tls_with_password(certs, settings, data_password),
            None => RedisServer::start_with_password(settings, data_password),
        };
        let master = start(&data_settings);
        // The port the replica and the sentinels reach the master on (with TLS, its TLS port).
        let master_port = master.tls_port.unwrap_or(master.port);
        let replica_of = master_port.to_string();
        let replica_settings: Vec<&str> =
            data_settings.iter().copied().chain(["--replicaof", "127.0.0.1", &replica_of]).collect();
        let replica = start(&replica_settings);
        wait_for("the replica to sync", || replica.cli(&["INFO", "replication"]).contains("master_link_status:up"));
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            sentinels.push(RedisServer::start_sentinel_with(master_port, data_password, sentinel_password, certs));
        }
        let deployment = SentinelDeployment {
            nodes: vec![master, replica],
            sentinels,
            data_password: data_password.map(str::to_owned),
            sentinel_password: sentinel_password.map(str::to_owned),
        };
        // Ready when each sentinel knows the replica and the two other sentinels.
        wait_for("the sentinels to know each other and the replica", || {
            deployment.sentinels.iter().all(|s| {
                let info = s.cli(&["SENTINEL", "MASTER", SENTINEL_SERVICE]);
                let field = |name: &str| {
                    let lines: Vec<&str> = info.lines().collect();
                    lines.iter().position(|l| *l == name).and_then(|i| lines.get(i + 1)).map(|v| v.trim().to_owned())
                };
                field("num-slaves").as_deref() == Some("1") && field("num-other-sentinels").as_deref() == Some("2")
            })
        });
        deployment
    }

    /// `redis+sentinel://` URL of the service, with the data nodes' password.
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.sentinels.iter().map(|s| format!("127.0.0.1:{}", s.port)).collect();
        let auth = self.data_password.as_ref().map(|pw| format!(":{pw}@")).unwrap_or_default();
        format!("redis+sentinel://{auth}{}/{SENTINEL_SERVICE}", hosts.join(","))
    }

    /// `rediss+sentinel://` URL of a deployment started with [`SentinelDeployment::start_tls`]:
    /// the sentinels' TLS ports.
    pub fn tls_url(&self) -> String {
        let hosts: Vec<String> =
            self.sentinels.iter().map(|s| format!("127.0.0.1:{}", s.tls_port.expect("not a TLS deployment"))).collect();
        format!("rediss+sentinel://{}/{SENTINEL_SERVICE}", hosts.join(","))
    }

    /// The port of the master as the first answering sentinel names it (with TLS, its TLS port).
    pub fn master_port(&self) -> Option<u16> {
        self.sentinels.iter().find_map(|s| {
            let out = s.cli(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE]);
            out.lines().nth(1).and_then(|p| p.trim().parse().ok())
        })
    }

    /// The data node listening on `port` (its plain or its TLS port).
    pub fn node(&self, port: u16) -> &RedisServer {
        self.nodes.iter().find(|n| n.has_port(port)).expect("a data node of the deployment")
    }

    pub fn node_mut(&mut self, port: u16) -> &mut RedisServer {
        self.nodes.iter_mut().find(|n| n.has_port(port)).expect("a data node of the deployment")
    }

    /// Waits until every sentinel names a master other than `old` and that node says it is a
    /// master; returns its port.
    pub fn wait_for_new_master(&self, old: u16) -> u16 {
        let mut found = 0;
        wait_for("the sentinels to promote a new master", || {
            let ports: Vec<Option<u16>> = self
                .sentinels
                .iter()
                .filter(|s| s.is_running())
                .map(|s| {
                    let out = s.cli(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SENTINEL_SERVICE]);
                    out.lines().nth(1).and_then(|p| p.trim().parse().ok())
                })
                .collect();
            match ports.first() {
                Some(Some(port)) if *port != old && ports.iter().all(|p| *p == Some(*port)) => {
                    found = *port;
                    self.nodes.iter().any(|n| n.has_port(found) && n.cli(&["ROLE"]).starts_with("master"))
                }
                _ => false,
            }
        });
        found
    }
}

fn wait_for(what: &str, done: impl FnMut() -> bool) {
    let mut done = done;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl RedisServer {
    /// A server with `settings` whose clients authenticate with `password` (its `requirepass`,
    /// which `settings` must set).
    pub fn start_with_password(settings: &[&str], password: Option<&str>) -> Self {
        let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let dir = tempfile::tempdir().unwrap();
            let child = spawn(port, dir.path(), &settings);
            let mut server = RedisServer {
                child,
                port,
                tls_port: None,
                settings: settings.clone(),
                dir,
                password: password.map(str::to_owned),
            };
            if server.wait_ready() {
                return server;
            }
        }
        panic!("could not start redis-server");
    }

    /// [`RedisServer::start_with_password`] with TLS as [`RedisServer::start_tls`] (`certs`'
    /// `server` certificate, no client certificate required) on [`RedisServer::tls_port`].
    pub fn start_tls_with_password(certs: &TestCerts, settings: &[&str], password: Option<&str>) -> Self {
        for _ in 0..5 {
            let tls_port = free_port();
            let tls = certs.server_settings(tls_port, "server", false);
            let settings: Vec<&str> = settings.iter().copied().chain(tls.iter().map(String::as_str)).collect();
            let mut server = Self::start_with_password(&settings, password);
            if server.wait_tls_ready(tls_port) {
                server.tls_port = Some(tls_port);
                return server;
            }
        }
        panic!("could not start a TLS redis-server");
    }

    /// Whether the server listens on `port`, plain or TLS.
    pub fn has_port(&self, port: u16) -> bool {
        self.port == port || self.tls_port == Some(port)
    }

    /// A sentinel (`redis-server sentinel.conf --sentinel`) watching the master on
    /// `master_port` as [`SENTINEL_SERVICE`], quorum 2.
    pub fn start_sentinel(master_port: u16, data_password: Option<&str>, password: Option<&str>) -> Self {
        Self::start_sentinel_with(master_port, data_password, password, None)
    }

    /// [`RedisServer::start_sentinel`], and with `certs` a TLS port too ([`RedisServer::tls_port`],
    /// no client certificate required) and TLS to the data nodes and the other sentinels
    /// (`tls-replication yes`); `master_port` is then the master's TLS port.
    pub fn start_sentinel_with(
        master_port: u16,
        data_password: Option<&str>,
        password: Option<&str>,
        certs: Option<&TestCerts>,
    ) -> Self {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let tls_port = certs.map(|_| free_port());
            let dir = tempfile::tempdir().unwrap();
            let config = dir.path().join("sentinel.conf");
            let mut text = format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                 sentinel monitor {SENTINEL_SERVICE} 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds {SENTINEL_SERVICE} {SENTINEL_DOWN_AFTER_MS}\n\
                 sentinel failover-timeout {SENTINEL_SERVICE} {SENTINEL_FAILOVER_TIMEOUT_MS}\n\
                 sentinel parallel-syncs {SENTINEL_SERVICE} 1\n",
                dir = dir.path().display()
            );
            if let (Some(certs), Some(tls_port)) = (certs, tls_port) {
                // The same directives as redis-server's --tls-* flags; tls-replication makes the
                // sentinel connect to the data nodes and to the other sentinels over TLS (and
                // announce its TLS port to them).
                let settings = certs.server_settings(tls_port, "server", false);
                for pair in settings.chunks(2) {
                    text.push_str(&format!("{} {}\n", pair[0].trim_start_matches("--"), pair[1]));
                }
                text.push_str("tls-replication yes\n");
            }
            if let Some(pw) = data_password {
                text.push_str(&format!("sentinel auth-pass {SENTINEL_SERVICE} {pw}\n"));
            }
            if let Some(pw) = password {
                // Sentinels authenticate to each other with their own requirepass.
                text.push_str(&format!("requirepass {pw}\nsentinel sentinel-pass {pw}\n"));
            }
            std::fs::write(&config, text).unwrap();
            let child = Command::new("redis-server")
                .arg(&config)
                .arg("--sentinel")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect(NOT_FOUND);
            let settings = vec![config.display().to_string(), "--sentinel".to_owned()];
            let mut server =
                RedisServer { child, port, tls_port: None, settings, dir, password: password.map(str::to_owned) };
            if server.wait_ready() && tls_port.is_none_or(|tls_port| server.wait_tls_ready(tls_port)) {
                server.tls_port = tls_port;
                return server;
            }
        }
        panic!("could not start redis-sentinel");
    }

    /// Whether the process is still running.
    pub fn is_running(&self) -> bool {
        // SAFETY: kill(2) with signal 0 only checks that our child exists.
        unsafe { libc::kill(self.child.id() as i32, 0) == 0 }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Certificates for TLS tests, made by `openssl` in a temporary directory (removed on drop):
///
/// | files | what |
/// |---|---|
/// | `ca.crt`, `ca.key` | the test CA |
/// | `server.crt`, `server.key` | for `DNS:localhost, IP:127.0.0.1`, by the CA |
/// | `expired.crt`, `expired.key` | the same names, valid in 2020 only (`openssl ca -startdate/-enddate`) |
/// | `other-host.crt`, `other-host.key` | for `DNS:other.example` only |
/// | `other-ca.crt` | a second, unrelated CA |
/// | `client.crt`, `client.key` | a client certificate by the CA |
pub struct TestCerts {
    dir: tempfile::TempDir,
}

impl TestCerts {
    pub fn generate() -> Self {
        let certs = TestCerts { dir: tempfile::tempdir().unwrap() };
        let d = certs.dir.path();
        for sub in ["db", "newcerts"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        std::fs::write(d.join("db/index.txt"), "").unwrap();
        std::fs::write(d.join("db/serial"), "1000\n").unwrap();
        std::fs::write(d.join("ca.cnf"), CA_CONFIG.replace("$DIR", &d.display().to_string())).unwrap();
        for (name, subject) in [("ca", "poto test CA"), ("other-ca", "unrelated CA")] {
            openssl(d, &["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.crt"), "-days", "3650"])
                .args(["-subj", &format!("/CN={subject}")])
                .finish();
        }
        let valid = ["-days", "365"];
        let expired = ["-startdate", "20200101000000Z", "-enddate", "20210101000000Z"];
        for (name, section, dates) in [
            ("server", "server", &valid[..]),
            ("expired", "server", &expired[..]),
            ("other-host", "other_host", &valid[..]),
            ("client", "client", &valid[..]),
        ] {
            openssl(d, &["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"])
                .args(["-keyout", &format!("{name}.key"), "-out", &format!("{name}.csr")])
                .args(["-subj", &format!("/CN=poto {name}")])
                .finish();
            openssl(d, &["ca", "-batch", "-notext", "-config", "ca.cnf", "-extensions", section])
                .args(dates)
                .args(["-in", &format!("{name}.csr"), "-out", &format!("{name}.crt")])
                .finish();
        }
        certs
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }

    /// redis-server settings for TLS on `tls_port` with the certificate `server_cert`.
    pub fn server_settings(&self, tls_port: u16, server_cert: &str, auth_clients: bool) -> Vec<String> {
        let path = |name: String| self.path(&name).display().to_string();
        vec![
            "--tls-port".into(),
            tls_port.to_string(),
            "--tls-cert-file".into(),
            path(format!("{server_cert}.crt")),
            "--tls-key-file".into(),
            path(format!("{server_cert}.key")),
            "--tls-ca-cert-file".into(),
            path("ca.crt".into()),
            "--tls-auth-clients".into(),
            if auth_clients { "yes" } else { "no" }.into(),
        ]
    }
}

/// The `openssl ca` configuration of [`TestCerts`], shared with the Python and Node launchers.
const CA_CONFIG: &str = include_str!("../../../tests/support/test-ca.cnf");

struct Openssl(Command);

fn openssl(dir: &Path, args: &[&str]) -> Openssl {
    let mut command = Command::new("openssl");
    command.current_dir(dir).args(args).stdin(Stdio::null());
    Openssl(command)
}

impl Openssl {
    fn args<I: IntoIterator<Item = S>, S: AsRef<std::ffi::OsStr>>(mut self, args: I) -> Self {
        self.0.args(args);
        self
    }

    fn finish(mut self) {
        let out = self.0.output().expect("openssl not found");
        assert!(out.status.success(), "{:?} failed: {}", self.0, String::from_utf8_lossy(&out.stderr));
    }
}
