//! Redis CPU per operation of the stored formats, from `INFO commandstats` (a script's row
//! includes the commands it runs), on a private redis-server with 100k sessions and full
//! indexes. Prints figures; asserts nothing. `cargo run --release -p poto-sessions --example format_cost`
//! (`FORMAT_COST_SESSIONS=n` to change the population). The figures in docs/redis-format.md
//! ("Measurements") come from it.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;

use poto_sessions::{RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use redis::aio::MultiplexedConnection;
use serde_json::{json, Value};

const FORMAT1_COMMON: &str = include_str!("../../cli/tests/format1/common.lua");
const FORMAT1_WRITE: &str = include_str!("../../cli/tests/format1/write.lua");
const FORMAT1_FIELD: &str = include_str!("../../cli/tests/format1/field.lua");

/// A ~500-byte session of 14 members, as the issue measured.
fn session(i: usize) -> SessionData {
    json!({
        "currentModelName": "llm1",
        "systemPrompt": "You are a helpful assistant that answers briefly and cites its sources.",
        "currentConversationId": format!("conv-{i:08}"),
        "theme": "dark", "lang": "en-US", "tz": "Europe/Paris",
        "cart": {"items": [{"sku": "A-1", "n": 2}, {"sku": "B-22", "n": 1}], "total": 31.5},
        "visits": i, "flags": [true, false, true],
        "lastPage": "/account/settings/notifications",
        "csrf": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
        "features": {"beta": true, "newNav": false},
        "note": "a short free-text note"
    })
    .as_object()
    .unwrap()
    .clone()
}

fn user(i: usize) -> String {
    format!("user-{i:07}")
}

/// Top-level commands of a measurement: a script's or `EXEC`'s row includes what it ran.
const TOP_LEVEL: [&str; 5] = ["evalsha", "get", "hgetall", "exec", "multi"];

/// Server CPU since the last reset (`INFO cpu`, user + sys, seconds).
async fn process_cpu(conn: &mut MultiplexedConnection) -> f64 {
    let info: String = redis::cmd("INFO").arg("cpu").query_async(conn).await.unwrap();
    let field = |key: &str| {
        info.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(0.0)
    };
    field("used_cpu_user:") + field("used_cpu_sys:")
}

/// One measurement: µs per op of the top-level commandstats rows, of the script row alone,
/// and of the server process's CPU (which includes reading requests and writing replies).
#[derive(Clone, Copy)]
struct Cost {
    rows: f64,
    script: f64,
    process: f64,
}

async fn cpu(conn: &mut MultiplexedConnection, ops: usize, cpu_before: f64) -> (Cost, String) {
    let process = (process_cpu(conn).await - cpu_before) * 1e6 / ops as f64;
    let info: String = redis::cmd("INFO").arg("commandstats").query_async(conn).await.unwrap();
    let (mut rows_total, mut script, mut rows) = (0.0, 0.0, Vec::new());
    for line in info.lines() {
        let Some((name, rest)) = line.strip_prefix("cmdstat_").and_then(|l| l.split_once(':')) else { continue };
        if name.starts_with("config") || name == "info" || name == "script" {
            continue;
        }
        let field = |key: &str| {
            rest.split(',').find_map(|kv| kv.strip_prefix(key)).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        };
        if TOP_LEVEL.contains(&name) {
            rows_total += field("usec=");
        }
        if name == "evalsha" {
            script = field("usec_per_call=");
        }
        rows.push(format!("{name} {:.2}/op {:.2}", field("calls=") / ops as f64, field("usec_per_call=")));
    }
    (Cost { rows: rows_total / ops as f64, script, process }, rows.join(", "))
}

async fn reset(conn: &mut MultiplexedConnection) -> f64 {
    let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query_async(conn).await.unwrap();
    process_cpu(conn).await
}

/// Keeps the lowest figures of each measurement over the rounds (the least disturbed run).
#[derive(Default)]
struct Best(Vec<(String, Cost, String)>);

impl Best {
    fn add(&mut self, what: &str, (cost, rows): (Cost, String)) {
        match self.0.iter_mut().find(|(w, ..)| w == what) {
            Some((_, best, best_rows)) => {
                if cost.rows < best.rows {
                    (*best, *best_rows) = (cost, rows);
                }
            }
            None => self.0.push((what.to_owned(), cost, rows)),
        }
    }

    fn print(&self) {
        println!("{:<62} {:>9} {:>9} {:>9}", "operation", "script", "top rows", "process");
        for (what, c, rows) in &self.0 {
            println!("{what:<62} {:>9.2} {:>9.2} {:>9.2}   [{rows}]", c.script, c.rows, c.process);
        }
    }
}

/// Format 1 as release 1 sent it: `write.lua` mode set with one name/value pair per member.
fn format1_write(sha: &str, prefix: &str, id: &str, data: &SessionData) -> redis::Cmd {
    let shard = poto_sessions::redis::shard_of(id);
    let base = format!("{prefix}{{{shard:02}}}:");
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(sha).arg(4).arg(format!("{base}s:{id}")).arg(format!("{base}i:exp")).arg(format!("{base}i:act"));
    cmd.arg(format!("{base}i:seq")).arg(id).arg(86_400_000).arg("set").arg(0).arg(0);
    let mut fields = vec![("userId".to_owned(), Value::String(id.into()).to_string())];
    fields.extend(data.iter().map(|(k, v)| (k.clone(), v.to_string())));
    let size: usize = fields.iter().map(|(k, v)| k.len() + v.len()).sum();
    cmd.arg(size);
    for (k, v) in fields {
        cmd.arg(k).arg(v);
    }
    cmd
}

fn format1_field(sha: &str, prefix: &str, id: &str, name: &str, value: &str) -> redis::Cmd {
    let shard = poto_sessions::redis::shard_of(id);
    let base = format!("{prefix}{{{shard:02}}}:");
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(sha).arg(4).arg(format!("{base}s:{id}")).arg(format!("{base}i:exp")).arg(format!("{base}i:act"));
    cmd.arg(format!("{base}i:seq")).arg(id).arg(86_400_000).arg(1 << 20).arg(name).arg(value);
    cmd
}

async fn in_batches(conn: &MultiplexedConnection, cmds: impl Iterator<Item = redis::Cmd>) {
    let cmds: Vec<redis::Cmd> = cmds.collect();
    for chunk in cmds.chunks(500) {
        let mut pipe = redis::pipe();
        for cmd in chunk {
            pipe.add_command(cmd.clone());
        }
        let _: Vec<redis::Value> = pipe.query_async(&mut conn.clone()).await.unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A 100 KB session: 100 members of ~1 KB.
fn big_session() -> SessionData {
    (0..100).map(|i| (format!("part{i:03}"), json!("x".repeat(1000)))).collect()
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("FORMAT_COST_SESSIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let rounds: usize = std::env::var("FORMAT_COST_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let measured = 10_000.min(n);
    let server = support::RedisServer::start();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let size = Value::Object(session(0)).to_string().len();
    println!(
        "# Redis per operation, µs: the script's commandstats row (nested commands included), the top-level \
         rows summed, and the server process's CPU (INFO cpu); {n} sessions of ~{size} bytes per format, \
         full indexes; lowest of {rounds} interleaved rounds"
    );

    let f1_write: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(format!("{FORMAT1_COMMON}{FORMAT1_WRITE}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    let f1_field: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(format!("{FORMAT1_COMMON}{FORMAT1_FIELD}"))
        .query_async(&mut conn)
        .await
        .unwrap();
    in_batches(&conn, (0..n).map(|i| format1_write(&f1_write, "f1:", &user(i), &session(i)))).await;
    let _: redis::Value = format1_write(&f1_write, "f1:", "big", &big_session()).query_async(&mut conn).await.unwrap();

    let provider =
        Arc::new(RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("f2:")).await.unwrap());
    let populate: Vec<_> = (0..64)
        .map(|t| {
            let p = provider.clone();
            tokio::spawn(async move {
                for i in (t..n).step_by(64) {
                    p.set_session(&user(i), session(i), None).await.unwrap();
                }
            })
        })
        .collect();
    for task in populate {
        task.await.unwrap();
    }
    provider.set_session("big", big_session(), None).await.unwrap();

    /// Runs `f(0..ops)` from `tasks` concurrent tasks.
    async fn run<F, Fut>(f: F, ops: usize, tasks: usize)
    where
        F: Fn(usize) -> Fut + Send + Sync + Clone + 'static,
        Fut: std::future::Future<Output = ()> + Send,
    {
        let handles: Vec<_> = (0..tasks)
            .map(|t| {
                let f = f.clone();
                tokio::spawn(async move {
                    for i in (t..ops).step_by(tasks) {
                        f(i).await;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    }

    let mut best = Best::default();
    for round in 0..rounds {
        let offset = round * measured;
        let before = reset(&mut conn).await;
        in_batches(
            &conn,
            (0..measured).map(|i| format1_write(&f1_write, "f1:", &user((i + offset) * 7 % n), &session(i))),
        )
        .await;
        best.add("format 1: whole write (write.lua set, 14 members)", cpu(&mut conn, measured, before).await);

        let p = provider.clone();
        let before = reset(&mut conn).await;
        run(
            move |i| {
                let p = p.clone();
                async move { p.set_session(&user((i + offset) * 7 % n), session(i), None).await.unwrap() }
            },
            measured,
            64,
        )
        .await;
        best.add("format 2: whole write (write.lua set)", cpu(&mut conn, measured, before).await);

        let before = reset(&mut conn).await;
        in_batches(
            &conn,
            (0..measured).map(|i| {
                let id = user(i);
                redis::cmd("HGETALL")
                    .arg(format!("f1:{{{:02}}}:s:{id}", poto_sessions::redis::shard_of(&id)))
                    .to_owned()
            }),
        )
        .await;
        best.add("format 1: read (HGETALL)", cpu(&mut conn, measured, before).await);

        let p = provider.clone();
        let before = reset(&mut conn).await;
        run(
            move |i| {
                let p = p.clone();
                async move {
                    p.get_session_json(&user(i)).await.unwrap();
                }
            },
            measured,
            64,
        )
        .await;
        best.add("format 2: read (GET)", cpu(&mut conn, measured, before).await);

        let p = provider.clone();
        let before = reset(&mut conn).await;
        run(
            move |i| {
                let p = p.clone();
                async move {
                    p.touch(&user(i), None).await.unwrap();
                }
            },
            measured,
            64,
        )
        .await;
        best.add("format 2: touch (touch.lua, touch_after 0)", cpu(&mut conn, measured, before).await);

        let p = provider.clone();
        let before = reset(&mut conn).await;
        run(
            move |i| {
                let p = p.clone();
                async move {
                    p.touch_if_older(&user(i), None, std::time::Duration::from_secs(60)).await.unwrap();
                }
            },
            measured,
            64,
        )
        .await;
        best.add("format 2: lazy touch, session fresh (touch_after 60 s)", cpu(&mut conn, measured, before).await);

        let before = reset(&mut conn).await;
        in_batches(
            &conn,
            (0..measured).map(|i| format1_field(&f1_field, "f1:", &user(i), "visits", &json!(i).to_string())),
        )
        .await;
        best.add("format 1: field write (field.lua)", cpu(&mut conn, measured, before).await);

        let p = provider.clone();
        let before = reset(&mut conn).await;
        run(
            move |i| {
                let p = p.clone();
                async move {
                    p.set_field(&user(i), "visits", json!(i), None, None).await.unwrap();
                }
            },
            measured,
            64,
        )
        .await;
        best.add("format 2: field write (GET + write.lua cas)", cpu(&mut conn, measured, before).await);

        let big_ops = 200;
        let before = reset(&mut conn).await;
        for i in 0..big_ops {
            let value = Value::String(format!("{i:01000}")).to_string();
            let _: redis::Value =
                format1_field(&f1_field, "f1:", "big", "part050", &value).query_async(&mut conn).await.unwrap();
        }
        best.add("format 1: field write, 100 KB session (field.lua)", cpu(&mut conn, big_ops, before).await);

        let before = reset(&mut conn).await;
        for i in 0..big_ops {
            provider.set_field("big", "part050", json!(format!("{i:01000}")), None, None).await.unwrap();
        }
        best.add("format 2: field write, 100 KB session (GET + write.lua cas)", cpu(&mut conn, big_ops, before).await);

        let before = reset(&mut conn).await;
        for _ in 0..big_ops {
            provider.set_session("big", big_session(), None).await.unwrap();
        }
        best.add("format 2: whole write, 100 KB session (write.lua set)", cpu(&mut conn, big_ops, before).await);

        // Lower bound without Lua: the same value, TTL and indexes in MULTI (no checks, no stamp).
        let value = format!("PS2 {:016} {:08} {:013}{}", 1, 26, 0, Value::Object(session(1)));
        let before = reset(&mut conn).await;
        in_batches(
            &conn,
            (0..measured)
                .map(|i| {
                    let id = user((i + offset) * 7 % n);
                    let base = format!("f3:{{{:02}}}:", poto_sessions::redis::shard_of(&id));
                    let mut cmds = vec![redis::cmd("MULTI")];
                    cmds.push(redis::cmd("INCR").arg(format!("{base}i:seq")).to_owned());
                    cmds.push(
                        redis::cmd("SET").arg(format!("{base}s:{id}")).arg(&value).arg("PX").arg(86_400_000).to_owned(),
                    );
                    cmds.push(
                        redis::cmd("ZADD").arg(format!("{base}i:exp")).arg(1_800_000_000_000u64).arg(&id).to_owned(),
                    );
                    cmds.push(
                        redis::cmd("ZADD").arg(format!("{base}i:act")).arg(1_700_000_000_000u64).arg(&id).to_owned(),
                    );
                    cmds.push(redis::cmd("EXEC"));
                    cmds
                })
                .flatten(),
        )
        .await;
        best.add("no Lua: MULTI INCR, SET PX, 2 ZADD (lower bound)", cpu(&mut conn, measured, before).await);
    }
    best.print();
}
