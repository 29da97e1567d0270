//! Sessions and results as the JSON text that crosses to JS (lib/values.js parses it).

use poto_sessions::{Result, SessionData, SessionStats};
use serde_json::{json, Value};

use crate::errors::invalid;

/// A session object from JSON text; anything else is an invalid argument naming `what`.
pub fn parse_session(text: &str, what: &str) -> Result<SessionData> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid(format!("{what} must be a JSON object"))),
        Err(e) => Err(invalid(format!("{what} is not valid JSON: {e}"))),
    }
}

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
