//! A whole write keeps a session's index entries and key deadline when neither would move by
//! the slack, min(60 s, TTL / 16) (docs/redis-format.md §5): the indexes still hold exactly what
//! the keys hold, so counting, listing and cleanup see the right sessions.

mod support;

use std::time::Duration;

use poto_sessions::data::parse_timestamp;
use poto_sessions::{RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use serde_json::{json, Value};
use support::RedisServer;

fn obj(value: Value) -> SessionData {
    value.as_object().unwrap().clone()
}

async fn provider(server: &RedisServer, prefix: &str) -> RedisSessionProvider {
    RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix(prefix)).await.unwrap()
}

/// What Redis holds for one session, in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Indexed {
    /// Score in the activity index.
    activity: i64,
    /// Score in the expiry index.
    deadline: i64,
    /// The key's own expiry (`PEXPIRETIME`).
    key_deadline: i64,
    /// The header's lastActivity field.
    header_activity: i64,
    /// The JSON's lastActivity.
    json_activity: i64,
}

fn indexed(server: &RedisServer, provider: &RedisSessionProvider, user: &str) -> Indexed {
    let key = provider.session_key(user);
    let base = &key[..key.len() - user.len() - "s:".len()];
    let number = |args: &[&str]| -> i64 {
        let out = server.cli(args);
        out.trim().parse().unwrap_or_else(|_| panic!("{args:?} answered {out:?}"))
    };
    let value = server.cli(&["GET", &key]);
    let json: Value = serde_json::from_str(&value.trim_end()[43..]).unwrap();
    Indexed {
        activity: number(&["ZSCORE", &format!("{base}i:act"), user]),
        deadline: number(&["ZSCORE", &format!("{base}i:exp"), user]),
        key_deadline: number(&["PEXPIRETIME", &key]),
        header_activity: number(&["GETRANGE", &key, "30", "42"]),
        json_activity: parse_timestamp(json["lastActivity"].as_str().unwrap()).unwrap(),
    }
}

/// The key expires when its index entry says (to the millisecond: `TIME` and the key's clock
/// are read a few µs apart), and the header holds the indexed activity.
fn assert_agree(s: Indexed) {
    assert!((s.key_deadline - s.deadline).abs() <= 1, "key and index deadlines differ: {s:?}");
    assert_eq!(s.header_activity, s.activity, "{s:?}");
}

#[tokio::test]
async fn a_write_within_the_slack_keeps_index_and_deadline_and_stamps_last_activity() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    p.set_session("u", obj(json!({"n": 1})), None).await.unwrap();
    let first = indexed(&server, &p, "u");
    assert_agree(first);
    assert_eq!(first.json_activity, first.activity);
    assert_eq!(first.deadline - first.activity, 24 * 3600 * 1000);

    tokio::time::sleep(Duration::from_millis(20)).await;
    p.set_session("u", obj(json!({"n": 2})), None).await.unwrap();
    let second = indexed(&server, &p, "u");
    assert_eq!(
        (second.activity, second.deadline, second.key_deadline, second.header_activity),
        (first.activity, first.deadline, first.key_deadline, first.header_activity),
        "a write within the slack moved the index"
    );
    assert!(second.json_activity >= first.json_activity + 20, "lastActivity not stamped: {second:?}");
    assert_eq!(p.get_session("u").await.unwrap().unwrap()["n"], 2);
}

#[tokio::test]
async fn a_write_past_the_slack_or_with_another_ttl_reindexes() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    let ttl = Duration::from_millis(1600); // slack 100 ms
    p.set_session("u", obj(json!({})), Some(ttl)).await.unwrap();
    let first = indexed(&server, &p, "u");

    tokio::time::sleep(Duration::from_millis(150)).await;
    p.set_session("u", obj(json!({})), Some(ttl)).await.unwrap();
    let later = indexed(&server, &p, "u");
    assert_agree(later);
    assert!(later.activity >= first.activity + 150, "{first:?} → {later:?}");
    assert_eq!((later.json_activity, later.deadline - later.activity), (later.activity, 1600));

    // Within the slack of the last indexing, but the deadline moves by far more than it.
    let hour = Duration::from_secs(3600);
    p.set_session("u", obj(json!({})), Some(hour)).await.unwrap();
    let longer = indexed(&server, &p, "u");
    assert_agree(longer);
    assert_eq!(longer.deadline - longer.activity, 3_600_000);

    p.set_session("u", obj(json!({})), Some(ttl)).await.unwrap();
    let shorter = indexed(&server, &p, "u");
    assert_agree(shorter);
    assert_eq!(shorter.deadline - shorter.activity, 1600);
}

#[tokio::test]
async fn compare_and_set_within_the_slack_keeps_the_index_and_bumps_the_version() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    let versioned = p.versioned().unwrap();
    p.set_session("u", obj(json!({"n": 1})), None).await.unwrap();
    let before = indexed(&server, &p, "u");
    let v1 = versioned.get_versioned("u").await.unwrap().unwrap().version;
    let outcome = versioned.compare_and_set("u", Some(v1), obj(json!({"n": 2})), None).await.unwrap();
    let poto_sessions::CasOutcome::Applied(v2) = outcome else { panic!("{outcome:?}") };
    assert_ne!(v1, v2);
    assert_eq!(indexed(&server, &p, "u").activity, before.activity);
    let stale = versioned.compare_and_set("u", Some(v1), obj(json!({"n": 3})), None).await.unwrap();
    assert!(matches!(stale, poto_sessions::CasOutcome::Conflict(_)), "{stale:?}");
}

#[tokio::test]
async fn sessions_written_within_the_slack_expire_with_their_index_entries() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    let ttl = Duration::from_millis(1600);
    p.set_session("kept", obj(json!({})), Some(ttl)).await.unwrap();
    p.set_session("rewritten", obj(json!({})), Some(ttl)).await.unwrap();
    for n in 0..4 {
        tokio::time::sleep(Duration::from_millis(15)).await;
        p.set_session("rewritten", obj(json!({"n": n})), Some(ttl)).await.unwrap();
    }
    assert_agree(indexed(&server, &p, "rewritten"));
    assert_eq!(p.count().await.unwrap(), 2);
    let mut active = p.get_active_sessions().await.unwrap();
    active.sort();
    assert_eq!(active, ["kept", "rewritten"]);

    // Past every deadline: the keys are gone and so are the sessions the indexes count.
    tokio::time::sleep(ttl + Duration::from_millis(200)).await;
    assert!(!p.has_session("rewritten").await.unwrap());
    assert_eq!(p.count().await.unwrap(), 0);
    assert!(p.get_active_sessions().await.unwrap().is_empty());
}

#[tokio::test]
async fn cleanup_sees_the_indexed_activity_within_the_slack() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    let ttl = Duration::from_secs(8); // slack 500 ms
    p.set_session("idle", obj(json!({})), Some(ttl)).await.unwrap();
    p.set_session("busy", obj(json!({})), Some(ttl)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Past the slack: re-indexed, so "busy" is recent again and "idle" is not.
    p.set_session("busy", obj(json!({"n": 1})), Some(ttl)).await.unwrap();
    let busy = indexed(&server, &p, "busy");
    assert_eq!(busy.activity, busy.json_activity);
    // Idle for 1.5 s, busy for a moment: a 1 s threshold parts them even on a stalling machine.
    assert_eq!(p.cleanup_old_sessions(Duration::from_millis(1000)).await.unwrap(), 1);
    assert!(!p.has_session("idle").await.unwrap());
    assert!(p.has_session("busy").await.unwrap());
    assert_eq!(p.get_active_sessions().await.unwrap(), ["busy"]);
}

/// The write script stamps lastActivity as `Date.toISOString()` prints the server's `TIME`,
/// whether the client's clock hint names the right second (the provider's writes above), names
/// another one, or is missing.
#[tokio::test]
async fn the_stamp_is_the_servers_with_a_wrong_or_missing_clock_hint() {
    let server = RedisServer::start();
    let p = provider(&server, "k:").await;
    let script = concat!(
        include_str!("../src/redis/lua/format.lua"),
        include_str!("../src/redis/lua/clock.lua"),
        include_str!("../src/redis/lua/head.lua"),
        include_str!("../src/redis/lua/index.lua"),
        include_str!("../src/redis/lua/write.lua")
    );
    let key = p.session_key("u");
    let base = key[..key.len() - "s:u".len()].to_owned();
    let (exp, act, seq) = (format!("{base}i:exp"), format!("{base}i:act"), format!("{base}i:seq"));
    for hint in [Some("0 1970-01-01T00:00:00"), None] {
        server.cli(&["DEL", &key]);
        let mut args = vec!["EVAL", script, "4", &key, &exp, &act, &seq, "u", "60000", "set", "0", "", "}"];
        args.extend(hint);
        server.cli(&args);
        let s = indexed(&server, &p, "u");
        assert_agree(s);
        let value = server.cli(&["GET", &key]);
        let json: Value = serde_json::from_str(&value.trim_end()[43..]).unwrap();
        let text = json["lastActivity"].as_str().unwrap();
        assert_eq!(text, poto_sessions::data::format_timestamp(s.activity), "hint {hint:?}");
        assert_eq!(json["createdAt"], text);
    }
    p.set_session("u", obj(json!({})), None).await.unwrap();
    let s = indexed(&server, &p, "u");
    let value = server.cli(&["GET", &key]);
    let json: Value = serde_json::from_str(&value.trim_end()[43..]).unwrap();
    assert_eq!(json["lastActivity"], poto_sessions::data::format_timestamp(s.json_activity));
}
