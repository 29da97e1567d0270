//! Sessions and results as the JSON text that crosses to JS (lib/values.js parses it), and the
//! millisecond arguments of single calls.

use std::time::Duration;

use poto_sessions::{Result, SessionData, SessionStats};
use serde_json::{json, Value};

use crate::errors::invalid;

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

/// A duration argument of one call (the `ttlMs` of a write, `ttlUnitMs`) in milliseconds: at
/// least 1 ms; `None` when JS passed none. (Options go through options.rs and the schema.)
pub fn millis_arg(what: &str, ms: Option<f64>) -> Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if (1.0..=1e15).contains(&ms) => Ok(Some(Duration::from_millis(ms as u64))),
        Some(ms) => Err(invalid(format!("{what} must be a number of milliseconds >= 1, got {ms}"))),
    }
}
