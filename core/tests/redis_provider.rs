//! Redis-specific properties on a real redis-server: isolation, corrupt data, index hygiene,
//! server clock, unreachable server, fork.

mod support;

use std::time::Duration;

use poto_sessions::{ErrorKind, RedisOptions, RedisSessionProvider, SessionData, SessionProvider, VersionedProvider};
use serde_json::json;
use support::RedisServer;

fn obj(value: serde_json::Value) -> SessionData {
    value.as_object().unwrap().clone()
}

async fn provider(server: &RedisServer, prefix: &str) -> RedisSessionProvider {
    RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix(prefix)).await.unwrap()
}

#[tokio::test]
async fn prefixes_are_isolated() {
    let server = RedisServer::start();
    let (a, b) = (provider(&server, "app1:").await, provider(&server, "app1:x:").await);
    a.set_session("u", obj(json!({"from": "a"})), None).await.unwrap();
    b.set_session("u", obj(json!({"from": "b"})), None).await.unwrap();
    assert_eq!(a.get_session("u").await.unwrap().unwrap()["from"], "a");
    assert_eq!(b.get_session("u").await.unwrap().unwrap()["from"], "b");
    assert_eq!(b.clear().await.unwrap(), 1);
    assert_eq!(a.count().await.unwrap(), 1);
    assert_eq!(b.count().await.unwrap(), 0);
    let bad = RedisSessionProvider::new(RedisOptions::new().url(server.url()).prefix("a{b}:"));
    assert_eq!(bad.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

/// A format-2 value with `json` after the header (docs/redis-format.md §2), written raw.
fn plant(server: &RedisServer, key: &str, json: &str) {
    let created = "\"2020-01-01T00:00:00.000Z\"";
    let value = format!(
        "PS2 {:016} {:08} {:013}{{\"lastActivity\":\"2020-01-01T00:00:00.000Z\",\"createdAt\":{created}{json}",
        7,
        created.len(),
        1_577_836_800_000u64
    );
    let mut raw = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("SET").arg(key).arg(value).query(&mut raw).unwrap();
}

#[tokio::test]
async fn corrupt_data_is_a_typed_error_naming_the_user() {
    let server = RedisServer::start();
    let p = provider(&server, "poto:").await;
    p.set_session("eve", obj(json!({"ok": 1})), None).await.unwrap();
    let key = p.session_key("eve");
    plant(&server, &key, r#","ok":{not json}"#);
    let err = p.get_session("eve").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptData);
    assert!(err.to_string().contains("\"eve\""), "{err}");
    assert_eq!(p.get_session_json("eve").await.unwrap_err().kind(), ErrorKind::CorruptData);

    plant(&server, &key, r#","ok":1,"userId":42}"#);
    let err = p.get_session("eve").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
    assert_eq!(p.get_session_json("eve").await.unwrap_err().kind(), ErrorKind::CorruptData);

    // Another user's data under eve's key is never shown to eve.
    plant(&server, &key, r#","userId":"mallory"}"#);
    for err in [p.get_session("eve").await.unwrap_err(), p.get_session_json("eve").await.unwrap_err()] {
        assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
        assert!(err.to_string().contains("\"eve\"") && !err.to_string().contains("mallory"), "{err}");
    }
    // A well-formed value reads back (the planter above is right).
    plant(&server, &key, r#","userId":"eve","ok":2}"#);
    assert_eq!(p.get_session("eve").await.unwrap().unwrap()["ok"], 2);

    let digits = r#"PS2 00000000000000x1 00000026 17640453102z0{"lastActivity":"2025-11-25T04:35:10.250Z","createdAt":"2025-11-25T04:35:10.250Z","userId":"digits"}"#;
    for (user, bad) in
        [("mallet", "plain string"), ("old", "PS1 0000000000000001 00000000 0000000000000{}"), ("digits", digits)]
    {
        let key = p.session_key(user);
        server.cli(&["SET", &key, bad]);
        for err in [
            p.get_session(user).await.unwrap_err(),
            p.get_session_json(user).await.unwrap_err(),
            p.get_and_touch(user, None, Duration::ZERO).await.unwrap_err(),
            p.touch(user, None).await.unwrap_err(),
            p.set_field(user, "k", json!(1), None, None).await.unwrap_err(),
            p.compare_and_set(user, Some(1), obj(json!({})), None).await.unwrap_err(),
            p.insert_if_absent(user, obj(json!({})), None).await.unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
            assert!(err.to_string().contains(user), "{err}");
            assert!(err.to_string().contains("not a poto-sessions format-2 session"), "{err}");
        }
        assert_eq!(server.cli(&["GET", &key]).trim(), bad, "a failed write changed the key");
        p.set_session(user, obj(json!({"fresh": true})), None).await.unwrap();
        assert_eq!(p.get_session(user).await.unwrap().unwrap()["fresh"], true);
    }

    // A format-1 session hash (or any other type) is refused, naming the migration.
    let key = p.session_key("v1");
    let mut raw = redis::Client::open(server.url()).unwrap().get_connection().unwrap();
    let _: () = redis::cmd("HSET")
        .arg(&key)
        .arg(b"\xfff")
        .arg("1")
        .arg(b"\xffv")
        .arg("1")
        .arg("a")
        .arg("1")
        .query(&mut raw)
        .unwrap();
    for err in [
        p.get_session("v1").await.unwrap_err(),
        p.get_session_json("v1").await.unwrap_err(),
        p.touch("v1", None).await.unwrap_err(),
        p.compare_and_set("v1", Some(1), obj(json!({})), None).await.unwrap_err(),
        p.set_field("v1", "k", json!(1), None, None).await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
        assert!(err.to_string().contains("poto-sessions-admin migrate"), "{err}");
    }
}

#[tokio::test]
async fn a_format_1_prefix_is_refused_naming_the_migration() {
    let server = RedisServer::start();
    server.cli(&["SET", "poto:{meta}", "poto-sessions format=1 shards=64"]);
    let err = RedisSessionProvider::connect(RedisOptions::new().url(server.url())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
    assert!(err.to_string().contains("poto-sessions-admin migrate"), "{err}");
    server.cli(&["SET", "poto:{meta}", "poto-sessions migrating format=1 to format=2 shards=64"]);
    let err = RedisSessionProvider::connect(RedisOptions::new().url(server.url())).await.unwrap_err();
    assert!(err.to_string().contains("has not finished"), "{err}");
}

#[tokio::test]
async fn another_format_on_the_prefix_is_refused() {
    let server = RedisServer::start();
    server.cli(&["SET", "poto:{meta}", "poto-sessions format=3 shards=128"]);
    let err = RedisSessionProvider::connect(RedisOptions::new().url(server.url())).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptData, "{err}");
}

#[tokio::test]
async fn expired_sessions_leave_no_index_entries() {
    let server = RedisServer::start();
    let p = provider(&server, "hyg:").await;
    let short = Some(Duration::from_millis(50));
    for i in 0..200 {
        p.set_session(&format!("s{i}"), obj(json!({})), short).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(p.count().await.unwrap(), 0);
    assert!(p.get_active_sessions().await.unwrap().is_empty());
    assert_eq!(
        p.cleanup_old_sessions(Duration::from_secs(3600)).await.unwrap(),
        0,
        "expired sessions are not 'removed'"
    );
    let mut indexed = 0;
    for shard in 0..poto_sessions::redis::SHARDS {
        for index in ["exp", "act"] {
            indexed += server.cli(&["ZCARD", &format!("hyg:{{{shard:02}}}:i:{index}")]).trim().parse::<u64>().unwrap();
        }
    }
    assert_eq!(indexed, 0, "index entries of expired sessions remain");
}

/// A provider listing `page_size` ids per shard page, with sessions `u0`..`u{n-1}` written
/// concurrently: many share a millisecond, so pages end inside runs of equal deadlines.
async fn concurrently_written(
    server: &RedisServer,
    prefix: &str,
    page_size: usize,
    n: usize,
) -> std::sync::Arc<RedisSessionProvider> {
    let options = RedisOptions::new().url(server.url()).prefix(prefix).list_page_size(page_size);
    let p = std::sync::Arc::new(RedisSessionProvider::connect(options).await.unwrap());
    let writes: Vec<_> = (0..n)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.set_session(&format!("u{i}"), obj(json!({})), None).await })
        })
        .collect();
    for write in writes {
        write.await.unwrap().unwrap();
    }
    p
}

#[tokio::test]
async fn listing_pages_through_equal_deadlines() {
    let server = RedisServer::start();
    let p = concurrently_written(&server, "page:", 3, 300).await;
    let mut listed = p.get_active_sessions().await.unwrap();
    assert_eq!(listed.len(), 300, "duplicates or gaps");
    listed.sort();
    listed.dedup();
    assert_eq!(listed.len(), 300);
    assert_eq!(p.count().await.unwrap(), 300);
}

#[tokio::test]
async fn timestamps_come_from_the_server_clock() {
    let server = RedisServer::start();
    let p = provider(&server, "clock:").await;
    p.set_session("t", obj(json!({})), None).await.unwrap();
    let data = p.get_session("t").await.unwrap().unwrap();
    let stamped = poto_sessions::data::parse_timestamp(data["lastActivity"].as_str().unwrap()).unwrap();
    let time = server.cli(&["TIME"]);
    let secs: i64 = time.lines().next().unwrap().trim().parse().unwrap();
    assert!((secs * 1000 - stamped).abs() < 5_000, "server {secs}s vs stamp {stamped}ms");
    assert_eq!(data["lastActivity"].as_str().unwrap(), poto_sessions::data::format_timestamp(stamped));
}

/// A due lazy touch is queued on the connection, not awaited (the read returns after one round
/// trip), yet the process's next request already finds it done; after the server lost its
/// scripts, it is done once they are loaded again.
#[tokio::test]
async fn a_due_touch_is_queued_ahead_of_the_next_request() {
    let server = RedisServer::start();
    let p = std::sync::Arc::new(provider(&server, "queued:").await);
    let module = poto_sessions::PotoModule::new().with_provider(p.clone()).with_touch_after(Duration::ZERO);
    for round in 0..3 {
        p.set_session("q", obj(json!({"round": round})), Some(Duration::from_secs(60))).await.unwrap();
        assert_eq!(server.cli(&["PEXPIRE", &p.session_key("q"), "30000"]).trim(), "1");
        if round == 2 {
            assert_eq!(server.cli(&["SCRIPT", "FLUSH"]).trim(), "OK");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        let read = module.get_user_session_for("q").await.unwrap();
        let mut now = p.get_session("q").await.unwrap().unwrap();
        if round == 2 {
            // The script was lost: the touch is resent once it is loaded again, behind the read.
            for _ in 0..250 {
                if now["lastActivity"] != read["lastActivity"] {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                now = p.get_session("q").await.unwrap().unwrap();
            }
        }
        assert_ne!(now["lastActivity"], read["lastActivity"], "round {round}: the touch had not run");
        let ttl: u64 = server.cli(&["PTTL", &p.session_key("q")]).trim().parse().unwrap();
        assert!(ttl > 50_000, "round {round}: the touch did not restart the TTL ({ttl} ms left)");
    }
}

#[tokio::test]
async fn stored_text_is_byte_exact() {
    let server = RedisServer::start();
    let p = provider(&server, "exact:").await;
    p.set_session("n", obj(json!({"big": u64::MAX, "list": [], "f": 0.1})), None).await.unwrap();
    let key = p.session_key("n");
    let stored = server.cli(&["GET", &key]);
    assert!(stored.contains(&format!(r#","big":{},"f":0.1,"list":[],"userId":"n"}}"#, u64::MAX)), "{stored}");
    assert_eq!(server.cli(&["TTL", &key]).trim(), "86400");
}

#[tokio::test]
async fn unreachable_redis_is_unavailable_quickly() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = RedisOptions::new()
        .url(format!("redis://:hunter2@127.0.0.1:{port}"))
        .connect_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = RedisSessionProvider::connect(options).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!err.to_string().contains("hunter2"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn an_unreachable_redis_is_unavailable_for_reads_and_writes() {
    // Nothing was sent for the caller, so no call may report "outcome unknown".
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for url in ["redis://unresolvable-host.invalid:6379".to_owned(), format!("redis://127.0.0.1:{port}")] {
        let options = RedisOptions::new()
            .url(url.clone())
            .connect_timeout(Duration::from_millis(500))
            .command_timeout(Duration::from_millis(500));
        let p = RedisSessionProvider::new(options).unwrap();
        assert_eq!(p.get_session("u").await.unwrap_err().kind(), ErrorKind::Unavailable, "{url}");
        assert_eq!(p.count().await.unwrap_err().kind(), ErrorKind::Unavailable, "{url}");
        assert_eq!(p.set_session("u", obj(json!({})), None).await.unwrap_err().kind(), ErrorKind::Unavailable, "{url}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_misses_no_session_while_others_are_touched() {
    let server = RedisServer::start();
    let p = concurrently_written(&server, "busy:", 2, 200).await;
    // Touches move sessions to later deadlines while pages are read.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let toucher = {
        let (p, stop) = (p.clone(), stop.clone());
        tokio::spawn(async move {
            let mut i = 0usize;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let ids: Vec<String> = (0..8).map(|k| format!("u{}", (i * 8 + k) * 7 % 200)).collect();
                for touched in futures_util::future::join_all(ids.iter().map(|id| p.touch(id, None))).await {
                    assert!(touched.unwrap());
                }
                i += 1;
            }
        })
    };
    for _ in 0..20 {
        let mut listed = p.get_active_sessions().await.unwrap();
        listed.sort();
        let before = listed.len();
        listed.dedup();
        assert_eq!(before, listed.len(), "an id listed twice");
        assert_eq!(listed.len(), 200, "a live session was not listed");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    toucher.await.unwrap();
}
