//! The scale run: a million sessions (`--scale-sessions`), then count, listing, cleanup and
//! clear timed beside a SCAN of the keyspace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use poto_sessions::{RedisOptions, RedisSessionProvider, SessionProvider};
use serde_json::json;

use crate::config::Config;
use crate::cpu::{cpu_snapshot, cpu_used};
use crate::report::{group, secs, Verdicts, FAILED};

pub(crate) async fn run(cfg: &Config, url: &str, verdicts: &mut Verdicts) {
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
