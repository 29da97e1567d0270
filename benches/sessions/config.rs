//! The command line (and environment) of the benchmark: which parts run, how long, how hard.

use std::time::Duration;

use poto_sessions::update::RetryPolicy;

/// Flight sizes measured for every operation.
const FLIGHTS: [usize; 2] = [1, 64];

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) quick: bool,
    pub(crate) scale: bool,
    pub(crate) redis: bool,
    pub(crate) scale_sessions: usize,
    /// `--op=TEXT`: only provider operations whose name contains TEXT.
    pub(crate) op: Option<String>,
    /// `--flights=1,64`: in-flight counts of the provider operations.
    pub(crate) flights: Vec<usize>,
    /// `--workers=N`: worker threads of the multi-thread runtime (default 2).
    pub(crate) workers: usize,
    /// Retry policy of the compare-and-set contention run (`--cas-base-delay-us=N` overrides the
    /// first backoff ceiling; default: `RetryPolicy::default()`).
    pub(crate) cas_policy: RetryPolicy,
    /// `--raw-connections=N`: multiplexed connections of the raw redis-rs baseline (default 1;
    /// task `t` uses connection `t % N`).
    pub(crate) raw_connections: usize,
    /// `--only=a,b`: run only these parts (tight, memory, redis-benchmark, redis, cas, scale).
    pub(crate) only: Option<Vec<String>>,
    /// Length of one measurement.
    pub(crate) duration: Duration,
    /// Unmeasured run before each measurement.
    pub(crate) warmup: Duration,
}

impl Config {
    pub(crate) fn from_env() -> Config {
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

    pub(crate) fn wants(&self, part: &str) -> bool {
        match &self.only {
            Some(parts) => parts.iter().any(|p| p == part),
            None => part != "scale" || self.scale,
        }
    }
}
