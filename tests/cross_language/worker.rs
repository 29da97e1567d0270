//! One server instance of the cross-language test (tests/cross_language): the same commands as
//! the C, Python and Node workers, on the Redis of `REDIS_URL` under `POTO_PREFIX`, with
//! `POTO_TIMEOUT_MS` as connect and command timeout when set (`load`: outage.py; `bench`, which
//! waits for a line on stdin when `POTO_BENCH_WAIT` is set: benches/cross_language/bench.py).
//! The `cross_language_worker` binary of the crate in this directory; harness.py builds it with
//! the C library.
//!
//!     cross_language_worker set-model USER MODEL | get-model USER | set-value USER KEY JSON |
//!                           get-value USER KEY | get-session USER | increment USER N |
//!                           touch-field USER KEY |
//!                           load USER SECONDS | bench USER_PREFIX SECONDS IN_FLIGHT

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poto_sessions::{LLMPotoModule, RedisOptions, RedisSessionProvider, Result, SessionData};
use serde_json::{json, Value};

fn increment(session: &mut SessionData) -> Result<()> {
    let n = session.get("n").and_then(Value::as_u64).unwrap_or(0);
    session.insert("n".into(), json!(n + 1));
    Ok(())
}

fn epoch_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()
}

/// Field writes k1, k2, ... for `seconds`, one line per call (see run.py), through any error.
async fn load(llm: &LLMPotoModule, user: &str, seconds: f64) {
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    for i in 1u64.. {
        if Instant::now() >= end {
            break;
        }
        match llm.set_session_value_for(user, &format!("k{i}"), i).await {
            Ok(()) => println!("ok {i} {}", epoch_ms()),
            Err(e) => {
                println!("err {i} {} {}", epoch_ms(), e.kind().code());
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

const OPS: [&str; 3] = ["get_user_session", "set_session_value", "update_user_session"];

/// `in_flight` concurrent tasks running the mix of benches/cross_language/bench.py on random users.
async fn bench(llm: Arc<LLMPotoModule>, prefix: &str, seconds: f64, in_flight: usize) -> Result<Value> {
    if std::env::var_os("POTO_BENCH_WAIT").is_some() {
        // Warm up, then start when benches/cross_language/bench.py says so.
        llm.get_user_session_for(&format!("{prefix}0")).await?;
        println!("ready");
        std::io::stdin().read_line(&mut String::new()).expect("stdin");
    }
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = (0..in_flight)
        .map(|_| {
            let (llm, prefix) = (llm.clone(), prefix.to_owned());
            tokio::spawn(async move {
                let (mut latencies, mut errors) = ([Vec::new(), Vec::new(), Vec::new()], 0u64);
                for i in 0u64.. {
                    if Instant::now() >= end {
                        break;
                    }
                    let user = format!("{prefix}{}", fastrand::u32(..1000));
                    let op = (i % 3) as usize;
                    let call = Instant::now();
                    let result = match op {
                        0 => llm.get_user_session_for(&user).await.map(|_| ()),
                        1 => llm.set_session_value_for(&user, "v", i).await,
                        _ => llm.update_user_session_for(&user, increment).await.map(|_| ()),
                    };
                    match result {
                        Ok(()) => latencies[op].push(call.elapsed().as_micros() as u64),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = ([Vec::new(), Vec::new(), Vec::new()], 0);
    for task in tasks {
        let (mine, e) = task.await.expect("bench task");
        for (all, mine) in latencies.iter_mut().zip(mine) {
            all.extend(mine);
        }
        errors += e;
    }
    let elapsed = started.elapsed().as_secs_f64();
    fn percentiles(mut values: Vec<u64>) -> Value {
        values.sort_unstable();
        let pick = |q: f64| values.get(((values.len() as f64 * q) as usize).min(values.len().saturating_sub(1)));
        json!({"count": values.len(), "p50_us": pick(0.5).copied().unwrap_or(0), "p99_us": pick(0.99).copied().unwrap_or(0)})
    }
    let all: Vec<u64> = latencies.iter().flatten().copied().collect();
    let mut report = json!({"ops": all.len(), "errors": errors, "seconds": elapsed, "all": percentiles(all)});
    for (name, values) in OPS.iter().zip(latencies) {
        report[*name] = percentiles(values);
    }
    Ok(report)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = std::env::var("POTO_PREFIX").unwrap_or_else(|_| "poto:".into());
    let mut options = RedisOptions::new().prefix(prefix);
    if let Some(ms) = std::env::var("POTO_TIMEOUT_MS").ok().and_then(|ms| ms.parse().ok()) {
        options = options.connect_timeout(Duration::from_millis(ms)).command_timeout(Duration::from_millis(ms));
    }
    let provider = RedisSessionProvider::connect(options).await?;
    let llm = LLMPotoModule::new().with_provider(Arc::new(provider));
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    let number = |i: usize| arg(i).parse::<f64>().expect("a number");
    match arg(0) {
        "set-model" => llm.update_user_model_for(arg(1), arg(2)).await?,
        "get-model" => println!("{}", llm.get_user_model_for(arg(1)).await?),
        "set-value" => {
            let value: Value = serde_json::from_str(arg(3)).expect("JSON value");
            llm.set_session_value_for(arg(1), arg(2), value).await?
        }
        "get-value" => println!("{}", llm.get_session_value_for(arg(1), arg(2)).await?.unwrap_or(Value::Null)),
        "get-session" => println!("{}", Value::Object(llm.get_user_session_for(arg(1)).await?)),
        "touch-field" => {
            // An update that sets one field and carries every other one.
            llm.update_user_session_for(arg(1), |s| {
                s.insert(arg(2).to_owned(), Value::from("x"));
                Ok(())
            })
            .await?;
        }
        "increment" => {
            for _ in 0..number(2) as u32 {
                llm.update_user_session_for(arg(1), increment).await?;
            }
        }
        "load" => load(&llm, arg(1), number(2)).await,
        "bench" => println!("{}", bench(Arc::new(llm), arg(1), number(2), number(3) as usize).await?),
        other => panic!("unknown command {other:?}"),
    }
    Ok(())
}
