//! Timed runs: many tasks calling one operation, each call timed into a histogram, with the CPU
//! and server statistics of the run.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use crate::config::Config;
use crate::cpu::{cpu_snapshot, cpu_used};
use crate::server::{server_stats, server_stats_reset};
use crate::OpResult;

pub(crate) fn new_histogram() -> Histogram<u64> {
    // Nanoseconds, 1 ns .. 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000_000, 3).expect("histogram bounds")
}

pub(crate) struct Measured {
    /// Server-side command statistics of the run (Redis only).
    pub(crate) server: String,
    /// CPU used during the run, in cores: (this process, the private redis-server, the rest of the machine).
    pub(crate) cpu: (f64, Option<f64>, Option<f64>),
    pub(crate) ops: u64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) secs: f64,
    pub(crate) hist: Histogram<u64>,
}

impl Measured {
    pub(crate) fn rate(&self) -> f64 {
        self.ops as f64 / self.secs
    }
    pub(crate) fn p50_us(&self) -> f64 {
        self.hist.value_at_quantile(0.50) as f64 / 1000.0
    }
    pub(crate) fn p99_us(&self) -> f64 {
        self.hist.value_at_quantile(0.99) as f64 / 1000.0
    }
}

/// Runs `op` from `in_flight` tasks until `duration` has passed; each call is timed on its own.
/// `op` gets its task number and a random index below `keys`. Each task yields after every call, so that 64 tasks
/// really interleave on the two workers even when the operation never suspends (in-memory); a
/// single task does not yield (it would only wake the idle worker).
pub(crate) async fn run_tasks<F, Fut>(op: Arc<F>, in_flight: usize, duration: Duration, keys: usize) -> Measured
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

/// A warm-up run, then the measured run.
pub(crate) async fn measure<F, Fut>(cfg: &Config, in_flight: usize, keys: usize, op: F) -> Measured
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
