//! The provider operations (get, set, update, module read) at each flight size, beside raw
//! redis-rs for the Redis provider.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use poto_sessions::update::{update_session, Change, RetryPolicy};
use poto_sessions::{NumberModel, PotoModule, RedisSessionProvider, SessionData, SessionProvider};

use crate::config::Config;
use crate::measure::measure;
use crate::raw::RawBaseline;
use crate::report::{group, Row};
use crate::session::{bump_counter, err, session_template, user};
use crate::USERS;

/// The module read where exactly one read in ten finds its session due a touch: every tenth
/// goes through a module with `touch_after` 0, the others through one with the default 60 s.
/// (A `touch_after` derived from the read rate drifted: the slower the reads, the more were
/// stale, up to 38 %.) The server statistics show the share of reads that ran the touch script
/// (`evalsha ×`).
pub(crate) const MODULE_STALE_MIX: &str = "PotoModule::get_user_session_for, ~10% stale";
/// The module read touching on every call.
pub(crate) const MODULE_TOUCH_ALWAYS: &str = "PotoModule::get_user_session_for, touch_after 0";

pub(crate) async fn populate<P: SessionProvider + ?Sized>(provider: &Arc<P>, template: &SessionData, n: usize) {
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
/// (touch_after 60 s, ~10% stale, 0) at each flight size. `fresh` makes a provider on a new, populated namespace for each measurement.
pub(crate) async fn run<P, MK, MF>(cfg: &Config, label: &str, fresh: MK, mut raw: Option<&mut RawBaseline>) -> Vec<Row>
where
    P: SessionProvider,
    MK: Fn() -> MF,
    MF: Future<Output = Arc<P>>,
{
    let template = Arc::new(session_template());
    let users: Arc<Vec<String>> = Arc::new((0..USERS).map(user).collect());
    let mut rows = Vec::new();
    let mut touch_note = String::new();
    let ops = [
        "get_session",
        "set_session",
        "update_session (+1)",
        "PotoModule::get_user_session_for",
        MODULE_STALE_MIX,
        MODULE_TOUCH_ALWAYS,
    ];
    for op in ops {
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
                    let module = |touch_after: Duration| {
                        PotoModule::new()
                            .with_provider(p.clone() as Arc<dyn SessionProvider>)
                            .with_touch_after(touch_after)
                    };
                    let default = module(poto_sessions::touch::DEFAULT_TOUCH_AFTER);
                    // [the module of most reads, the one touching every read], and which reads use the latter.
                    let (modules, touching_every) = match op {
                        MODULE_STALE_MIX => ([default, module(Duration::ZERO)], Some(10)),
                        MODULE_TOUCH_ALWAYS => ([module(Duration::ZERO), module(Duration::ZERO)], Some(1)),
                        _ => ([default.clone(), default], None),
                    };
                    touch_note = match touching_every {
                        Some(10) => "every 10th read touch_after 0, the others 60000 ms".into(),
                        Some(_) => "touch_after 0 ms".into(),
                        None => "touch_after 60000 ms".into(),
                    };
                    let (modules, reads) = (Arc::new(modules), Arc::new(AtomicUsize::new(0)));
                    measure(cfg, in_flight, USERS, move |_, i| {
                        let (m, u) = (modules.clone(), u.clone());
                        let n = reads.fetch_add(1, Ordering::Relaxed);
                        let due = touching_every.is_some_and(|every| n % every == every - 1);
                        async move { m[usize::from(due)].get_user_session_for(&u[i]).await.map(|_| ()).map_err(err) }
                    })
                    .await
                }
            };
            let mut row = Row::from(format!("{label} {op}"), in_flight, &m);
            if !touch_note.is_empty() {
                row = row.note(std::mem::take(&mut touch_note));
            }
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
