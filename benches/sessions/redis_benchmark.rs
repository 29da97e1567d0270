//! `redis-benchmark` on the same server: the plain GET/SET figures the provider stands beside.

use std::process::{Command, Stdio};
use std::time::Instant;

use crate::config::Config;
use crate::cpu::{cpu_snapshot, cpu_used};
use crate::report::{print_table, Row};

/// Rates of redis-benchmark without pipelining, the targets' yardsticks.
#[derive(Default, Clone, Copy)]
pub(crate) struct PlainRates {
    pub(crate) get_p1: Option<f64>,
    pub(crate) set_p1: Option<f64>,
}

/// Runs redis-benchmark with pipelines of 1 and 16 on the idle server and prints its table;
/// returns its GET and SET rates without pipelining.
pub(crate) fn run(cfg: &Config, port: u16) -> PlainRates {
    let requests = if cfg.quick { 20_000 } else { 200_000 };
    let mut plain = PlainRates::default();
    let mut rows = Vec::new();
    for pipeline in [1, 16] {
        let before = cpu_snapshot();
        let started = Instant::now();
        match redis_benchmark(port, pipeline, requests) {
            Ok(b) => {
                let (_, server_cpu, other) = cpu_used(before, cpu_snapshot(), started.elapsed().as_secs_f64());
                for (name, rps, p50) in &b.results {
                    match (name.as_str(), b.pipeline) {
                        ("GET", 1) => plain.get_p1 = Some(*rps),
                        ("SET", 1) => plain.set_p1 = Some(*rps),
                        _ => {}
                    }
                    rows.push(Row {
                        what: format!("redis-benchmark {name} -P {} (-c 50 -d 500 -n {})", b.pipeline, b.requests),
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
    plain
}

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
