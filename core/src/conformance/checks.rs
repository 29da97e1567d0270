//! The checks of the conformance suite, one per property of DESIGN §8. Each gets two handles
//! on one freshly cleared store.

use std::time::Duration;

use serde_json::{json, Value};

use super::{skip, Check, ConformanceOptions, NotPassed, Provider};
use crate::carry::NumberModel;
use crate::data::{parse_timestamp, SessionData, MAX_USER_ID_BYTES};
use crate::error::ErrorKind;
use crate::provider::CasOutcome;
use crate::update::{update_session, Change, RetryPolicy};

fn obj(value: Value) -> SessionData {
    value.as_object().cloned().unwrap_or_default()
}

fn kind(result: crate::Result<impl std::fmt::Debug>) -> Option<ErrorKind> {
    result.err().map(|e| e.kind())
}

pub(super) async fn round_trip(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    a.set_session("alice", obj(json!({"theme": "dark"})), None).await.map_err(|e| e.to_string())?;
    let got = b
        .get_session("alice")
        .await
        .map_err(|e| e.to_string())?
        .ok_or("session written by one handle not visible to the other")?;
    ensure!(got["theme"] == "dark" && got["userId"] == "alice", "unexpected session {got:?}");
    for key in ["createdAt", "lastActivity"] {
        let stamp = got.get(key).and_then(Value::as_str).ok_or(format!("{key} missing"))?;
        ensure!(
            stamp.len() == 24 && stamp.ends_with('Z') && parse_timestamp(stamp).is_some(),
            "{key} {stamp:?} is not toISOString()"
        );
    }
    ensure!(b.has_session("alice").await == Ok(true), "has_session false after write");
    b.delete_session("alice").await.map_err(|e| e.to_string())?;
    ensure!(a.get_session("alice").await == Ok(None), "session survived delete");
    ensure!(a.has_session("alice").await == Ok(false), "has_session true after delete");
    ensure!(a.delete_session("alice").await.is_ok(), "deleting an absent session failed");
    Ok(())
}

pub(super) async fn value_fidelity(a: &Provider, b: &Provider, options: &ConformanceOptions) -> Check {
    let data = obj(json!({
        "list": [], "map": {}, "nested": [[1, {"x": [true, null]}]], "max": i64::MAX, "umax": u64::MAX,
        "min": i64::MIN, "float": 0.1, "big": 1e300, "tiny": -5e-324, "text": "é\u{1F600}\"\\\n\u{0}",
        "null": null, "": "empty key", "lastActivity": "ignored",
    }));
    a.set_session("values", data.clone(), None).await.map_err(|e| e.to_string())?;
    let got = b.get_session("values").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    for (key, value) in &data {
        let beyond_doubles = value.as_i64().map_or(value.is_u64(), |n| n.unsigned_abs() > 1 << 53);
        if options.doubles_only && beyond_doubles {
            continue;
        }
        if key != "lastActivity" {
            ensure!(got.get(key) == Some(value), "{key}: wrote {value}, read {:?}", got.get(key));
        }
    }
    ensure!(got["lastActivity"] != "ignored", "lastActivity was not stamped by the provider");
    let text = b.get_session_json("values").await.map_err(|e| e.to_string())?.ok_or("absent as JSON text")?;
    let parsed: Value = serde_json::from_str(&text).map_err(|e| format!("get_session_json is not JSON: {e}"))?;
    ensure!(parsed == Value::Object(got), "get_session_json disagrees with get_session: {text}");
    ensure!(b.get_session_json("nobody").await == Ok(None), "get_session_json invented a session");
    let shared = b.get_session_shared("values").await.map_err(|e| e.to_string())?.ok_or("absent when shared")?;
    ensure!(Value::Object((*shared).clone()) == parsed, "get_session_shared disagrees with get_session");
    Ok(())
}

pub(super) async fn reserved_fields(a: &Provider, _: &Provider, _: &ConformanceOptions) -> Check {
    let foreign = a.set_session("bob", obj(json!({"userId": "mallory"})), None).await;
    ensure!(kind(foreign) == Some(ErrorKind::InvalidArgument), "a session claiming another user was accepted");
    ensure!(a.get_session("bob").await == Ok(None), "rejected write left data");
    a.set_session("bob", obj(json!({"createdAt": "2020-01-01T00:00:00.000Z"})), None)
        .await
        .map_err(|e| e.to_string())?;
    let first = a.get_session("bob").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(first["createdAt"] == "2020-01-01T00:00:00.000Z", "explicit createdAt not kept");
    tokio::time::sleep(Duration::from_millis(5)).await;
    a.set_session("bob", obj(json!({"n": 1})), None).await.map_err(|e| e.to_string())?;
    let second = a.get_session("bob").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(second["createdAt"] == first["createdAt"], "createdAt changed on overwrite");
    ensure!(second["lastActivity"].as_str() > first["lastActivity"].as_str(), "lastActivity did not move");
    let bad = a.set_field("bob", "lastActivity", json!("x"), None, None).await;
    ensure!(kind(bad) == Some(ErrorKind::InvalidArgument), "setting lastActivity as a field was accepted");
    Ok(())
}

pub(super) async fn ids_are_data(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    let ids = ["u", "*", "u*", "?", "u?", "[u]", "[", "u:1", "{u}", "}", "{", "u\\*", "ü 🙂", "poto:{00}:s:u"];
    for id in ids {
        a.set_session(id, obj(json!({"id": id})), None).await.map_err(|e| format!("{id:?}: {e}"))?;
    }
    for id in ids {
        let got = b.get_session(id).await.map_err(|e| e.to_string())?.ok_or(format!("{id:?} absent"))?;
        ensure!(got["id"] == id, "{id:?} read the session of {}", got["id"]);
    }
    let mut listed = b.get_active_sessions().await.map_err(|e| e.to_string())?;
    listed.sort();
    let mut expected: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
    expected.sort();
    ensure!(listed == expected, "listing {listed:?}");
    b.delete_session("*").await.map_err(|e| e.to_string())?;
    b.delete_session("[u]").await.map_err(|e| e.to_string())?;
    ensure!(a.count().await == Ok(ids.len() as u64 - 2), "deleting '*' or '[u]' removed other users");
    Ok(())
}

pub(super) async fn invalid_ids(a: &Provider, _: &Provider, _: &ConformanceOptions) -> Check {
    let huge = "x".repeat(MAX_USER_ID_BYTES + 1);
    for (id, want) in
        [("", ErrorKind::InvalidArgument), ("a\0b", ErrorKind::InvalidArgument), (huge.as_str(), ErrorKind::TooLarge)]
    {
        ensure!(
            kind(a.set_session(id, obj(json!({})), None).await) == Some(want),
            "set with id {id:.8?} gave no {want}"
        );
        ensure!(kind(a.get_session(id).await) == Some(want), "get with id {id:.8?} gave no {want}");
        ensure!(
            kind(a.set_field(id, "k", json!(1), Some(obj(json!({}))), None).await) == Some(want),
            "set_field with id {id:.8?}"
        );
    }
    ensure!(a.set_session(&"y".repeat(MAX_USER_ID_BYTES), obj(json!({})), None).await.is_ok(), "longest id refused");
    ensure!(a.count().await == Ok(1), "rejected ids left sessions");
    Ok(())
}

pub(super) async fn too_large(a: &Provider, _: &Provider, options: &ConformanceOptions) -> Check {
    let Some(max) = options.max_session_bytes else { return skip("no max_session_bytes given") };
    let blob = "z".repeat(max);
    let big = a.set_session("big", obj(json!({ "blob": blob })), None).await;
    ensure!(kind(big) == Some(ErrorKind::TooLarge), "oversize session not rejected with TooLarge");
    ensure!(a.has_session("big").await == Ok(false), "oversize session was written");
    a.set_session("big", obj(json!({"half": "z".repeat(max / 2)})), None).await.map_err(|e| e.to_string())?;
    let grown = a.set_field("big", "other", json!("z".repeat(max / 2)), None, None).await;
    ensure!(kind(grown) == Some(ErrorKind::TooLarge), "field write past the limit not rejected");
    let got = a.get_session("big").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(!got.contains_key("other"), "rejected field was written");
    Ok(())
}

pub(super) async fn ttl_expiry(a: &Provider, b: &Provider, o: &ConformanceOptions) -> Check {
    a.set_session("short", obj(json!({})), Some(o.ttl_unit)).await.map_err(|e| e.to_string())?;
    a.set_session("long", obj(json!({})), None).await.map_err(|e| e.to_string())?;
    ensure!(b.has_session("short").await == Ok(true), "short session absent at once");
    tokio::time::sleep(o.ttl_unit * 2).await;
    ensure!(b.get_session("short").await == Ok(None), "expired session still readable");
    ensure!(b.has_session("short").await == Ok(false), "expired session still present");
    ensure!(b.count().await == Ok(1), "expired session still counted");
    ensure!(b.get_active_sessions().await == Ok(vec!["long".to_string()]), "expired session still listed");
    let stats = b.get_stats().await.map_err(|e| e.to_string())?;
    ensure!(stats.active_sessions == 1 && stats.user_ids == ["long"], "stats {stats:?}");
    Ok(())
}

pub(super) async fn sliding_ttl(a: &Provider, b: &Provider, o: &ConformanceOptions) -> Check {
    let ttl = o.ttl_unit * 3;
    a.set_session("slide", obj(json!({})), Some(ttl)).await.map_err(|e| e.to_string())?;
    for _ in 0..3 {
        tokio::time::sleep(o.ttl_unit * 2).await;
        ensure!(b.touch("slide", Some(ttl)).await == Ok(true), "touch of a live session returned false");
    }
    ensure!(a.has_session("slide").await == Ok(true), "session expired although it was kept in use");
    ensure!(a.touch("nobody", None).await == Ok(false), "touch of an absent session returned true");
    ensure!(a.has_session("nobody").await == Ok(false), "touch created a session");
    Ok(())
}

pub(super) async fn cleanup(a: &Provider, b: &Provider, o: &ConformanceOptions) -> Check {
    for id in ["old1", "old2"] {
        a.set_session(id, obj(json!({})), None).await.map_err(|e| e.to_string())?;
    }
    tokio::time::sleep(o.ttl_unit * 2).await;
    a.set_session("fresh", obj(json!({})), None).await.map_err(|e| e.to_string())?;
    ensure!(b.cleanup_old_sessions(Duration::from_secs(3600)).await == Ok(0), "cleanup removed recent sessions");
    let removed = b.cleanup_old_sessions(o.ttl_unit).await.map_err(|e| e.to_string())?;
    ensure!(removed == 2, "cleanup removed {removed}, expected 2");
    ensure!(a.get_active_sessions().await == Ok(vec!["fresh".to_string()]), "wrong survivors");
    Ok(())
}

pub(super) async fn stats_count_clear(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    for i in 0..25 {
        a.set_session(&format!("user-{i}"), obj(json!({"i": i})), None).await.map_err(|e| e.to_string())?;
    }
    let stats = b.get_stats().await.map_err(|e| e.to_string())?;
    ensure!(stats.active_sessions == 25 && stats.user_ids.len() == 25, "stats {stats:?}");
    ensure!(b.count().await == Ok(25), "count disagrees with stats");
    ensure!(b.clear().await == Ok(25), "clear did not report 25");
    ensure!(a.count().await == Ok(0) && a.get_active_sessions().await == Ok(vec![]), "clear left sessions");
    Ok(())
}

pub(super) async fn compare_and_set(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    let (Some(a), Some(b)) = (a.versioned(), b.versioned()) else {
        return skip("the provider has no get_versioned / compare_and_set");
    };
    ensure!(a.get_versioned("cas").await == Ok(None), "absent session has a version");
    let CasOutcome::Applied(v1) =
        a.compare_and_set("cas", None, obj(json!({"n": 1})), None).await.map_err(|e| e.to_string())?
    else {
        return Err("create-if-absent not applied".into());
    };
    let again = b.compare_and_set("cas", None, obj(json!({"n": 9})), None).await.map_err(|e| e.to_string())?;
    ensure!(matches!(again, CasOutcome::Stale | CasOutcome::Conflict(Some(_))), "second create applied: {again:?}");
    let current = b.get_versioned("cas").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(current.version == v1 && current.data["n"] == 1, "versioned read {current:?}");
    let CasOutcome::Applied(v2) =
        b.compare_and_set("cas", Some(v1), obj(json!({"n": 2})), None).await.map_err(|e| e.to_string())?
    else {
        return Err("CAS with the current version not applied".into());
    };
    ensure!(v2 != v1, "version did not change");
    let stale = a.compare_and_set("cas", Some(v1), obj(json!({"n": 3})), None).await.map_err(|e| e.to_string())?;
    ensure!(!matches!(stale, CasOutcome::Applied(_)), "CAS with an old version applied");
    a.delete_session("cas").await.map_err(|e| e.to_string())?;
    let CasOutcome::Applied(v3) =
        a.compare_and_set("cas", None, obj(json!({"n": 4})), None).await.map_err(|e| e.to_string())?
    else {
        return Err("create after delete not applied".into());
    };
    ensure!(v3 != v1 && v3 != v2, "a version was reused after delete");
    let old = b.compare_and_set("cas", Some(v2), obj(json!({"n": 5})), None).await.map_err(|e| e.to_string())?;
    ensure!(!matches!(old, CasOutcome::Applied(_)), "CAS across delete and re-create applied (ABA)");
    Ok(())
}

pub(super) async fn create_once(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    let first = a.insert_if_absent("once", obj(json!({"by": "a"})), None).await.map_err(|e| e.to_string())?;
    ensure!(first["by"] == "a" && first.contains_key("lastActivity"), "insert returned {first:?}");
    let second = b.insert_if_absent("once", obj(json!({"by": "b"})), None).await.map_err(|e| e.to_string())?;
    ensure!(second["by"] == "a", "insert_if_absent overwrote an existing session");
    Ok(())
}

/// DESIGN §4.10: a read of a fresh session writes nothing; a due one restarts the TTL.
pub(super) async fn lazy_touch(a: &Provider, b: &Provider, o: &ConformanceOptions) -> Check {
    let ttl = o.ttl_unit * 3;
    let hour = Duration::from_secs(3600);
    a.set_session("lazy", obj(json!({"n": 1})), Some(ttl)).await.map_err(|e| e.to_string())?;
    let stored = a.get_session("lazy").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    // Capped at half the TTL: `hour` stands for "not due yet".
    let read = b.get_and_touch("lazy", Some(hour * 4), hour).await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(read == stored, "a lazy read returned {read:?}, the store holds {stored:?}");
    let after = a.get_session("lazy").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(after == stored, "a read of a fresh session wrote it: {after:?}");
    for _ in 0..3 {
        tokio::time::sleep(o.ttl_unit * 2).await;
        ensure!(
            b.get_and_touch("lazy", Some(ttl), Duration::ZERO).await.map_err(|e| e.to_string())?.is_some(),
            "a read found no session although reads kept it in use"
        );
    }
    let touched = a.get_session("lazy").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(touched["lastActivity"] != stored["lastActivity"], "a due read did not stamp lastActivity");
    ensure!(touched["n"] == 1 && touched["createdAt"] == stored["createdAt"], "a touch changed data: {touched:?}");
    ensure!(b.get_and_touch("none", None, Duration::ZERO).await == Ok(None), "a lazy read invented a session");
    ensure!(a.has_session("none").await == Ok(false), "a lazy read created a session");
    Ok(())
}

pub(super) async fn field_writes(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    ensure!(
        a.set_field("f", "k", json!(1), None, None).await == Ok(false),
        "field write created a session without defaults"
    );
    ensure!(a.has_session("f").await == Ok(false), "field write without defaults left a session");
    let created = a.set_field("f", "k", json!([1, 2]), Some(obj(json!({"d": true}))), None).await;
    ensure!(created == Ok(true), "field write with defaults: {created:?}");
    ensure!(
        b.set_field("f", "m", json!({"x": 1}), Some(obj(json!({"d": false}))), None).await == Ok(true),
        "second field"
    );
    let got = b.get_session("f").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(
        got["d"] == true && got["k"] == json!([1, 2]) && got["m"] == json!({"x": 1}) && got["userId"] == "f",
        "got {got:?}"
    );
    Ok(())
}

pub(super) async fn concurrent_field_writes(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let p = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                p.set_field("many", &format!("k{i}"), json!(i), Some(SessionData::new()), None).await
            })
        })
        .collect();
    for task in tasks {
        ensure!(matches!(task.await, Ok(Ok(true))), "a concurrent field write failed");
    }
    let got = a.get_session("many").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    for i in 0..20 {
        ensure!(got.get(&format!("k{i}")) == Some(&json!(i)), "k{i} lost: {got:?}");
    }
    Ok(())
}

pub(super) async fn contended_updates(a: &Provider, b: &Provider, _: &ConformanceOptions) -> Check {
    const UPDATERS: usize = 64;
    const EACH: usize = 5;
    let policy = RetryPolicy { budget: Duration::from_secs(30), ..RetryPolicy::default() };
    let tasks: Vec<_> = (0..UPDATERS)
        .map(|i| {
            let (p, policy) = (if i % 2 == 0 { a.clone() } else { b.clone() }, policy.clone());
            tokio::spawn(async move {
                for _ in 0..EACH {
                    update_session(&*p, "counter", None, &policy, NumberModel::Exact, |current| async move {
                        let mut data = current.unwrap_or_default();
                        let n = data.get("n").and_then(Value::as_u64).unwrap_or(0);
                        data.insert("n".into(), json!(n + 1));
                        Ok(Change::Write(data))
                    })
                    .await?;
                }
                crate::Result::<()>::Ok(())
            })
        })
        .collect();
    for task in tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("an update failed: {e}").into()),
            Err(e) => return Err(format!("an updater panicked: {e}").into()),
        }
    }
    let got = a.get_session("counter").await.map_err(|e| e.to_string())?.ok_or("absent")?;
    ensure!(got["n"] == json!(UPDATERS * EACH), "counter is {}, expected {}", got["n"], UPDATERS * EACH);
    Ok(())
}

pub(super) async fn failed_update_changes_nothing(a: &Provider, _: &Provider, _: &ConformanceOptions) -> Check {
    a.set_session("stable", obj(json!({"n": 1})), None).await.map_err(|e| e.to_string())?;
    let before = a.get_session("stable").await.map_err(|e| e.to_string())?;
    let failed =
        update_session(&**a, "stable", None, &RetryPolicy::default(), NumberModel::Exact, |current| async move {
            let mut data = current.unwrap_or_default();
            data.insert("n".into(), json!(2));
            Err::<Change, _>(crate::SessionError::Provider("update function failed".into()))
        })
        .await;
    ensure!(kind(failed) == Some(ErrorKind::Provider), "the update function's error was not returned");
    ensure!(a.get_session("stable").await.map_err(|e| e.to_string())? == before, "a failed update changed the session");
    Ok(())
}
