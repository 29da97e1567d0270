//! Tables of results, the targets checked at the end, and the run's failure flag.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::measure::Measured;

pub(crate) struct Row {
    pub(crate) what: String,
    pub(crate) in_flight: String,
    pub(crate) rate: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
    pub(crate) note: String,
}

/// Set when an operation failed, an update was lost or a scale check did not add up: the run then
/// exits with status 1 (missed performance targets do not change the status).
pub(crate) static FAILED: AtomicBool = AtomicBool::new(false);

impl Row {
    pub(crate) fn from(what: impl Into<String>, in_flight: usize, m: &Measured) -> Row {
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
    pub(crate) fn note(mut self, note: impl AsRef<str>) -> Row {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(note.as_ref());
        self
    }
}

pub(crate) fn print_table(title: &str, rows: &[Row]) {
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
pub(crate) fn group(x: f64) -> String {
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

pub(crate) fn secs(d: Duration) -> String {
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
pub(crate) struct Verdicts {
    lines: Vec<(bool, String)>,
}

impl Verdicts {
    pub(crate) fn check(&mut self, pass: bool, what: String) {
        self.lines.push((pass, what));
    }
    pub(crate) fn print(&self) {
        println!("\n### Targets\n");
        for (pass, what) in &self.lines {
            println!("- {} {}", if *pass { "PASS" } else { "MISS" }, what);
        }
    }
}
