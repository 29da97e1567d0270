//! One session of the in-memory provider: its values, its JSON text, or both.
//!
//! A write of values keeps the values and a write of JSON text (Node, C) keeps the text; the
//! other form is made on first need and kept until the next change. So a binding that writes
//! and reads text never builds values (most of a write's cost, issue 12), and Rust readers
//! never re-parse.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::Value;

use crate::data::{SessionData, CREATED_AT_KEY};
use crate::error::{Result, SessionError};

pub(super) struct Entry {
    /// Shared with readers of `get_session_shared`; a change replaces it (or copies it first
    /// when a reader still holds it).
    data: OnceLock<Arc<SessionData>>,
    text: OnceLock<Arc<str>>,
    /// The createdAt value as JSON text, for whole writes that do not send one.
    created_at: Box<str>,
    pub version: u64,
    pub expires_at: Instant,
    pub last_activity_ms: i64,
}

/// What a write stores: values, or the JSON text they serialise to.
pub(super) enum Body {
    Data(SessionData),
    Text(String),
}

impl Entry {
    /// `created_at` is the JSON text of the createdAt value `body` holds.
    pub fn new(body: Body, created_at: Box<str>, version: u64, expires_at: Instant, last_activity_ms: i64) -> Self {
        let (data, text) = match body {
            Body::Data(values) => (OnceLock::from(Arc::new(values)), OnceLock::new()),
            Body::Text(json) => (OnceLock::new(), OnceLock::from(Arc::from(json))),
        };
        Entry { data, text, created_at, version, expires_at, last_activity_ms }
    }

    pub fn live(&self, now: Instant) -> bool {
        self.expires_at > now
    }

    pub fn created_at(&self) -> &str {
        &self.created_at
    }

    /// The session as values, parsed from its text on first need.
    pub fn data(&self) -> Result<&Arc<SessionData>> {
        if let Some(data) = self.data.get() {
            return Ok(data);
        }
        let text = self.text.get().ok_or_else(|| SessionError::Internal("a stored session has no form".into()))?;
        let parsed = serde_json::from_str(text)
            .map_err(|e| SessionError::Internal(format!("stored session text did not parse: {e}")))?;
        Ok(self.data.get_or_init(|| Arc::new(parsed)))
    }

    /// The session as JSON text, serialised from its values on first need.
    pub fn text(&self) -> Result<&Arc<str>> {
        if let Some(text) = self.text.get() {
            return Ok(text);
        }
        let json = serde_json::to_string(&**self.data()?)
            .map_err(|e| SessionError::Internal(format!("session did not serialise: {e}")))?;
        Ok(self.text.get_or_init(|| Arc::from(json)))
    }

    /// The values, to change in place; the text is made again when next asked for.
    pub fn data_mut(&mut self) -> Result<&mut SessionData> {
        self.data()?;
        self.text = OnceLock::new();
        let data = self.data.get_mut().ok_or_else(|| SessionError::Internal("session values vanished".into()))?;
        Ok(Arc::make_mut(data))
    }
}

/// The JSON text of `data`'s createdAt value (`"null"` when it has none, which writes prevent).
pub(super) fn created_at_of(data: &SessionData) -> Box<str> {
    data.get(CREATED_AT_KEY).map_or_else(|| "null".into(), |v| v.to_string().into())
}

/// The value of a createdAt JSON text kept by an entry.
pub(super) fn created_at_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}
