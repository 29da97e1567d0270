//! Compare-and-set under contention: 64 updaters on 100 hot keys, every update a +1, and a
//! check that no update was lost.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poto_sessions::update::{update_session, Change};
use poto_sessions::{NumberModel, SessionProvider};
use serde_json::Value;

use crate::config::Config;
use crate::measure::{new_histogram, run_tasks, Measured};
use crate::report::{group, Row, Verdicts, FAILED};
use crate::server::{server_stats, server_stats_reset};
use crate::session::{bump_counter, err, session_template};

/// Hot keys and updaters of the compare-and-set measurement.
const HOT_KEYS: usize = 100;
const UPDATERS: usize = 64;

pub(crate) struct CasResult {
    label: String,
    measured: Measured,
    attempts: u64,
    counted: i64,
}

/// 64 updaters on 100 hot keys, each update a +1 on the key's counter, spread over `providers`.
pub(crate) async fn contention<P: SessionProvider>(cfg: &Config, label: &str, providers: Vec<Arc<P>>) -> CasResult {
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

/// The row of a contention run; with `verdicts`, checks issue 12's target against `set_session`'s
/// rate at 64 in flight in the same run (when it was measured): ≥ 0.5× it, none lost or failed.
pub(crate) fn row(r: &CasResult, verdicts: Option<(&mut Verdicts, Option<f64>)>) -> Row {
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
    if let Some((v, set_rate)) = verdicts {
        let against = set_rate.map_or_else(
            || "set_session not measured in this run".to_owned(),
            |set| format!("{:.2}× set_session {}, target ≥ 0.5×", m.rate() / set, group(set)),
        );
        v.check(
            set_rate.is_none_or(|set| m.rate() >= 0.5 * set) && lost == 0 && m.errors == 0,
            format!(
                "CAS update, {UPDATERS} updaters on {HOT_KEYS} hot keys, 2 instances: {} updates/s ({against}), {lost} lost, {} failed",
                group(m.rate()),
                m.errors
            ),
        );
    }
    Row::from(r.label.clone(), UPDATERS, m).note(note)
}

/// Threads and updates of the one-hot-user run (issue 12's C host: 8 threads, 4,000 updates).
const HOT_USER_TASKS: usize = 8;
const HOT_USER_UPDATES: usize = 4_000;

/// One process, 8 tasks, 4,000 updates of one user's session with the default retry budget:
/// updates of one user from one process queue before they compare-and-set, so none conflicts
/// with another and all apply.
pub(crate) async fn one_hot_user<P: SessionProvider + 'static>(label: &str, provider: Arc<P>) -> (Row, bool) {
    let user = "the-hot-user";
    provider.set_session(user, session_template(), None).await.expect("seed the hot user");
    let attempts = Arc::new(AtomicU64::new(0));
    let policy = poto_sessions::RetryPolicy::default();
    let started = std::time::Instant::now();
    let tasks: Vec<_> = (0..HOT_USER_TASKS)
        .map(|_| {
            let (provider, attempts, policy) = (provider.clone(), attempts.clone(), policy.clone());
            tokio::spawn(async move {
                let (mut failed, mut hist) = (0u64, new_histogram());
                for _ in 0..HOT_USER_UPDATES / HOT_USER_TASKS {
                    let call = std::time::Instant::now();
                    let outcome = update_session(&*provider, user, None, &policy, NumberModel::Exact, |current| {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        let data = bump_counter(current.unwrap_or_default());
                        async move { Ok(Change::Write(data)) }
                    })
                    .await;
                    hist.record(call.elapsed().as_nanos().max(1) as u64).ok();
                    failed += u64::from(outcome.is_err());
                }
                (failed, hist)
            })
        })
        .collect();
    let (mut failed, mut hist) = (0, new_histogram());
    for task in tasks {
        let (task_failed, task_hist) = task.await.expect("updater task");
        failed += task_failed;
        hist.add(task_hist).ok();
    }
    let elapsed = started.elapsed();
    let counted = counter_sum(&*provider, &[user.to_owned()]).await;
    provider.delete_session(user).await.ok();
    let applied = HOT_USER_UPDATES as u64 - failed;
    let lost = applied as i64 - counted;
    let conflicts = attempts.load(Ordering::Relaxed).saturating_sub(HOT_USER_UPDATES as u64);
    if lost != 0 {
        FAILED.store(true, Ordering::Relaxed);
    }
    let measured = Measured {
        server: String::new(),
        cpu: (0.0, None, None),
        ops: HOT_USER_UPDATES as u64,
        errors: failed,
        first_error: None,
        secs: elapsed.as_secs_f64(),
        hist,
    };
    let note =
        format!("{applied} applied, {lost} lost, {failed} failed, {conflicts} CAS conflicts, {elapsed:.2?} in all");
    (Row::from(label.to_owned(), HOT_USER_TASKS, &measured).note(note), failed == 0 && lost == 0)
}
