//! The measured session: ~500 bytes of a chat server's fields, and the users it is stored for.

use poto_sessions::SessionData;
use serde_json::{json, Value};

/// Target size of one stored session: keys + JSON texts, as the provider counts it.
const SESSION_BYTES: usize = 500;

pub(crate) fn user(i: usize) -> String {
    format!("user-{i:05}")
}

/// Size of a session as the provider counts it (keys + JSON texts).
pub(crate) fn stored_size(data: &SessionData) -> usize {
    data.iter().map(|(k, v)| k.len() + v.to_string().len()).sum()
}

/// A ~500-byte session of 10 fields (userId filled in by the provider, createdAt and
/// lastActivity stamped by it): the shape of a chat server's session.
pub(crate) fn session_template() -> SessionData {
    let mut data = json!({
        "counter": 0,
        "currentModelName": "llm1",
        "systemPrompt": "",
        "currentConversationId": "c0a8012e-7f3b-4d2a-9b1e-5f6a7c8d9e0f",
        "theme": "dark",
        "locale": "en-US",
        "cart": [{"sku": "A-1001", "qty": 2, "price": 19.99}, {"sku": "B-2002", "qty": 1, "price": 5.5}],
        "preferences": {"notifications": true, "fontSize": 14, "timezone": "Europe/Berlin", "beta": false},
        "recentSearches": ["rust async runtime", "redis lua scripting", "session store design"],
    })
    .as_object()
    .cloned()
    .unwrap();
    // userId (6 + 12) and the two timestamps (9 + 26, 12 + 26) are added on write.
    let stamped = "userId".len() + "\"user-00000\"".len() + 9 + 26 + 12 + 26;
    let pad = SESSION_BYTES.saturating_sub(stored_size(&data) + stamped);
    let prompt = "You are a concise assistant for the Poto demo; answer briefly and cite your sources. "
        .repeat(4)
        .chars()
        .take(pad)
        .collect::<String>();
    data.insert("systemPrompt".into(), Value::String(prompt));
    data
}

pub(crate) fn bump_counter(mut data: SessionData) -> SessionData {
    let n = data.get("counter").and_then(Value::as_i64).unwrap_or(0);
    data.insert("counter".into(), Value::from(n + 1));
    data
}

pub(crate) fn err<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}
