//! How writes change the stored value: a whole write replaces the members and keeps a stored
//! createdAt; updates keep concurrent field writes. Checked on the stored value itself.

mod support;

use std::sync::Arc;

use poto_sessions::{PotoModule, RedisOptions, RedisSessionProvider, SessionData, SessionProvider, SessionText};
use serde_json::{json, Value};
use support::RedisServer;

fn obj(value: Value) -> SessionData {
    value.as_object().unwrap().clone()
}

async fn provider(server: &RedisServer) -> RedisSessionProvider {
    RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("w:")).await.unwrap()
}

/// The stored session's member names, read from its value (the JSON after the 43-byte header).
fn stored_fields(server: &RedisServer, key: &str) -> Vec<String> {
    let out = server.cli(&["GET", key]);
    let value: serde_json::Map<String, Value> = serde_json::from_str(&out.trim_end()[43..]).unwrap();
    let mut names: Vec<String> = value.keys().cloned().collect();
    names.sort();
    names
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_whole_write_drops_fields_the_new_session_lacks_and_keeps_created_at() {
    let server = RedisServer::start();
    let p = provider(&server).await;
    let created = "2020-01-02T03:04:05.006Z";
    p.set_session("u", obj(json!({"a": 1, "b": 2, "c": [3], "createdAt": created})), None).await.unwrap();
    p.set_session("u", obj(json!({"a": 5, "d": {"x": null}})), None).await.unwrap();
    let got = p.get_session("u").await.unwrap().unwrap();
    assert_eq!(got["a"], 5);
    assert_eq!(got["d"], json!({"x": null}));
    assert_eq!(got["createdAt"], created);
    assert!(got.get("b").is_none() && got.get("c").is_none(), "{got:?}");
    let key = p.session_key("u");
    assert_eq!(stored_fields(&server, &key), sorted(&["a", "d", "userId", "createdAt", "lastActivity"]));
    assert!(server.cli(&["GET", &key]).starts_with("PS2 "));
}

#[tokio::test]
async fn a_whole_write_replaces_a_key_of_another_type() {
    let server = RedisServer::start();
    let p = provider(&server).await;
    let key = p.session_key("s");
    server.cli(&["SET", &key, "not a session"]);
    p.set_session("s", obj(json!({"ok": true})), None).await.unwrap();
    assert_eq!(p.get_session("s").await.unwrap().unwrap()["ok"], true);
}

#[tokio::test]
async fn sessions_of_thousands_of_fields_are_written_and_replaced_in_chunks() {
    let server = RedisServer::start();
    let p = provider(&server).await;
    let first: SessionData = (0..3000).map(|i| (format!("f{i}"), json!(i))).collect();
    p.set_session("big", first, None).await.unwrap();
    let second: SessionData = (0..2500).map(|i| (format!("g{i}"), json!(i))).collect();
    p.set_session("big", second.clone(), None).await.unwrap();
    let got = p.get_session("big").await.unwrap().unwrap();
    assert_eq!(got.len(), 2500 + 3, "2500 fields plus userId, createdAt, lastActivity");
    assert!(second.iter().all(|(k, v)| got.get(k) == Some(v)));

    // An update that drops 1501 of them (g0, g1000..g2499) and changes one.
    let module = PotoModule::new().with_provider(Arc::new(provider(&server).await));
    module
        .update_user_session_for("big", |s| {
            s.retain(|k, _| !k.starts_with('g') || k.len() <= 4 && k != "g0");
            s.insert("g1".into(), json!("changed"));
            Ok(())
        })
        .await
        .unwrap();
    let got = p.get_session("big").await.unwrap().unwrap();
    let kept: Vec<&String> = got.keys().filter(|k| k.starts_with('g')).collect();
    assert_eq!(kept.len(), 999, "g1..g999 stay");
    assert_eq!(got["g1"], "changed");
    assert_eq!(got["g2"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_sends_only_what_changed_and_keeps_concurrent_field_writes() {
    let server = RedisServer::start();
    let p = Arc::new(provider(&server).await);
    let other = provider(&server).await;
    let module = PotoModule::new().with_provider(p.clone());
    p.set_session("u", obj(json!({"keep": "me", "gone": 1, "n": 0})), None).await.unwrap();
    let before = p.get_session("u").await.unwrap().unwrap();
    let mut calls = 0;
    module
        .update_user_session_for("u", |s| {
            calls += 1;
            if calls == 1 {
                // Another server writes a field between this update's read and its write: the
                // compare-and-set sees the new version and the update runs again on it.
                futures_block(other.set_field("u", "other", json!("field"), None, None)).unwrap();
            }
            s.remove("gone");
            s.insert("n".into(), json!(s["n"].as_i64().unwrap() + 1));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(calls, 2);
    let got = p.get_session("u").await.unwrap().unwrap();
    assert_eq!(got["keep"], "me");
    assert_eq!(got["n"], 1);
    assert_eq!(got["other"], "field");
    assert_eq!(got["createdAt"], before["createdAt"]);
    assert!(got.get("gone").is_none());
    assert_eq!(
        stored_fields(&server, &p.session_key("u")),
        sorted(&["keep", "n", "other", "userId", "createdAt", "lastActivity"])
    );
}

/// Runs a future to completion from inside a synchronous update function.
fn futures_block<F: std::future::Future>(f: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(f))
}

#[tokio::test]
async fn an_update_to_an_equal_number_of_other_text_is_written() {
    // 0.0 and -0.0 are equal numbers but different JSON: the update must not skip the field.
    let server = RedisServer::start();
    let p = Arc::new(provider(&server).await);
    let module = PotoModule::new().with_provider(p.clone());
    p.set_session("z", obj(json!({"x": 0.0, "list": [0.0]})), None).await.unwrap();
    module
        .update_user_session_for("z", |s| {
            s.insert("x".into(), json!(-0.0));
            s.insert("list".into(), json!([-0.0]));
            Ok(())
        })
        .await
        .unwrap();
    let text = p.get_session_json("z").await.unwrap().unwrap();
    assert!(text.contains(r#""x":-0.0"#) && text.contains(r#""list":[-0.0]"#), "{text}");
}

#[tokio::test]
async fn a_write_from_text_stores_what_a_write_of_values_stores() {
    let server = RedisServer::start();
    let p = provider(&server).await;
    let created = "2020-01-02T03:04:05.006Z";
    let text =
        format!(r#"{{"b":[1.50,-0.0],"a":{{"y":1,"x":"é\n"}},"createdAt":"{created}","n":18446744073709551615}}"#);
    let member_text =
        |user: &str| server.cli(&["GET", &p.session_key(user)]).trim_end()[98 + created.len() + 2..].to_owned();
    p.set_session("tree", serde_json::from_str(&text).unwrap(), None).await.unwrap();
    p.set_session_text("text", SessionText::parse(text.clone(), "session").unwrap(), None).await.unwrap();
    // The same members, but for the owner; nested names as written (serde_json sorts them).
    assert_eq!(
        member_text("text"),
        member_text("tree").replace(r#""x":"é\n","y":1"#, r#""y":1,"x":"é\n""#).replace("tree", "text")
    );
    let got = p.get_session("text").await.unwrap().unwrap();
    assert_eq!((got["createdAt"].as_str(), got["userId"].as_str()), (Some(created), Some("text")));
    assert_eq!(serde_json::to_string(&got["b"]).unwrap(), "[1.50,-0.0]");
    // A stored createdAt is kept, the user's id checked, the size limited, as for values.
    p.set_session_text("text", SessionText::parse(r#"{"a":1}"#.into(), "session").unwrap(), None).await.unwrap();
    assert_eq!(p.get_session("text").await.unwrap().unwrap()["createdAt"], created);
    let foreign = SessionText::parse(r#"{"userId":"other"}"#.into(), "session").unwrap();
    let err = p.set_session_text("text", foreign, None).await.unwrap_err();
    assert!(err.to_string().contains("belongs to \"text\""), "{err}");
    let small = RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("w:").max_session_bytes(20))
        .await
        .unwrap();
    let big = SessionText::parse(r#"{"a":"0123456789"}"#.into(), "session").unwrap();
    assert_eq!(small.set_session_text("big", big, None).await.unwrap_err().kind(), poto_sessions::ErrorKind::TooLarge);
    assert!(!small.has_session("big").await.unwrap());
}
