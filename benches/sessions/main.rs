//! Throughput and latency of the poto-sessions providers (results: BENCHMARKS.md).
//!
//! ```text
//! cargo bench -p poto-sessions-benches --bench sessions               # every measurement, ~3 s each
//! cargo bench -p poto-sessions-benches --bench sessions -- --quick    # ~0.5 s each
//! cargo bench -p poto-sessions-benches --bench sessions -- --scale    # plus the 1M-session run
//! cargo test -p poto-sessions-benches --benches                       # smoke run (debug, quick)
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
//! port with a temporary directory (`--save "" --appendonly no`, the launcher of the Rust tests:
//! core/tests/support) and kills at the end; no other Redis is touched. `redis-benchmark` runs as
//! a subprocess against the same server.
//!
//! One module per part: `config` (flags), `measure` (timed tasks), `cpu` (CPU accounting),
//! `server` (the private redis-server and its command statistics), `report` (tables, targets),
//! `session` (the measured session), `provider_ops`, `raw` (the raw redis-rs baseline),
//! `redis_benchmark`, `cas` (contention), `tight` (in-memory tight loop), `scale`.

#[path = "../../core/tests/support/mod.rs"]
mod support;

mod cas;
mod config;
mod cpu;
mod measure;
mod provider_ops;
mod raw;
mod redis_benchmark;
mod report;
mod scale;
mod server;
mod session;
mod tight;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use poto_sessions::{InMemorySessionProvider, RedisOptions, RedisSessionProvider};
use serde_json::json;

use crate::config::Config;
use crate::report::{print_table, secs, Verdicts, FAILED};
use crate::server::{redis_provider, BenchServer};
use crate::session::{session_template, stored_size};

/// Users the get/set/update/module measurements spread over.
const USERS: usize = 10_000;

/// What one timed call returns: an error message fails the run.
type OpResult = Result<(), String>;

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
        tight::run(&cfg, &mut verdicts);
    }
    if cfg.wants("memory") {
        let rows = rt.block_on(provider_ops::run(
            &cfg,
            "in-memory",
            || async { Arc::new(InMemorySessionProvider::new()) },
            None,
        ));
        print_table("In-memory, 2 tokio workers, each op timed", &rows);
    }
    let mut cas_rows = Vec::new();
    if cfg.wants("cas") {
        let memory_cas = rt.block_on(cas::contention(
            &cfg,
            "in-memory update_session, 100 hot keys (1 instance)",
            vec![Arc::new(InMemorySessionProvider::new())],
        ));
        cas_rows.push(cas::row(&memory_cas, None));
        let (row, ok) = rt.block_on(cas::one_hot_user(
            "in-memory, one user, 8 tasks × 500 updates",
            Arc::new(InMemorySessionProvider::new()),
        ));
        verdicts
            .check(ok, "one process, 8 tasks, 4,000 updates of one user (in-memory): all applied, 0 lost".to_owned());
        cas_rows.push(row);
    }

    let redis_parts = ["redis-benchmark", "redis", "cas", "scale"];
    let server = if cfg.redis && redis_parts.iter().any(|p| cfg.wants(p)) {
        match BenchServer::start() {
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
        println!("\n- private redis-server on 127.0.0.1:{} ({})", server.port(), server::version());

        // 3a. redis-benchmark, on the idle server.
        let plain =
            if cfg.wants("redis-benchmark") { redis_benchmark::run(&cfg, server.port()) } else { Default::default() };

        // 2 + 3b. Provider beside raw redis-rs.
        let set_rate = if cfg.wants("redis") { raw::compare(&rt, &cfg, &url, plain, &mut verdicts) } else { None };

        // 4. Compare-and-set contention, two instances (two connections).
        if cfg.wants("cas") {
            let redis_cas = rt.block_on(async {
                let a = Arc::new(redis_provider(&url, "cas").await);
                let prefix = a.options().prefix.clone();
                let b = Arc::new(
                    RedisSessionProvider::connect(RedisOptions::new().url(&url).prefix(prefix)).await.unwrap(),
                );
                cas::contention(&cfg, "redis update_session, 100 hot keys (2 instances)", vec![a, b]).await
            });
            cas_rows.push(cas::row(&redis_cas, Some((&mut verdicts, set_rate))));
            let (row, ok) = rt.block_on(async {
                let provider = Arc::new(redis_provider(&url, "hot").await);
                cas::one_hot_user("redis, one user, 8 tasks × 500 updates", provider).await
            });
            verdicts
                .check(ok, "one process, 8 tasks, 4,000 updates of one user (Redis): all applied, 0 lost".to_owned());
            cas_rows.push(row);
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
        rt.block_on(scale::run(&cfg, &server.url(), &mut verdicts));
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
