//! Sessions and results as the JSON text that crosses to JS (lib/values.js parses it).

use poto_sessions::{SessionData, SessionStats};
use serde_json::{json, Value};

pub use poto_sessions::value::parse_session;

/// The session's JSON text, `null` when absent.
pub fn session_text(data: Option<SessionData>) -> String {
    data.map_or_else(|| "null".to_owned(), |d| Value::Object(d).to_string())
}

/// `{activeSessions, userIds}` (DESIGN §1).
pub fn stats_text(stats: SessionStats) -> String {
    json!({"activeSessions": stats.active_sessions, "userIds": stats.user_ids}).to_string()
}

pub fn json_text(value: impl Into<Value>) -> String {
    value.into().to_string()
}
