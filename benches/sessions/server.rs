//! The private redis-server of the Redis measurements (started by the Rust tests' launcher,
//! core/tests/support), registered for CPU accounting, its command statistics, and providers
//! on it.

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use poto_sessions::{RedisOptions, RedisSessionProvider};

use crate::cpu::SERVER_PID;
use crate::support::RedisServer;

/// The private server, registered for CPU accounting and command statistics while it runs.
pub(crate) struct BenchServer {
    server: RedisServer,
}

impl BenchServer {
    pub(crate) fn start() -> Result<BenchServer, String> {
        let server = RedisServer::try_start()?;
        SERVER_PID.store(u64::from(server.pid()), Ordering::Relaxed);
        let client = redis::Client::open(server.url()).map_err(|e| e.to_string())?;
        let mut conn = client.get_connection().map_err(|e| format!("redis-server on port {}: {e}", server.port))?;
        redis::cmd("PING").query::<String>(&mut conn).map_err(|e| e.to_string())?;
        *STATS.lock().unwrap() = Some(conn);
        Ok(BenchServer { server })
    }

    pub(crate) fn port(&self) -> u16 {
        self.server.port
    }

    pub(crate) fn url(&self) -> String {
        self.server.url()
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        // The launcher stops the server itself.
        SERVER_PID.store(0, Ordering::Relaxed);
        STATS.lock().unwrap().take();
    }
}

/// `redis-server --version`.
pub(crate) fn version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Sync connection to the private redis-server for its command statistics.
static STATS: std::sync::Mutex<Option<redis::Connection>> = std::sync::Mutex::new(None);

pub(crate) fn server_stats_reset() {
    if let Some(conn) = STATS.lock().unwrap().as_mut() {
        let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("RESETSTAT").query(conn);
    }
}

/// Top-level commands the server ran since the reset: calls per measured op and server time per call.
pub(crate) fn server_stats(ops: u64) -> String {
    let mut guard = STATS.lock().unwrap();
    let Some(conn) = guard.as_mut() else { return String::new() };
    let Ok(info) = redis::cmd("INFO").arg("commandstats").query::<String>(conn) else { return String::new() };
    let mut out = Vec::new();
    for line in info.lines() {
        let Some((name, rest)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else { continue };
        if !["evalsha", "eval", "hgetall", "get", "set", "exists"].contains(&name) {
            continue;
        }
        let field = |key: &str| {
            rest.split(',').find_map(|kv| kv.strip_prefix(key)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        };
        let calls = field("calls=");
        if calls > 0.0 {
            out.push(format!("{name} ×{:.2} {:.1}", calls / ops.max(1) as f64, field("usec_per_call=")));
        }
    }
    if out.is_empty() {
        String::new()
    } else {
        format!("server µs/call: {}", out.join(", "))
    }
}
static PREFIXES: AtomicU64 = AtomicU64::new(0);

/// A provider on a namespace no other measurement uses.
pub(crate) async fn redis_provider(url: &str, name: &str) -> RedisSessionProvider {
    let prefix = format!("bench{}-{name}:", PREFIXES.fetch_add(1, Ordering::Relaxed));
    RedisSessionProvider::connect(RedisOptions::new().url(url).prefix(prefix)).await.expect("connect to redis")
}
