//! Throughput and latency of the poto-sessions providers (results: BENCHMARKS.md).
//!
//! ```text
//! cargo bench -p poto-sessions --bench sessions                 # every measurement, ~3 s each
//! cargo bench -p poto-sessions --bench sessions -- --quick      # ~0.5 s each (CI smoke run)
//! cargo bench -p poto-sessions --bench sessions -- --scale      # plus the 1M-session run
//! ```
//!
//! Exits with status 1 when an operation fails, an update is lost or a scale count is off; missed
//! performance targets are reported (MISS) but do not fail the run.
//!
//! Flags (env):
//! - `--quick` (`POTO_BENCH_QUICK=1`): 0.5 s per measurement, redis-benchmark with -n 20000.
//! - `--scale` (`POTO_BENCH_SCALE=1`): add the scale run; `--scale-sessions=N`
//!   (`POTO_BENCH_SCALE_SESSIONS`, default 1,000,000).
//! - `--no-redis` (`POTO_BENCH_NO_REDIS=1`): in-memory only.
//! - `--only=tight,memory,redis-benchmark,redis,cas,scale`: run only these parts.
//! - `--op=TEXT`, `--flights=1,64`: provider operations whose name contains TEXT, at these
//!   in-flight counts.
//! - Experiments: `--workers=N` (runtime workers, default 2), `--raw-connections=N` (connections
//!   of the raw redis-rs baseline, default 1), `--cas-base-delay-us=N` (first backoff ceiling of
//!   the contention run, default 500).
//!
//! Redis measurements run against a private `redis-server` the bench starts on a free loopback
//! port with a temporary directory (`--save "" --appendonly no`) and kills at the end; no other
//! Redis is touched. `redis-benchmark` runs as a subprocess against the same server.

use std::future::Future;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use poto_sessions::redis::shard_of;
use poto_sessions::update::{update_session, Change, RetryPolicy};
use poto_sessions::NumberModel;
use poto_sessions::{
    InMemorySessionProvider, PotoModule, RedisOptions, RedisSessionProvider, SessionData, SessionProvider,
};
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value};

/// The session write script exactly as the provider sends it (same text, so the same SHA1).
const WRITE_LUA: &str =
    concat!(include_str!("../src/redis/lua/common.lua"), include_str!("../src/redis/lua/write.lua"));
/// The provider's default TTL (24 h) in ms, as the write script receives it.
const TTL_MS: u64 = 24 * 60 * 60 * 1000;
/// Users the get/set/update/module measurements spread over.
const USERS: usize = 10_000;
/// Target size of one stored session: keys + JSON texts, as the provider counts it.
const SESSION_BYTES: usize = 500;
/// Hot keys and updaters of the compare-and-set measurement.
const HOT_KEYS: usize = 100;
const UPDATERS: usize = 64;
/// Flight sizes measured for every operation.
const FLIGHTS: [usize; 2] = [1, 64];

type OpResult = Result<(), String>;

// ---------------------------------------------------------------------------------------------
// Configuration

#[derive(Debug, Clone)]
struct Config {
    quick: bool,
    scale: bool,
    redis: bool,
    scale_sessions: usize,
    /// `--op=TEXT`: only provider operations whose name contains TEXT.
    op: Option<String>,
    /// `--flights=1,64`: in-flight counts of the provider operations.
    flights: Vec<usize>,
    /// `--workers=N`: worker threads of the multi-thread runtime (default 2).
    workers: usize,
    /// Retry policy of the compare-and-set contention run (`--cas-base-delay-us=N` overrides the
    /// first backoff ceiling; default: `RetryPolicy::default()`).
    cas_policy: RetryPolicy,
    /// `--raw-connections=N`: multiplexed connections of the raw redis-rs baseline (default 1;
    /// task `t` uses connection `t % N`).
    raw_connections: usize,
    /// `--only=a,b`: run only these parts (tight, memory, redis-benchmark, redis, cas, scale).
    only: Option<Vec<String>>,
    /// Length of one measurement.
    duration: Duration,
    /// Unmeasured run before each measurement.
    warmup: Duration,
}

impl Config {
    fn from_env() -> Config {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let env_on = |name: &str| std::env::var(name).map(|v| !v.is_empty() && v != "0").unwrap_or(false);
        let flag = |name: &str| args.iter().any(|a| a == name);
        // `cargo bench` passes --bench; run by `cargo test` the bench is a short smoke run.
        let quick = flag("--quick") || env_on("POTO_BENCH_QUICK") || !flag("--bench");
        let scale = flag("--scale") || env_on("POTO_BENCH_SCALE");
        let redis = !(flag("--no-redis") || env_on("POTO_BENCH_NO_REDIS"));
        let scale_sessions = args
            .iter()
            .find_map(|a| a.strip_prefix("--scale-sessions="))
            .map(str::to_owned)
            .or_else(|| std::env::var("POTO_BENCH_SCALE_SESSIONS").ok())
            .and_then(|v| v.replace('_', "").parse().ok())
            .unwrap_or(1_000_000);
        let only = args
            .iter()
            .find_map(|a| a.strip_prefix("--only="))
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect());
        let op = args.iter().find_map(|a| a.strip_prefix("--op=")).map(str::to_owned);
        let flights = args
            .iter()
            .find_map(|a| a.strip_prefix("--flights="))
            .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
            .unwrap_or_else(|| FLIGHTS.to_vec());
        let workers = args
            .iter()
            .find_map(|a| a.strip_prefix("--workers="))
            .and_then(|n| n.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(2);
        let raw_connections = args
            .iter()
            .find_map(|a| a.strip_prefix("--raw-connections="))
            .and_then(|n| n.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(1);
        let mut cas_policy = RetryPolicy::default();
        if let Some(us) = args.iter().find_map(|a| a.strip_prefix("--cas-base-delay-us=")).and_then(|n| n.parse().ok())
        {
            cas_policy.base_delay = Duration::from_micros(us);
        }
        let (duration, warmup) = if quick {
            (Duration::from_millis(500), Duration::from_millis(100))
        } else {
            (Duration::from_secs(3), Duration::from_millis(500))
        };
        Config {
            quick,
            scale,
            redis,
            scale_sessions,
            op,
            flights,
            workers,
            raw_connections,
            cas_policy,
            only,
            duration,
            warmup,
        }
    }

    fn wants(&self, part: &str) -> bool {
        match &self.only {
            Some(parts) => parts.iter().any(|p| p == part),
            None => part != "scale" || self.scale,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Measurement

fn new_histogram() -> Histogram<u64> {
    // Nanoseconds, 1 ns .. 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds")
}

struct Measured {
    /// Server-side command statistics of the run (Redis only).
    server: String,
    /// CPU used during the run, in cores: (this process, the private redis-server, the rest of the machine).
    cpu: (f64, Option<f64>, Option<f64>),
    ops: u64,
    errors: u64,
    first_error: Option<String>,
    secs: f64,
    hist: Histogram<u64>,
}

impl Measured {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    fn p50_us(&self) -> f64 {
        self.hist.value_at_quantile(0.50) as f64 / 1000.0
    }
    fn p99_us(&self) -> f64 {
        self.hist.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// Runs `op` from `in_flight` tasks until `duration` has passed; each call is timed on its own.
/// `op` gets its task number and a random index below `keys`. Each task yields after every call, so that 64 tasks
/// really interleave on the two workers even when the operation never suspends (in-memory); a
/// single task does not yield (it would only wake the idle worker).
async fn run_tasks<F, Fut>(op: Arc<F>, in_flight: usize, duration: Duration, keys: usize) -> Measured
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    let cpu_before = cpu_snapshot();
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(in_flight);
    for t in 0..in_flight {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(0x5eed_0000 + t as u64);
            let mut hist = new_histogram();
            let (mut ops, mut errors, mut first_error) = (0u64, 0u64, None);
            loop {
                let index = rng.usize(..keys);
                let t0 = Instant::now();
                let result = op(t, index).await;
                let t1 = Instant::now();
                hist.saturating_record((t1 - t0).as_nanos() as u64);
                ops += 1;
                if let Err(e) = result {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
                if t1 >= deadline {
                    break;
                }
                if in_flight > 1 {
                    tokio::task::yield_now().await;
                }
            }
            (ops, errors, first_error, hist)
        }));
    }
    let mut total = Measured {
        server: String::new(),
        cpu: (0.0, None, None),
        ops: 0,
        errors: 0,
        first_error: None,
        secs: 0.0,
        hist: new_histogram(),
    };
    for task in tasks {
        let (ops, errors, first_error, hist) = task.await.expect("benchmark task panicked");
        total.ops += ops;
        total.errors += errors;
        if total.first_error.is_none() {
            total.first_error = first_error;
        }
        total.hist.add(&hist).expect("histogram merge");
    }
    total.secs = start.elapsed().as_secs_f64();
    total.cpu = cpu_used(cpu_before, cpu_snapshot(), total.secs);
    total
}

/// PID of the private redis-server, for its CPU accounting.
static SERVER_PID: AtomicU64 = AtomicU64::new(0);

/// utime + stime of a process in clock ticks.
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Busy ticks of the whole machine (every CPU), from /proc/stat.
fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    Some(v.iter().take(8).sum::<u64>() - v.get(3)? - v.get(4)?)
}

type CpuSnapshot = (Option<u64>, Option<u64>, Option<u64>);

fn cpu_snapshot() -> CpuSnapshot {
    let server = match SERVER_PID.load(Ordering::Relaxed) {
        0 => None,
        pid => cpu_ticks(&pid.to_string()),
    };
    (cpu_ticks("self"), server, machine_busy_ticks())
}

/// Cores used during a run: (this process, the private redis-server, everything else on the machine).
fn cpu_used(before: CpuSnapshot, after: CpuSnapshot, secs: f64) -> (f64, Option<f64>, Option<f64>) {
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cores = |b: Option<u64>, a: Option<u64>| Some(a?.saturating_sub(b?) as f64 / tck / secs);
    let bench = cores(before.0, after.0);
    let server = cores(before.1, after.1);
    let other = cores(before.2, after.2).map(|all| (all - bench.unwrap_or(0.0) - server.unwrap_or(0.0)).max(0.0));
    (bench.unwrap_or(f64::NAN), server, other)
}

/// A warm-up run, then the measured run.
async fn measure<F, Fut>(cfg: &Config, in_flight: usize, keys: usize, op: F) -> Measured
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = OpResult> + Send + 'static,
{
    let op = Arc::new(op);
    run_tasks(op.clone(), in_flight, cfg.warmup, keys).await;
    server_stats_reset();
    let mut m = run_tasks(op, in_flight, cfg.duration, keys).await;
    m.server = server_stats(m.ops);
    m
}

/// Sync connection to the private redis-server for its command statistics.
static STATS: std::sync::Mutex<Option<redis::Connection>> = std::sync::Mutex::new(None);

fn server_stats_reset() {
    if let Some(conn) = STATS.lock().unwrap().as_mut() {
        let _: redis::RedisResult<()> = redis::cmd("CONFIG").arg("RESETSTAT").query(conn);
    }
}

/// Top-level commands the server ran since the reset: calls per measured op and server time per call.
fn server_stats(ops: u64) -> String {
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

// ---------------------------------------------------------------------------------------------
// Reporting

struct Row {
    what: String,
    in_flight: String,
    rate: f64,
    p50_us: f64,
    p99_us: f64,
    note: String,
}

/// Set when an operation failed, an update was lost or a scale check did not add up: the run then
/// exits with status 1 (missed performance targets do not change the status).
static FAILED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

impl Row {
    fn from(what: impl Into<String>, in_flight: usize, m: &Measured) -> Row {
        let mut note = String::new();
        if m.errors > 0 {
            FAILED.store(true, Ordering::Relaxed);
            note = format!("{} ERRORS (first: {}); ", m.errors, m.first_error.as_deref().unwrap_or("?"));
        }
        note.push_str(&format!("CPU: bench {:.2}", m.cpu.0));
        if let Some(server) = m.cpu.1 {
            note.push_str(&format!(", redis {server:.2}"));
        }
        if let Some(other) = m.cpu.2 {
            note.push_str(&format!(", other {other:.2}"));
        }
        if !m.server.is_empty() {
            note.push_str("; ");
            note.push_str(&m.server);
        }
        Row {
            what: what.into(),
            in_flight: in_flight.to_string(),
            rate: m.rate(),
            p50_us: m.p50_us(),
            p99_us: m.p99_us(),
            note,
        }
    }
    fn note(mut self, note: impl AsRef<str>) -> Row {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(note.as_ref());
        self
    }
}

fn print_table(title: &str, rows: &[Row]) {
    println!("\n### {title}\n");
    let w = rows.iter().map(|r| r.what.len()).max().unwrap_or(10).max(9);
    println!("| {:<w$} | in flight | {:>12} | {:>10} | {:>10} | notes", "operation", "ops/s", "p50 µs", "p99 µs");
    println!("|{}|----------:|{}:|{}:|{}:|------", "-".repeat(w + 2), "-".repeat(13), "-".repeat(11), "-".repeat(11));
    let us = |x: f64| if x.is_finite() { format!("{x:.2}") } else { "-".into() };
    for r in rows {
        println!(
            "| {:<w$} | {:>9} | {:>12} | {:>10} | {:>10} | {}",
            r.what,
            r.in_flight,
            group(r.rate),
            us(r.p50_us),
            us(r.p99_us),
            r.note
        );
    }
}

/// 1234567.8 → "1,234,568".
fn group(x: f64) -> String {
    let n = x.round() as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 0.001 {
        format!("{:.1} µs", s * 1e6)
    } else if s < 1.0 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.2} s", s)
    }
}

/// The targets of the issue, checked at the end.
#[derive(Default)]
struct Verdicts {
    lines: Vec<(bool, String)>,
}

impl Verdicts {
    fn check(&mut self, pass: bool, what: String) {
        self.lines.push((pass, what));
    }
    fn print(&self) {
        println!("\n### Targets\n");
        for (pass, what) in &self.lines {
            println!("- {} {}", if *pass { "PASS" } else { "MISS" }, what);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Session data

fn user(i: usize) -> String {
    format!("user-{i:05}")
}

/// Size of a session as the provider counts it (keys + JSON texts).
fn stored_size(data: &SessionData) -> usize {
    data.iter().map(|(k, v)| k.len() + v.to_string().len()).sum()
}

/// A ~500-byte session of 10 fields (userId filled in by the provider, createdAt and
/// lastActivity stamped by it): the shape of a chat server's session.
fn session_template() -> SessionData {
    let mut data = json!({
        "counter": 0,
        "currentModelName": "llm1",
        "systemPrompt": "",
        "currentConversationId": "c0a8012e-7f3b-4d2a-9b1e-5f6a7c8d9e0f",
        "theme": "dark",
        "locale": "en-US",
        "cart": [{"sku": "A-1001", "qty": 2, "price": 19.99}, {"sku": "B-2002", "qty": 1, "price": 5.5}],
        "preferences": {"notifications": true, "fontSize": 14, "timezone": "Europe/Berlin", "beta": false},
        "recentSearches": ["rust async runtime", "redis lua scripting", "session store design"],
    })
    .as_object()
    .cloned()
    .unwrap();
    // userId (6 + 12) and the two timestamps (9 + 26, 12 + 26) are added on write.
    let stamped = "userId".len() + "\"user-00000\"".len() + 9 + 26 + 12 + 26;
    let pad = SESSION_BYTES.saturating_sub(stored_size(&data) + stamped);
    let prompt = "You are a concise assistant for the Poto demo; answer briefly and cite your sources. "
        .repeat(4)
        .chars()
        .take(pad)
        .collect::<String>();
    data.insert("systemPrompt".into(), Value::String(prompt));
    data
}

fn bump_counter(mut data: SessionData) -> SessionData {
    let n = data.get("counter").and_then(Value::as_i64).unwrap_or(0);
    data.insert("counter".into(), Value::from(n + 1));
    data
}

fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

// ---------------------------------------------------------------------------------------------
// Provider operations

async fn populate<P: SessionProvider + ?Sized>(provider: &Arc<P>, template: &SessionData, n: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (provider, template, next) = (provider.clone(), template.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                provider.set_session(&user(i), template.clone(), None).await.expect("populate");
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// get_session, set_session, update_session (+1 on a counter) and PotoModule::get_user_session_for
/// at each flight size. `fresh` makes a provider on a new, populated namespace for each measurement.
async fn provider_ops<P, MK, MF>(cfg: &Config, label: &str, fresh: MK, mut raw: Option<&mut RawBaseline>) -> Vec<Row>
where
    P: SessionProvider,
    MK: Fn() -> MF,
    MF: Future<Output = Arc<P>>,
{
    let template = Arc::new(session_template());
    let users: Arc<Vec<String>> = Arc::new((0..USERS).map(user).collect());
    let mut rows = Vec::new();
    for op in ["get_session", "set_session", "update_session (+1)", "PotoModule::get_user_session_for"] {
        if cfg.op.as_deref().is_some_and(|f| !op.contains(f)) {
            continue;
        }
        for in_flight in cfg.flights.iter().copied() {
            let provider = fresh().await;
            populate(&provider, &template, USERS).await;
            let (p, u, t) = (provider.clone(), users.clone(), template.clone());
            let m = match op {
                "get_session" => {
                    measure(cfg, in_flight, USERS, move |_, i| {
                        let (p, u) = (p.clone(), u.clone());
                        async move {
                            match p.get_session(&u[i]).await {
                                Ok(Some(_)) => Ok(()),
                                Ok(None) => Err("session missing".into()),
                                Err(e) => Err(err(e)),
                            }
                        }
                    })
                    .await
                }
                "set_session" => {
                    measure(cfg, in_flight, USERS, move |_, i| {
                        let (p, u, t) = (p.clone(), u.clone(), t.clone());
                        async move { p.set_session(&u[i], (*t).clone(), None).await.map_err(err) }
                    })
                    .await
                }
                "update_session (+1)" => {
                    measure(cfg, in_flight, USERS, move |_, i| {
                        let (p, u) = (p.clone(), u.clone());
                        async move {
                            let policy = RetryPolicy::default();
                            update_session(&*p, &u[i], None, &policy, NumberModel::Exact, |current| {
                                let data = bump_counter(current.unwrap_or_default());
                                async move { Ok(Change::Write(data)) }
                            })
                            .await
                            .map(|_| ())
                            .map_err(err)
                        }
                    })
                    .await
                }
                _ => {
                    let module = Arc::new(PotoModule::new().with_provider(p as Arc<dyn SessionProvider>));
                    measure(cfg, in_flight, USERS, move |_, i| {
                        let (m, u) = (module.clone(), u.clone());
                        async move { m.get_user_session_for(&u[i]).await.map(|_| ()).map_err(err) }
                    })
                    .await
                }
            };
            let mut row = Row::from(format!("{label} {op}"), in_flight, &m);
            // The same commands from raw redis-rs on one multiplexed connection, same keys.
            if let (Some(raw), Some(redis)) = (raw.as_deref_mut(), as_redis(&provider)) {
                let raw_m = match op {
                    "get_session" => Some(raw.get(cfg, redis, in_flight).await),
                    "set_session" => Some(raw.set(cfg, redis, in_flight).await),
                    _ => None,
                };
                if let Some(raw_m) = raw_m {
                    let ratio = m.rate() / raw_m.rate();
                    row = row.note(format!("raw redis-rs {} ops/s → provider/raw {:.2}", group(raw_m.rate()), ratio));
                    let raw_row = Row::from(format!("raw redis-rs, same commands: {op}"), in_flight, &raw_m);
                    raw.results.push((op.to_owned(), in_flight, m.rate(), raw_m.rate()));
                    rows.push(row);
                    rows.push(raw_row);
                    provider.clear().await.ok();
                    continue;
                }
            }
            rows.push(row);
            provider.clear().await.ok();
        }
    }
    rows
}

fn as_redis<P: SessionProvider>(provider: &Arc<P>) -> Option<&RedisSessionProvider> {
    (&**provider as &dyn std::any::Any).downcast_ref::<RedisSessionProvider>()
}

// ---------------------------------------------------------------------------------------------
// Private redis-server

struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    fn start() -> Result<RedisServer, String> {
        let dir = tempfile::Builder::new().prefix("poto-bench-redis").tempdir().map_err(err)?;
        let port = loop {
            let port = TcpListener::bind("127.0.0.1:0").map_err(err)?.local_addr().map_err(err)?.port();
            if port != 6379 {
                break port;
            }
        };
        let log = dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .arg("--port")
            .arg(port.to_string())
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        SERVER_PID.store(u64::from(child.id()), Ordering::Relaxed);
        let server = RedisServer { child, port, dir };
        let client = redis::Client::open(server.url()).map_err(err)?;
        let started = Instant::now();
        loop {
            if let Ok(mut conn) = client.get_connection() {
                if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                    *STATS.lock().unwrap() = Some(conn);
                    return Ok(server);
                }
            }
            if started.elapsed() > Duration::from_secs(10) {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("redis-server on port {port} did not answer: {log}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        SERVER_PID.store(0, Ordering::Relaxed);
        STATS.lock().unwrap().take();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

static PREFIXES: AtomicU64 = AtomicU64::new(0);

/// A provider on a namespace no other measurement uses.
async fn redis_provider(url: &str, name: &str) -> RedisSessionProvider {
    let prefix = format!("bench{}-{name}:", PREFIXES.fetch_add(1, Ordering::Relaxed));
    RedisSessionProvider::connect(RedisOptions::new().url(url).prefix(prefix)).await.expect("connect to redis")
}

// ---------------------------------------------------------------------------------------------
// Raw redis-rs baseline

/// What `RedisSessionProvider` would send, built by hand: keys as `Layout` makes them.
struct RawBaseline {
    /// The connection `--raw-connections` adds more of (task `t` uses `conns[t % n]`).
    conns: Arc<Vec<MultiplexedConnection>>,
    conn: MultiplexedConnection,
    write: redis::Script,
    users: Arc<Vec<String>>,
    /// The template's fields (without userId) as `(name, JSON text)`.
    fields: Arc<Vec<(String, String)>>,
    /// (op, in flight, provider ops/s, raw ops/s)
    results: Vec<(String, usize, f64, f64)>,
}

struct RawKeys {
    session: String,
    exp: String,
    act: String,
    seq: String,
}

fn raw_keys(prefix: &str, user_id: &str) -> RawKeys {
    let base = format!("{prefix}{{{:02}}}:", shard_of(user_id));
    RawKeys {
        session: format!("{base}s:{user_id}"),
        exp: format!("{base}i:exp"),
        act: format!("{base}i:act"),
        seq: format!("{base}i:seq"),
    }
}

impl RawBaseline {
    async fn new(url: &str, connections: usize) -> RawBaseline {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.expect("raw connection");
        let mut conns = vec![conn.clone()];
        for _ in 1..connections {
            conns.push(client.get_multiplexed_async_connection().await.expect("raw connection"));
        }
        let write = redis::Script::new(WRITE_LUA);
        let sha = write.prepare_invoke().load_async(&mut conn).await.expect("SCRIPT LOAD");
        assert_eq!(sha, write.get_hash());
        let fields = session_template().iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        RawBaseline {
            conns: Arc::new(conns),
            conn,
            write,
            users: Arc::new((0..USERS).map(user).collect()),
            fields: Arc::new(fields),
            results: Vec::new(),
        }
    }

    fn prefix_of(provider: &RedisSessionProvider) -> String {
        provider.options().prefix.clone()
    }

    /// `HGETALL <session key>`, as `get_session` sends it.
    async fn get(&mut self, cfg: &Config, provider: &RedisSessionProvider, in_flight: usize) -> Measured {
        let prefix = Arc::new(Self::prefix_of(provider));
        assert_eq!(raw_keys(&prefix, "user-00042").session, provider.session_key("user-00042"));
        let (conns, users) = (self.conns.clone(), self.users.clone());
        measure(cfg, in_flight, USERS, move |t, i| {
            let (mut conn, users, prefix) = (conns[t % conns.len()].clone(), users.clone(), prefix.clone());
            async move {
                let key = raw_keys(&prefix, &users[i]).session;
                let reply: redis::Value = redis::cmd("HGETALL").arg(key).query_async(&mut conn).await.map_err(err)?;
                match reply {
                    redis::Value::Array(ref a) if !a.is_empty() => Ok(()),
                    redis::Value::Map(ref m) if !m.is_empty() => Ok(()),
                    other => Err(format!("unexpected HGETALL reply {other:?}")),
                }
            }
        })
        .await
    }

    /// `EVALSHA <write script> 4 <session> <exp> <act> <seq> <user> <ttl> set 0 0 <size> <pairs…>`,
    /// as `set_session` sends it.
    async fn set(&mut self, cfg: &Config, provider: &RedisSessionProvider, in_flight: usize) -> Measured {
        let prefix = Arc::new(Self::prefix_of(provider));
        // The raw write must store a session the provider reads back.
        {
            let mut conn = self.conn.clone();
            raw_set_cmd(&self.write, &prefix, "raw-check", &self.fields)
                .query_async::<redis::Value>(&mut conn)
                .await
                .unwrap();
            let back = provider.get_session("raw-check").await.expect("read back raw write").expect("raw write stored");
            assert_eq!(back.get("systemPrompt"), session_template().get("systemPrompt"));
            provider.delete_session("raw-check").await.unwrap();
        }
        let (conns, users, fields) = (self.conns.clone(), self.users.clone(), self.fields.clone());
        let script = Arc::new(self.write.clone());
        measure(cfg, in_flight, USERS, move |t, i| {
            let (mut conn, users, fields, prefix, script) =
                (conns[t % conns.len()].clone(), users.clone(), fields.clone(), prefix.clone(), script.clone());
            async move {
                let cmd = raw_set_cmd(&script, &prefix, &users[i], &fields);
                let reply: redis::Value = cmd.query_async(&mut conn).await.map_err(err)?;
                match reply {
                    redis::Value::Array(ref a) if a.first() == Some(&redis::Value::Int(1)) => Ok(()),
                    other => Err(format!("unexpected write reply {other:?}")),
                }
            }
        })
        .await
    }
}

fn raw_set_cmd(script: &redis::Script, prefix: &str, user_id: &str, fields: &[(String, String)]) -> redis::Cmd {
    let keys = raw_keys(prefix, user_id);
    let owner = Value::String(user_id.to_owned()).to_string();
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>() + "userId".len() + owner.len();
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(4).arg(&keys.session).arg(&keys.exp).arg(&keys.act).arg(&keys.seq);
    // member, ttl_ms, mode, expected version, has createdAt, size, field/value pairs.
    cmd.arg(user_id).arg(TTL_MS).arg("set").arg(0).arg("0").arg(size);
    for (k, v) in fields {
        cmd.arg(k).arg(v);
    }
    cmd.arg("userId").arg(owner);
    cmd
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark baseline

struct RedisBenchmark {
    pipeline: u32,
    requests: u64,
    /// (test, requests/s, p50 ms)
    results: Vec<(String, f64, Option<f64>)>,
}

fn redis_benchmark(port: u16, pipeline: u32, requests: u64) -> Result<RedisBenchmark, String> {
    let out = Command::new("redis-benchmark")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-t", "get,set", "-n", &requests.to_string()])
        .args(["-c", "50", "-P", &pipeline.to_string(), "-d", "500", "-q"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run redis-benchmark: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut results = Vec::new();
    for line in text.split(['\r', '\n']) {
        let line = line.trim();
        let Some((name, rest)) = line.split_once(':') else { continue };
        let Some(rps) = rest.trim().strip_suffix_part(" requests per second") else { continue };
        let Ok(rps) = rps.trim().parse::<f64>() else { continue };
        let p50 =
            rest.split_once("p50=").and_then(|(_, p)| p.split_whitespace().next()).and_then(|p| p.parse::<f64>().ok());
        results.push((name.trim().to_owned(), rps, p50));
    }
    if results.is_empty() {
        return Err(format!("no results in redis-benchmark output: {text:?} {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(RedisBenchmark { pipeline, requests, results })
}

trait StripPart {
    fn strip_suffix_part(&self, pat: &str) -> Option<&str>;
}

impl StripPart for str {
    /// The text before `pat` when `pat` occurs.
    fn strip_suffix_part(&self, pat: &str) -> Option<&str> {
        self.find(pat).map(|i| &self[..i])
    }
}

// ---------------------------------------------------------------------------------------------
// Compare-and-set under contention

struct CasResult {
    label: String,
    measured: Measured,
    attempts: u64,
    counted: i64,
}

/// 64 updaters on 100 hot keys, each update a +1 on the key's counter, spread over `providers`.
async fn cas_contention<P: SessionProvider>(cfg: &Config, label: &str, providers: Vec<Arc<P>>) -> CasResult {
    let hot: Arc<Vec<String>> = Arc::new((0..HOT_KEYS).map(|i| format!("hot-{i:03}")).collect());
    let template = session_template();
    for id in hot.iter() {
        providers[0].set_session(id, template.clone(), None).await.expect("seed hot key");
    }
    let providers = Arc::new(providers);
    let attempts = Arc::new(AtomicU64::new(0));
    let measure_once = |duration: Duration| {
        let (providers, hot, attempts) = (providers.clone(), hot.clone(), attempts.clone());
        let policy = Arc::new(cfg.cas_policy.clone());
        let op = Arc::new(move |task: usize, i: usize| {
            let (hot, attempts, policy) = (hot.clone(), attempts.clone(), policy.clone());
            // Updater `task` always goes through instance `task % n` (one connection each).
            let provider = providers[task % providers.len()].clone();
            async move {
                update_session(&*provider, &hot[i], None, &policy, NumberModel::Exact, |current| {
                    attempts.fetch_add(1, Ordering::Relaxed);
                    let data = bump_counter(current.unwrap_or_default());
                    async move { Ok(Change::Write(data)) }
                })
                .await
                .map(|_| ())
                .map_err(err)
            }
        });
        run_tasks(op, UPDATERS, duration, HOT_KEYS)
    };
    let warm = measure_once(cfg.warmup).await;
    attempts.store(0, Ordering::Relaxed);
    let before = counter_sum(&**providers.last().unwrap(), &hot).await;
    assert_eq!(before, warm.ops as i64 - warm.errors as i64, "updates lost during warm-up");
    server_stats_reset();
    let mut measured = measure_once(cfg.duration).await;
    measured.server = server_stats(measured.ops);
    let after = counter_sum(&**providers.last().unwrap(), &hot).await;
    for id in hot.iter() {
        providers[0].delete_session(id).await.ok();
    }
    CasResult { label: label.to_owned(), attempts: attempts.load(Ordering::Relaxed), counted: after - before, measured }
}

async fn counter_sum<P: SessionProvider + ?Sized>(provider: &P, ids: &[String]) -> i64 {
    let mut sum = 0;
    for id in ids {
        let data = provider.get_session(id).await.expect("read hot key").expect("hot key present");
        sum += data.get("counter").and_then(Value::as_i64).unwrap_or(0);
    }
    sum
}

fn cas_row(r: &CasResult, verdicts: Option<&mut Verdicts>) -> Row {
    let m = &r.measured;
    let applied = m.ops - m.errors;
    let lost = applied as i64 - r.counted;
    let conflicts = r.attempts.saturating_sub(m.ops);
    if lost != 0 {
        FAILED.store(true, Ordering::Relaxed);
    }
    let note = format!(
        "{applied} applied, counters +{} → {} lost; {conflicts} CAS conflicts ({:.3} retries/update); {} failed",
        r.counted,
        lost,
        conflicts as f64 / m.ops.max(1) as f64,
        m.errors
    );
    if let Some(v) = verdicts {
        v.check(
            m.rate() >= 25_000.0 && lost == 0 && m.errors == 0,
            format!(
                "CAS update, {UPDATERS} updaters on {HOT_KEYS} hot keys, 2 instances: {} updates/s (target ≥ 25,000), {lost} lost, {} failed",
                group(m.rate()),
                m.errors
            ),
        );
    }
    Row::from(r.label.clone(), UPDATERS, m).note(note)
}

// ---------------------------------------------------------------------------------------------
// In-memory tight loop

/// Single-thread tight loop: `ns/op` of get_session and set_session on a current-thread runtime,
/// no task switch and no per-op timer.
fn tight_loop(cfg: &Config) -> Vec<(String, f64)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let provider = Arc::new(InMemorySessionProvider::new());
        let template = session_template();
        populate_local(&provider, &template).await;
        let users: Vec<String> = (0..USERS).map(user).collect();
        // A session as the provider stores it (with userId, createdAt, lastActivity).
        let stored = provider.get_session(&users[0]).await.unwrap().unwrap();
        let mut out = Vec::new();
        for op in [
            "get_session",
            "get_session_shared",
            "has_session",
            "set_session",
            "SessionData clone+drop (no provider, same hot session)",
        ] {
            for pass in 0..2 {
                // pass 0 warms up
                let duration = if pass == 0 { cfg.warmup } else { cfg.duration };
                let start = Instant::now();
                let mut n = 0usize;
                while start.elapsed() < duration {
                    for _ in 0..1000 {
                        let id = &users[n % USERS];
                        match op {
                            "get_session" => {
                                std::hint::black_box(provider.get_session(std::hint::black_box(id)).await.unwrap());
                            }
                            "get_session_shared" => {
                                std::hint::black_box(
                                    provider.get_session_shared(std::hint::black_box(id)).await.unwrap(),
                                );
                            }
                            "has_session" => {
                                std::hint::black_box(provider.has_session(std::hint::black_box(id)).await.unwrap());
                            }
                            "set_session" => provider.set_session(id, template.clone(), None).await.unwrap(),
                            _ => {
                                std::hint::black_box(std::hint::black_box(&stored).clone());
                            }
                        }
                        n += 1;
                    }
                }
                if pass == 1 {
                    out.push((op.to_owned(), start.elapsed().as_nanos() as f64 / n as f64));
                }
            }
        }
        out
    })
}

async fn populate_local(provider: &InMemorySessionProvider, template: &SessionData) {
    for i in 0..USERS {
        provider.set_session(&user(i), template.clone(), None).await.unwrap();
    }
}

// ---------------------------------------------------------------------------------------------
// Scale run

async fn scale_run(cfg: &Config, url: &str, verdicts: &mut Verdicts) {
    let cpu_before = cpu_snapshot();
    let scale_started = Instant::now();
    let total = cfg.scale_sessions;
    let old = total / 10;
    println!("\n### Scale: {} sessions ({} written ≥ 2 s before the rest)\n", group(total as f64), group(old as f64));
    // A generous reply timeout: the point is to time the calls; calls over the default 2 s are flagged.
    let options = RedisOptions::new().url(url).prefix("scale:").command_timeout(Duration::from_secs(120));
    let provider = Arc::new(RedisSessionProvider::connect(options).await.expect("connect"));
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let default_timeout = RedisOptions::new().command_timeout;
    let flag = |d: Duration| if d > default_timeout { " (over the default 2 s command timeout)" } else { "" };

    let write = |from: usize, to: usize| {
        let provider = provider.clone();
        async move {
            let next = Arc::new(AtomicUsize::new(from));
            let started = Instant::now();
            let mut tasks = Vec::new();
            for _ in 0..256 {
                let (provider, next) = (provider.clone(), next.clone());
                tasks.push(tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= to {
                            break;
                        }
                        let data = json!({"n": i, "plan": "free"}).as_object().cloned().unwrap();
                        provider.set_session(&format!("u{i:07}"), data, None).await.expect("scale write");
                    }
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            started.elapsed()
        }
    };
    let d_old = write(0, old).await;
    println!(
        "- populate {} (256 in flight): {} → {} sessions/s",
        group(old as f64),
        secs(d_old),
        group(old as f64 / d_old.as_secs_f64())
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let new_started = Instant::now();
    let d_new = write(old, total).await;
    println!(
        "- populate {} (256 in flight): {} → {} sessions/s",
        group((total - old) as f64),
        secs(d_new),
        group((total - old) as f64 / d_new.as_secs_f64())
    );
    let info: String = redis::cmd("INFO").arg("memory").query_async(&mut conn).await.unwrap();
    let used = info.lines().find_map(|l| l.strip_prefix("used_memory_human:")).unwrap_or("?").trim().to_owned();
    println!("- redis used_memory: {used}");

    let mut timings: Vec<(String, Duration, String)> = Vec::new();
    for run in 1..=3 {
        let t = Instant::now();
        let n = provider.count().await.expect("count");
        let d = t.elapsed();
        timings.push((format!("provider.count() #{run}"), d, format!("{} sessions{}", group(n as f64), flag(d))));
        assert_eq!(n as usize, total);
    }
    for run in 1..=2 {
        let t = Instant::now();
        let ids = provider.get_active_sessions().await.expect("listing");
        let d = t.elapsed();
        timings.push((
            format!("provider.get_active_sessions() #{run}"),
            d,
            format!("{} ids{}", group(ids.len() as f64), flag(d)),
        ));
        assert_eq!(ids.len(), total);
    }
    for run in 1..=2 {
        let t = Instant::now();
        let (mut cursor, mut keys) = (0u64, 0usize);
        let mut calls = 0;
        loop {
            let (next, batch): (u64, Vec<redis::Value>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg("scale:*")
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            keys += batch.len();
            calls += 1;
            cursor = next;
            if cursor == 0 {
                break;
            }
        }
        let d = t.elapsed();
        timings.push((
            format!("SCAN 0 MATCH scale:* COUNT 1000 loop #{run}"),
            d,
            format!("{} keys (sessions + 3×64 index keys + meta), {calls} round trips", group(keys as f64)),
        ));
    }
    let max_age = new_started.elapsed() + Duration::from_secs(1);
    let t = Instant::now();
    let removed = provider.cleanup_old_sessions(max_age).await.expect("cleanup");
    let d = t.elapsed();
    // cleanup and clear are several round trips (≤ 1000 removals per shard each): no single reply to time out.
    timings.push(("provider.cleanup_old_sessions()".into(), d, format!("removed {}", group(removed as f64))));
    let t = Instant::now();
    let again = provider.cleanup_old_sessions(max_age).await.expect("cleanup");
    let d = t.elapsed();
    timings.push(("provider.cleanup_old_sessions() again".into(), d, format!("removed {}", group(again as f64))));
    let t = Instant::now();
    let left = provider.count().await.expect("count");
    timings.push(("provider.count() after cleanup".into(), t.elapsed(), format!("{} sessions", group(left as f64))));
    let t = Instant::now();
    let cleared = provider.clear().await.expect("clear");
    let d = t.elapsed();
    timings.push(("provider.clear()".into(), d, format!("removed {}", group(cleared as f64))));

    println!("\n| call | time | result |\n|------|-----:|--------|");
    for (what, d, note) in &timings {
        println!("| {what} | {} | {note} |", secs(*d));
    }
    let (bench, server, other) = cpu_used(cpu_before, cpu_snapshot(), scale_started.elapsed().as_secs_f64());
    println!(
        "\n- CPU over the scale run ({}): bench {bench:.2}, redis {:.2}, other {:.2}",
        secs(scale_started.elapsed()),
        server.unwrap_or(f64::NAN),
        other.unwrap_or(f64::NAN)
    );
    let best = |prefix: &str| {
        timings.iter().filter(|(w, _, _)| w.starts_with(prefix)).map(|(_, d, _)| *d).min().unwrap_or_default()
    };
    let (count_d, list_d, scan_d) = (best("provider.count() #"), best("provider.get_active_sessions()"), best("SCAN"));
    println!(
        "\n- count(): {} vs SCAN count {} → {:.0}× faster; full listing {}",
        secs(count_d),
        secs(scan_d),
        scan_d.as_secs_f64() / count_d.as_secs_f64(),
        secs(list_d)
    );
    verdicts.check(
        count_d < scan_d,
        format!(
            "scale {}: count() {} vs SCAN count {} ({:.0}×), listing {}, cleanup of {} {}",
            group(total as f64),
            secs(count_d),
            secs(scan_d),
            scan_d.as_secs_f64() / count_d.as_secs_f64(),
            secs(list_d),
            group(removed as f64),
            secs(
                timings
                    .iter()
                    .find(|(w, _, _)| w == "provider.cleanup_old_sessions()")
                    .map(|(_, d, _)| *d)
                    .unwrap_or_default()
            )
        ),
    );
    let ok = removed as usize == old && left as usize == total - old && cleared as usize == total - old;
    if !ok {
        FAILED.store(true, Ordering::Relaxed);
    }
    verdicts.check(
        ok,
        format!(
            "scale {}: cleanup removed {} of the {} old sessions, {} left, clear removed {}",
            group(total as f64),
            group(removed as f64),
            group(old as f64),
            group(left as f64),
            group(cleared as f64)
        ),
    );
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let cfg = Config::from_env();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(cfg.workers).enable_all().build().unwrap();
    let template = session_template();
    let mut with_owner = template.clone();
    with_owner.insert("userId".into(), json!("user-00000"));
    let stamped = stored_size(&with_owner) + 9 + 26 + 12 + 26;
    println!("# poto-sessions benchmark");
    println!();
    println!(
        "- mode: {}; {} per measurement after {} warm-up; {} cores; runtime: tokio multi-thread, {} workers",
        if cfg.quick { "quick" } else { "normal" },
        secs(cfg.duration),
        secs(cfg.warmup),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        cfg.workers
    );
    println!(
        "- session: {} fields as stored (incl. userId, createdAt, lastActivity), {stamped} bytes (keys + JSON texts); {USERS} users, random access",
        with_owner.len() + 2
    );
    println!("- load average at start: {}", loadavg());
    let mut verdicts = Verdicts::default();

    // 1. In-memory.
    if cfg.wants("tight") {
        let tight = tight_loop(&cfg);
        println!("\n### In-memory, single-thread tight loop (current-thread runtime, no per-op timer)\n");
        println!("| operation | ns/op |\n|-----------|------:|");
        for (op, ns) in &tight {
            let who =
                if op.starts_with("model") || op.starts_with("SessionData") { "" } else { "InMemorySessionProvider " };
            println!("| {who}{op} | {ns:.0} |");
        }
        let get_ns = tight.iter().find(|(op, _)| op == "get_session").map(|(_, ns)| *ns).unwrap_or(f64::NAN);
        let shared_ns = tight.iter().find(|(op, _)| op == "get_session_shared").map(|(_, ns)| *ns).unwrap_or(f64::NAN);
        verdicts.check(
            shared_ns < 1000.0,
            format!(
                "in-memory get, tight loop: get_session_shared {shared_ns:.0} ns/op, get_session (owned copy) {get_ns:.0} ns/op (target < 1,000 ns)"
            ),
        );
    }
    if cfg.wants("memory") {
        let rows =
            rt.block_on(provider_ops(&cfg, "in-memory", || async { Arc::new(InMemorySessionProvider::new()) }, None));
        print_table("In-memory, 2 tokio workers, each op timed", &rows);
    }
    let mut cas_rows = Vec::new();
    if cfg.wants("cas") {
        let memory_cas = rt.block_on(cas_contention(
            &cfg,
            "in-memory update_session, 100 hot keys (1 instance)",
            vec![Arc::new(InMemorySessionProvider::new())],
        ));
        cas_rows.push(cas_row(&memory_cas, None));
    }

    let redis_parts = ["redis-benchmark", "redis", "cas", "scale"];
    let server = if cfg.redis && redis_parts.iter().any(|p| cfg.wants(p)) {
        match RedisServer::start() {
            Ok(server) => Some(server),
            Err(e) => {
                println!("\nRedis measurements skipped: {e}");
                None
            }
        }
    } else {
        None
    };
    if let Some(server) = &server {
        let url = server.url();
        println!("\n- private redis-server on 127.0.0.1:{} ({})", server.port, server_version());

        // 3a. redis-benchmark, on the idle server.
        let mut bench_get_p1 = None;
        if cfg.wants("redis-benchmark") {
            let requests = if cfg.quick { 20_000 } else { 200_000 };
            let mut rows = Vec::new();
            for pipeline in [1, 16] {
                let before = cpu_snapshot();
                let started = Instant::now();
                match redis_benchmark(server.port, pipeline, requests) {
                    Ok(b) => {
                        let (_, server_cpu, other) = cpu_used(before, cpu_snapshot(), started.elapsed().as_secs_f64());
                        for (name, rps, p50) in &b.results {
                            if name == "GET" && b.pipeline == 1 {
                                bench_get_p1 = Some(*rps);
                            }
                            rows.push(Row {
                                what: format!(
                                    "redis-benchmark {name} -P {} (-c 50 -d 500 -n {})",
                                    b.pipeline, b.requests
                                ),
                                in_flight: format!("{}", 50 * b.pipeline),
                                rate: *rps,
                                p50_us: p50.map(|ms| ms * 1000.0).unwrap_or(f64::NAN),
                                p99_us: f64::NAN,
                                note: format!(
                                    "CPU: redis {:.2}, redis-benchmark + other {:.2} (GET+SET run)",
                                    server_cpu.unwrap_or(f64::NAN),
                                    other.unwrap_or(f64::NAN)
                                ),
                            });
                        }
                    }
                    Err(e) => println!("redis-benchmark -P {pipeline} failed: {e}"),
                }
            }
            print_table("redis-benchmark (same server, 50 connections)", &rows);
        }

        // 2 + 3b. Provider beside raw redis-rs.
        if cfg.wants("redis") {
            let mut raw = rt.block_on(RawBaseline::new(&url, cfg.raw_connections));
            let rows = rt.block_on(provider_ops(
                &cfg,
                "redis",
                || {
                    let url = url.clone();
                    async move { Arc::new(redis_provider(&url, "ops").await) }
                },
                Some(&mut raw),
            ));
            print_table(
                &format!(
                    "Redis provider (one connection) beside raw redis-rs ({} multiplexed connection{}), each op timed",
                    cfg.raw_connections,
                    if cfg.raw_connections == 1 { "" } else { "s" }
                ),
                &rows,
            );
            for (op, in_flight, provider_rate, raw_rate) in &raw.results {
                if *in_flight != 64 {
                    continue;
                }
                let ratio = provider_rate / raw_rate;
                verdicts.check(
                    ratio >= 0.8,
                    format!(
                        "redis {op}, 64 in flight: {} ops/s = {:.0}% of raw redis-rs {} (target ≥ 80%)",
                        group(*provider_rate),
                        ratio * 100.0,
                        group(*raw_rate)
                    ),
                );
                if op == "get_session" {
                    if let Some(b) = bench_get_p1 {
                        verdicts.check(
                            *provider_rate >= 1.2 * b,
                            format!(
                                "redis get_session, 64 in flight: {} ops/s = {:.2}× redis-benchmark GET -P 1 {} (target ≥ 1.2×)",
                                group(*provider_rate),
                                provider_rate / b,
                                group(b)
                            ),
                        );
                    }
                }
            }
        }

        // 4. Compare-and-set contention, two instances (two connections).
        if cfg.wants("cas") {
            let redis_cas = rt.block_on(async {
                let a = Arc::new(redis_provider(&url, "cas").await);
                let prefix = a.options().prefix.clone();
                let b = Arc::new(
                    RedisSessionProvider::connect(RedisOptions::new().url(&url).prefix(prefix)).await.unwrap(),
                );
                cas_contention(&cfg, "redis update_session, 100 hot keys (2 instances)", vec![a, b]).await
            });
            cas_rows.push(cas_row(&redis_cas, Some(&mut verdicts)));
        }
    }
    if !cas_rows.is_empty() {
        let p = &cfg.cas_policy;
        print_table(
            &format!(
                "Compare-and-set contention: 64 updaters, 100 hot keys, +1 per update (retry: budget {:?}, backoff {:?}..{:?})",
                p.budget, p.base_delay, p.max_delay
            ),
            &cas_rows,
        );
    }

    // 5. Scale.
    if let (Some(server), true) = (&server, cfg.wants("scale")) {
        rt.block_on(scale_run(&cfg, &server.url(), &mut verdicts));
    } else if !cfg.scale {
        println!("\n(scale run skipped: pass --scale or POTO_BENCH_SCALE=1)");
    }

    verdicts.print();
    println!("\n- load average at end: {}", loadavg());
    drop(rt);
    drop(server);
    if FAILED.load(Ordering::Relaxed) {
        eprintln!("benchmark FAILED: an operation returned an error, an update was lost or a scale count was off");
        std::process::exit(1);
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn server_version() -> String {
    Command::new("redis-server")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
