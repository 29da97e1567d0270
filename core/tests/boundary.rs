//! What crosses a language boundary (issue 10's defects): values carried through an update keep
//! their stored text, numbers no language reads back are refused, nesting and size are counted
//! one way on every write path, and LLM keys keep their types. Each test runs on every
//! built-in provider and on a bare custom store behind `StampedProvider`.

#[path = "support/bare.rs"]
mod bare;
mod support;

use std::sync::Arc;

use bare::BareStore;
use poto_sessions::custom::StampedProvider;
use poto_sessions::value::{parse_session, MAX_DEPTH};
use poto_sessions::{
    ErrorKind, InMemorySessionProvider, LLMPotoModule, NumberModel, PotoModule, RedisOptions, RedisSessionProvider,
    SessionData, SessionProvider,
};
use serde_json::{json, Number, Value};
use support::RedisServer;

type Named = Vec<(&'static str, Arc<dyn SessionProvider>)>;

/// Every kind of provider, each limited to `max` bytes; the Redis server lives as long as the
/// returned guard.
fn providers(max: usize) -> (Named, RedisServer) {
    let server = RedisServer::start();
    let redis =
        RedisSessionProvider::new(RedisOptions::new().url(server.url()).prefix("boundary:").max_session_bytes(max))
            .unwrap();
    let list: Named = vec![
        ("memory", Arc::new(InMemorySessionProvider::new().with_max_session_bytes(max))),
        ("redis", Arc::new(redis)),
        ("bare custom", Arc::new(StampedProvider::new(Arc::new(BareStore::default())).with_max_session_bytes(max))),
    ];
    (list, server)
}

/// What an update function hands back unchanged in its language: in JavaScript every number
/// went through a double (integral ones print as integers), in Python only non-integers did.
fn as_host(value: Value, model: NumberModel) -> Value {
    match value {
        Value::Number(n) => {
            let integer = !n.as_str().contains(['.', 'e', 'E']);
            let f = n.as_f64().unwrap();
            Value::Number(match model {
                NumberModel::IntegersAndFloats if integer => n,
                NumberModel::Doubles if f.fract() == 0.0 && f.abs() < 1e21 => Number::from_i128(f as i128).unwrap(),
                _ => Number::from_f64(f).unwrap(),
            })
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| as_host(v, model)).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, as_host(v, model))).collect()),
        other => other,
    }
}

const WRITTEN_ELSEWHERE: &str = r#"{"lastMessageId":1152921504606846977,"one":1.0,"negZero":-0.0,"huge":1e300,
    "pi":3.14159265358979323846264338327950288,"price":1.50,"text":"\u00e9\ud83d\ude00 \"q\"",
    "nested":{"ids":[9007199254740993,-0.0,2.50]},"max":18446744073709551615,"min":-9223372036854775808}"#;

#[tokio::test]
async fn values_carried_through_an_update_keep_their_stored_text() {
    let (providers, _server) = providers(1 << 20);
    let original = parse_session(WRITTEN_ELSEWHERE, "session").unwrap();
    for (name, provider) in providers {
        provider.set_session("u", original.clone(), None).await.unwrap();
        let stored_before = provider.get_session_json("u").await.unwrap().unwrap();
        for (model, language) in [(NumberModel::Doubles, "js"), (NumberModel::IntegersAndFloats, "py")] {
            let module = PotoModule::new().with_provider(provider.clone());
            module
                .update_user_session_with("u", model, |data| async move {
                    let Value::Object(mut seen) = as_host(Value::Object(data), model) else { unreachable!() };
                    seen.insert(format!("note_{language}"), json!("x"));
                    Ok(seen)
                })
                .await
                .unwrap();
        }
        let stored = provider.get_session("u").await.unwrap().unwrap();
        for (key, value) in &original {
            assert_eq!(stored[key].to_string(), value.to_string(), "{name}: {key} rewritten");
        }
        assert_eq!(stored["note_js"], "x");
        let text = provider.get_session_json("u").await.unwrap().unwrap();
        assert!(text.contains("1152921504606846977") && text.contains("1.50"), "{name}: {text} (was {stored_before})");
    }
}

#[tokio::test]
async fn a_changed_number_is_written_even_when_a_double_cannot_tell() {
    let (providers, _server) = providers(1 << 20);
    for (name, provider) in providers {
        let module = PotoModule::new().with_provider(provider.clone());
        module.set_session_value_for("u", "id", json!(1152921504606846977u64)).await.unwrap();
        module
            .update_user_session_with("u", NumberModel::IntegersAndFloats, |mut data| async move {
                data.insert("id".into(), json!(1152921504606846976u64));
                Ok(data)
            })
            .await
            .unwrap();
        let stored = provider.get_session("u").await.unwrap().unwrap();
        assert_eq!(stored["id"], json!(1152921504606846976u64), "{name}");
    }
}

#[tokio::test]
async fn numbers_no_language_reads_back_are_refused_and_nothing_is_written() {
    let (providers, _server) = providers(1 << 20);
    for (name, provider) in providers {
        let module = PotoModule::new().with_provider(provider.clone());
        for bad in ["123456789012345678901234567890", "18446744073709551616", "-9223372036854775809", "1e-400"] {
            let session = serde_json::from_str::<SessionData>(&format!(r#"{{"n":{bad}}}"#)).unwrap();
            let err = provider.set_session("u", session, None).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name} {bad}");
            let value: Value = serde_json::from_str(bad).unwrap();
            let err = module.set_session_value_for("u", "n", value).await.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name} {bad}");
        }
        assert!(
            !provider.has_session("u").await.unwrap()
                || provider.get_session("u").await.unwrap().unwrap().get("n").is_none()
        );
        let huge = parse_session(r#"{"n":1e400}"#, "session").unwrap();
        assert_eq!(provider.set_session("u", huge, None).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    }
}

fn nested(levels: usize) -> Value {
    (0..levels).fold(json!(1), |inner, _| json!([inner]))
}

#[tokio::test]
async fn nesting_is_limited_on_write_so_every_session_reads_back() {
    let (providers, _server) = providers(1 << 20);
    for (name, provider) in providers {
        let module = PotoModule::new().with_provider(provider.clone());
        // A top-level value sits at level 2: MAX_DEPTH - 1 arrays reach the limit exactly.
        module.set_session_value_for("u", "deep", nested(MAX_DEPTH - 1)).await.unwrap();
        let err = module.set_session_value_for("u", "deeper", nested(MAX_DEPTH)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
        let mut too_deep = SessionData::new();
        too_deep.insert("deep".into(), nested(150));
        assert_eq!(provider.set_session("u", too_deep, None).await.unwrap_err().kind(), ErrorKind::InvalidArgument);
        let session = module.get_user_session_for("u").await.unwrap();
        assert_eq!(session["deep"], nested(MAX_DEPTH - 1), "{name}");
        let text = provider.get_session_json("u").await.unwrap().unwrap();
        poto_sessions::value::check_session(&parse_session(&text, "stored session").unwrap()).unwrap();
        module
            .update_user_session_for("u", |s| {
                s.remove("deep");
                Ok(())
            })
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn size_is_counted_one_way_on_every_write_path() {
    const MAX: usize = 300;
    let (providers, _server) = providers(MAX);
    for (name, provider) in providers {
        let module = PotoModule::new().with_provider(provider.clone());
        // userId "u" counts 6 + 3 bytes, "pad" 3 + 2 (quotes): the largest padding is MAX - 14.
        let largest = MAX - 14;
        let pad = |n: usize| json!("x".repeat(n));
        module.set_session_value_for("u", "pad", pad(largest)).await.unwrap();
        let err = module.set_session_value_for("u", "pad", pad(largest + 1)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{name}: field write");
        // Full to the limit: an unchanged update, an unchanged whole write and a shrink all work.
        module.update_user_session_for("u", |_| Ok(())).await.unwrap();
        let current = provider.get_session("u").await.unwrap().unwrap();
        provider.set_session("u", current.clone(), None).await.unwrap();
        module
            .update_user_session_for("u", |s| {
                s.insert("pad".into(), pad(largest - 10));
                Ok(())
            })
            .await
            .unwrap();
        let err = module
            .update_user_session_for("u", |s| {
                s.insert("pad".into(), pad(largest + 1));
                Ok(())
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::TooLarge, "{name}: update");
        let mut whole = SessionData::new();
        whole.insert("pad".into(), pad(largest));
        provider.set_session("v", whole.clone(), None).await.unwrap();
        whole.insert("pad".into(), pad(largest + 1));
        assert_eq!(provider.set_session("v", whole, None).await.unwrap_err().kind(), ErrorKind::TooLarge, "{name}");
    }
}

#[tokio::test]
async fn llm_keys_keep_their_types_on_every_write_path() {
    let (providers, _server) = providers(1 << 20);
    for (name, provider) in providers {
        let llm = LLMPotoModule::new().with_provider(provider.clone());
        let err = llm.set_session_value_for("u", "currentModelName", 7).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
        let err = llm
            .update_user_session_for("u", |s| {
                s.insert("systemPrompt".into(), json!(["not", "text"]));
                Ok(())
            })
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{name}");
        llm.set_session_value_for("u", "currentConversationId", "c1").await.unwrap();
        assert_eq!(llm.get_user_model_for("u").await.unwrap(), "llm1", "{name}");
        assert_eq!(llm.get_current_conversation_id_for("u").await.unwrap().as_deref(), Some("c1"));
        // A generic module is free to use those names for its own data.
        let generic = PotoModule::new().with_provider(provider.clone());
        generic.set_session_value_for("g", "currentModelName", 7).await.unwrap();
        let err = LLMPotoModule::of(&generic).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(LLMPotoModule::of(&llm.clone().into_module()).is_ok());
    }
}

#[tokio::test]
async fn a_cancelled_update_writes_nothing_and_stops_calling_the_function() {
    let (providers, _server) = providers(1 << 20);
    for (name, provider) in providers {
        let module = PotoModule::new().with_provider(provider.clone());
        module.set_session_value_for("u", "n", 1).await.unwrap();
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let update = module.update_user_session_with("u", NumberModel::Exact, move |mut data| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                // The host function is still running when its caller gives up.
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                data.insert("n".into(), json!(2));
                Ok(data)
            }
        });
        // Dropping the call's future is how every binding cancels it (Python's task.cancel()).
        assert!(tokio::time::timeout(std::time::Duration::from_millis(20), update).await.is_err());
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(provider.get_session("u").await.unwrap().unwrap()["n"], 1, "{name}");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "{name}");
    }
}
