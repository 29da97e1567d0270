//! CPU accounting from /proc: this process, the private redis-server and the rest of the machine.

use std::sync::atomic::{AtomicU64, Ordering};

/// PID of the private redis-server, for its CPU accounting.
pub(crate) static SERVER_PID: AtomicU64 = AtomicU64::new(0);

/// utime + stime of a process in clock ticks.
pub(crate) fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Busy ticks of the whole machine (every CPU), from /proc/stat.
pub(crate) fn machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal ...
    Some(v.iter().take(8).sum::<u64>() - v.get(3)? - v.get(4)?)
}

pub(crate) type CpuSnapshot = (Option<u64>, Option<u64>, Option<u64>);

pub(crate) fn cpu_snapshot() -> CpuSnapshot {
    let server = match SERVER_PID.load(Ordering::Relaxed) {
        0 => None,
        pid => cpu_ticks(&pid.to_string()),
    };
    (cpu_ticks("self"), server, machine_busy_ticks())
}

/// Cores used during a run: (this process, the private redis-server, everything else on the machine).
pub(crate) fn cpu_used(before: CpuSnapshot, after: CpuSnapshot, secs: f64) -> (f64, Option<f64>, Option<f64>) {
    // SAFETY: sysconf has no preconditions.
    let tck = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cores = |b: Option<u64>, a: Option<u64>| Some(a?.saturating_sub(b?) as f64 / tck / secs);
    let bench = cores(before.0, after.0);
    let server = cores(before.1, after.1);
    let other = cores(before.2, after.2).map(|all| (all - bench.unwrap_or(0.0) - server.unwrap_or(0.0)).max(0.0));
    (bench.unwrap_or(f64::NAN), server, other)
}
