//! The raw redis-rs baseline: the commands `RedisSessionProvider` sends, built by hand on
//! multiplexed connections, measured beside the provider (the target: ≥ 80% of raw).

use std::sync::Arc;

use poto_sessions::redis::shard_of;
use poto_sessions::{RedisSessionProvider, SessionProvider};
use redis::aio::MultiplexedConnection;
use serde_json::Value;

use crate::config::Config;
use crate::measure::{measure, Measured};
use crate::redis_benchmark::PlainRates;
use crate::report::{group, print_table, Verdicts};
use crate::server::redis_provider;
use crate::session::{err, session_template, user};
use crate::{provider_ops, USERS};

/// The session write script exactly as the provider sends it (same text, so the same SHA1).
const WRITE_LUA: &str = concat!(
    include_str!("../../core/src/redis/lua/format.lua"),
    include_str!("../../core/src/redis/lua/clock.lua"),
    include_str!("../../core/src/redis/lua/head.lua"),
    include_str!("../../core/src/redis/lua/index.lua"),
    include_str!("../../core/src/redis/lua/write.lua")
);
/// The provider's default TTL (24 h) in ms, as the write script receives it.
const TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The Redis provider's operations beside raw redis-rs, and their targets at 64 in flight:
/// `get_session` ≥ 50% of raw `GET` (issue 12) and `set_session` ≥ 80% of raw; `get_session`
/// ≥ 1.2× and `set_session` ≥ 0.7× `redis-benchmark GET`/`SET -P 1` (`plain`) when that ran;
/// the module read with 10% of reads stale ≥ 90% of `get_session`. Returns `set_session`'s rate
/// at 64 in flight, the yardstick of the compare-and-set target.
pub(crate) fn compare(
    rt: &tokio::runtime::Runtime,
    cfg: &Config,
    url: &str,
    plain: PlainRates,
    verdicts: &mut Verdicts,
) -> Option<f64> {
    let mut raw = rt.block_on(RawBaseline::new(url, cfg.raw_connections));
    let rows = rt.block_on(provider_ops::run(
        cfg,
        "redis",
        || {
            let url = url.to_owned();
            async move { Arc::new(redis_provider(&url, "ops").await) }
        },
        Some(&mut raw),
    ));
    print_table(
        &format!(
            "Redis provider (one connection) beside raw redis-rs ({} multiplexed connection{}), each op timed",
            cfg.raw_connections,
            if cfg.raw_connections == 1 { "" } else { "s" }
        ),
        &rows,
    );
    for (op, in_flight, provider_rate, raw_rate) in &raw.results {
        if *in_flight != 64 {
            continue;
        }
        let ratio = provider_rate / raw_rate;
        let least = if op == "get_session" { 0.5 } else { 0.8 };
        verdicts.check(
            ratio >= least,
            format!(
                "redis {op}, 64 in flight: {} ops/s = {:.0}% of raw redis-rs {} (target ≥ {:.0}%)",
                group(*provider_rate),
                ratio * 100.0,
                group(*raw_rate),
                least * 100.0
            ),
        );
        let (plain_rate, command, target) = match op.as_str() {
            "get_session" => (plain.get_p1, "GET", 1.2),
            "set_session" => (plain.set_p1, "SET", 0.7),
            _ => (None, "", 0.0),
        };
        if let Some(b) = plain_rate {
            verdicts.check(
                *provider_rate >= target * b,
                format!(
                    "redis {op}, 64 in flight: {} ops/s = {:.2}× redis-benchmark {command} -P 1 {} (target ≥ {target}×)",
                    group(*provider_rate),
                    provider_rate / b,
                    group(b)
                ),
            );
        }
    }
    let rate = |op: &str| rows.iter().find(|r| r.in_flight == "64" && r.what == format!("redis {op}")).map(|r| r.rate);
    if let (Some(get), Some(stale), Some(always)) =
        (rate("get_session"), rate(provider_ops::MODULE_STALE_MIX), rate(provider_ops::MODULE_TOUCH_ALWAYS))
    {
        verdicts.check(
            stale >= 0.9 * get,
            format!(
                "redis {}, 64 in flight: {} ops/s = {:.0}% of get_session {} (target ≥ 90%; touch_after 0: {:.0}%)",
                provider_ops::MODULE_STALE_MIX,
                group(stale),
                stale / get * 100.0,
                group(get),
                always / get * 100.0
            ),
        );
    }
    rate("set_session")
}

/// What `RedisSessionProvider` would send, built by hand: keys as `Layout` makes them.
pub(crate) struct RawBaseline {
    /// The connection `--raw-connections` adds more of (task `t` uses `conns[t % n]`).
    conns: Arc<Vec<MultiplexedConnection>>,
    conn: MultiplexedConnection,
    write: redis::Script,
    users: Arc<Vec<String>>,
    /// The template's fields (without userId) as `(name, JSON text)`.
    fields: Arc<Vec<(String, String)>>,
    /// (op, in flight, provider ops/s, raw ops/s)
    pub(crate) results: Vec<(String, usize, f64, f64)>,
}

struct RawKeys {
    session: String,
    exp: String,
    act: String,
    seq: String,
}

fn raw_keys(prefix: &str, user_id: &str) -> RawKeys {
    let base = format!("{prefix}{{{:02}}}:", shard_of(user_id));
    RawKeys {
        session: format!("{base}s:{user_id}"),
        exp: format!("{base}i:exp"),
        act: format!("{base}i:act"),
        seq: format!("{base}i:seq"),
    }
}

impl RawBaseline {
    pub(crate) async fn new(url: &str, connections: usize) -> RawBaseline {
        let client = redis::Client::open(url).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.expect("raw connection");
        let mut conns = vec![conn.clone()];
        for _ in 1..connections {
            conns.push(client.get_multiplexed_async_connection().await.expect("raw connection"));
        }
        let write = redis::Script::new(WRITE_LUA);
        let sha = write.prepare_invoke().load_async(&mut conn).await.expect("SCRIPT LOAD");
        assert_eq!(sha, write.get_hash());
        let fields = session_template().iter().map(|(k, v)| (k.clone(), v.to_string())).collect();
        RawBaseline {
            conns: Arc::new(conns),
            conn,
            write,
            users: Arc::new((0..USERS).map(user).collect()),
            fields: Arc::new(fields),
            results: Vec::new(),
        }
    }

    fn prefix_of(provider: &RedisSessionProvider) -> String {
        provider.options().prefix.clone()
    }

    /// `GET <session key>`, as `get_session` sends it (one string: the header and the JSON text).
    pub(crate) async fn get(&mut self, cfg: &Config, provider: &RedisSessionProvider, in_flight: usize) -> Measured {
        let prefix = Arc::new(Self::prefix_of(provider));
        assert_eq!(raw_keys(&prefix, "user-00042").session, provider.session_key("user-00042"));
        let (conns, users) = (self.conns.clone(), self.users.clone());
        measure(cfg, in_flight, USERS, move |t, i| {
            let (mut conn, users, prefix) = (conns[t % conns.len()].clone(), users.clone(), prefix.clone());
            async move {
                let key = raw_keys(&prefix, &users[i]).session;
                let reply: redis::Value = redis::cmd("GET").arg(key).query_async(&mut conn).await.map_err(err)?;
                match reply {
                    redis::Value::BulkString(ref b) if !b.is_empty() => Ok(()),
                    other => Err(format!("unexpected GET reply {other:?}")),
                }
            }
        })
        .await
    }

    /// `EVALSHA <write script> 4 <session> <exp> <act> <seq> <user> <ttl> set 0 '' <members…> <hint>`,
    /// as `set_session` sends it.
    pub(crate) async fn set(&mut self, cfg: &Config, provider: &RedisSessionProvider, in_flight: usize) -> Measured {
        let prefix = Arc::new(Self::prefix_of(provider));
        // The raw write must store a session the provider reads back.
        {
            let mut conn = self.conn.clone();
            raw_set_cmd(&self.write, &prefix, "raw-check", &self.fields)
                .query_async::<redis::Value>(&mut conn)
                .await
                .unwrap();
            let back = provider.get_session("raw-check").await.expect("read back raw write").expect("raw write stored");
            assert_eq!(back.get("systemPrompt"), session_template().get("systemPrompt"));
            provider.delete_session("raw-check").await.unwrap();
        }
        let (conns, users, fields) = (self.conns.clone(), self.users.clone(), self.fields.clone());
        let script = Arc::new(self.write.clone());
        measure(cfg, in_flight, USERS, move |t, i| {
            let (mut conn, users, fields, prefix, script) =
                (conns[t % conns.len()].clone(), users.clone(), fields.clone(), prefix.clone(), script.clone());
            async move {
                let cmd = raw_set_cmd(&script, &prefix, &users[i], &fields);
                let reply: redis::Value = cmd.query_async(&mut conn).await.map_err(err)?;
                match reply {
                    redis::Value::Array(ref a) if a.first() == Some(&redis::Value::Int(1)) => Ok(()),
                    other => Err(format!("unexpected write reply {other:?}")),
                }
            }
        })
        .await
    }
}

fn raw_set_cmd(script: &redis::Script, prefix: &str, user_id: &str, fields: &[(String, String)]) -> redis::Cmd {
    let keys = raw_keys(prefix, user_id);
    let owner = Value::String(user_id.to_owned()).to_string();
    // The members after the two timestamps, in key order, and the closing brace.
    let mut members: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    members.push(("userId", &owner));
    members.sort();
    let mut tail = String::new();
    for (k, v) in members {
        tail.push(',');
        tail.push_str(&Value::String(k.to_owned()).to_string());
        tail.push(':');
        tail.push_str(v);
    }
    tail.push('}');
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(4).arg(&keys.session).arg(&keys.exp).arg(&keys.act).arg(&keys.seq);
    // member, ttl_ms, mode, expected version, createdAt ('': stamp), the other members, and the
    // clock hint (this process shares the server's clock).
    let secs = poto_sessions::data::now_unix_ms().div_euclid(1000);
    let hint = format!("{secs} {}", &poto_sessions::data::format_timestamp(secs * 1000)[..19]);
    cmd.arg(user_id).arg(TTL_MS).arg("set").arg(0).arg("").arg(tail).arg(hint);
    cmd
}
