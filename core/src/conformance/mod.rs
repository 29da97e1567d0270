//! The provider conformance suite (DESIGN §8), callable on any provider: built-ins in this
//! crate's tests, custom providers from any binding.
//!
//! It calls `clear()` first: run it on a store (or prefix) reserved for the test.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::provider::SessionProvider;

/// What the suite may assume about the provider under test.
#[derive(Debug, Clone)]
pub struct ConformanceOptions {
    /// The provider's session size limit, checked when set.
    pub max_session_bytes: Option<usize>,
    /// Unit of the TTL checks: sessions live a few of these. Raise it for slow stores.
    pub ttl_unit: Duration,
    /// The store keeps numbers as IEEE doubles (a provider written in JavaScript): integers
    /// beyond ±2^53, which such a host cannot represent, are not required to round-trip.
    pub doubles_only: bool,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions { max_session_bytes: None, ttl_unit: Duration::from_millis(200), doubles_only: false }
    }
}

/// Names of the checks that passed, were skipped and failed (with why).
#[derive(Debug, Default)]
pub struct ConformanceReport {
    pub passed: Vec<&'static str>,
    /// Checks that do not apply to this provider (an optional capability it lacks, an option
    /// not given), with the reason: not counted as passed.
    pub skipped: Vec<(&'static str, String)>,
    pub failed: Vec<(&'static str, String)>,
}

impl ConformanceReport {
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// `{ok, passed: [name], skipped: [{name, reason}], failed: [{name, reason}]}`: the one
    /// shape every binding hands out.
    pub fn to_json(&self) -> Value {
        let named = |list: &[(&str, String)]| -> Vec<Value> {
            list.iter().map(|(name, reason)| json!({"name": name, "reason": reason})).collect()
        };
        json!({
            "ok": self.is_ok(),
            "passed": self.passed,
            "skipped": named(&self.skipped),
            "failed": named(&self.failed),
        })
    }
}

impl std::fmt::Display for ConformanceReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{} passed, {} skipped, {} failed", self.passed.len(), self.skipped.len(), self.failed.len())?;
        for (name, why) in &self.skipped {
            writeln!(f, "skipped {name}: {why}")?;
        }
        for (name, why) in &self.failed {
            writeln!(f, "FAILED {name}: {why}")?;
        }
        Ok(())
    }
}

type Provider = Arc<dyn SessionProvider>;
type Check = Result<(), NotPassed>;

/// Why a check did not pass.
enum NotPassed {
    Failed(String),
    Skipped(String),
}

impl From<String> for NotPassed {
    fn from(why: String) -> Self {
        NotPassed::Failed(why)
    }
}

impl From<&str> for NotPassed {
    fn from(why: &str) -> Self {
        NotPassed::Failed(why.to_owned())
    }
}

fn skip(why: &str) -> Check {
    Err(NotPassed::Skipped(why.to_owned()))
}

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(NotPassed::Failed(format!($($msg)+)));
        }
    };
}

// After `ensure!`, which the checks use.
mod checks;

/// [`run_conformance`] on two handles of one store (`b`: a second connection, else `a` again),
/// which the suite uses in turn.
pub async fn run_conformance_on(a: Provider, b: Option<Provider>, options: ConformanceOptions) -> ConformanceReport {
    let b = b.unwrap_or_else(|| a.clone());
    let handles = [a, b];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let make = || {
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
        std::future::ready(Ok(handles[i].clone()))
    };
    run_conformance(make, options).await
}

/// Runs every check. `make` returns a handle on the store under test; it is called twice, and
/// both handles must reach the same sessions (for a networked store: two connections, as two
/// servers would have).
pub async fn run_conformance<F, Fut>(make: F, options: ConformanceOptions) -> ConformanceReport
where
    F: Fn() -> Fut,
    Fut: Future<Output = crate::Result<Provider>>,
{
    let mut report = ConformanceReport::default();
    let (a, b) = match (make().await, make().await) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => {
            report.failed.push(("make_provider", e.to_string()));
            return report;
        }
    };
    macro_rules! run {
        ($($check:ident),+ $(,)?) => {$(
            let outcome = match a.clear().await {
                Ok(_) => $check(&a, &b, &options).await,
                Err(e) => Err(NotPassed::Failed(format!("clear failed: {e}"))),
            };
            match outcome {
                Ok(()) => report.passed.push(stringify!($check)),
                Err(NotPassed::Skipped(why)) => report.skipped.push((stringify!($check), why)),
                Err(NotPassed::Failed(why)) => report.failed.push((stringify!($check), why)),
            }
        )+};
    }
    use checks::*;
    run!(
        round_trip,
        value_fidelity,
        reserved_fields,
        ids_are_data,
        invalid_ids,
        too_large,
        ttl_expiry,
        sliding_ttl,
        lazy_touch,
        cleanup,
        stats_count_clear,
        compare_and_set,
        create_once,
        field_writes,
        concurrent_field_writes,
        contended_updates,
        failed_update_changes_nothing,
    );
    let _ = a.clear().await;
    report
}
