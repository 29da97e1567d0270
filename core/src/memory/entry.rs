//! One session of the in-memory provider: its values, its JSON text, or both.
//!
//! A write of values keeps the values and a write of JSON text (Node, C) keeps the text; the
//! other form is made on first need and kept until the next change. So a binding that writes
//! and reads text never builds values (most of a write's cost, issue 12), and Rust readers
//! never re-parse.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde_json::Value;

use crate::data::{SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY};
use crate::error::{Result, SessionError};

pub(super) struct Entry {
    /// Shared with readers of `get_session_shared`; a change replaces it (or copies it first
    /// when a reader still holds it).
    data: OnceLock<Arc<SessionData>>,
    text: OnceLock<Arc<str>>,
    /// A session written as text: its createdAt value's JSON text, for later whole writes that
    /// do not send one (a session written as values has it in `data`).
    created_at: Option<Box<str>>,
    /// Where the lastActivity value starts in `text`, while `text` is the text written (or
    /// restamped): a touch then changes those bytes only, as on Redis, keeping the writer's
    /// order of nested names.
    last_activity_at: Option<usize>,
    pub version: u64,
    pub expires_at: Instant,
    pub last_activity_ms: i64,
}

/// What a write stores: values, or the JSON text they serialise to with its createdAt value's
/// JSON text.
pub(super) enum Body {
    Data(SessionData),
    Text { json: String, created_at: Box<str>, last_activity_at: usize },
}

impl Entry {
    pub fn new(body: Body, version: u64, expires_at: Instant, last_activity_ms: i64) -> Self {
        let (data, text, created_at, last_activity_at) = match body {
            Body::Data(values) => (OnceLock::from(Arc::new(values)), OnceLock::new(), None, None),
            Body::Text { json, created_at, last_activity_at } => {
                (OnceLock::new(), OnceLock::from(Arc::from(json)), Some(created_at), Some(last_activity_at))
            }
        };
        Entry { data, text, created_at, last_activity_at, version, expires_at, last_activity_ms }
    }

    pub fn live(&self, now: Instant) -> bool {
        self.expires_at > now
    }

    /// The createdAt value (every stored session has one).
    pub fn created_at(&self) -> Result<Option<Value>> {
        match (&self.created_at, self.data.get()) {
            (_, Some(data)) => Ok(data.get(CREATED_AT_KEY).cloned()),
            (Some(text), None) => serde_json::from_str(text)
                .map(Some)
                .map_err(|e| SessionError::Internal(format!("stored createdAt did not parse: {e}"))),
            (None, None) => Err(SessionError::Internal("a stored session has no form".into())),
        }
    }

    /// The createdAt value's JSON text.
    pub fn created_at_text(&self) -> Result<Option<Cow<'_, str>>> {
        match &self.created_at {
            Some(text) => Ok(Some(Cow::Borrowed(text))),
            None => Ok(self.data()?.get(CREATED_AT_KEY).map(|value| Cow::Owned(value.to_string()))),
        }
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

    /// Sets lastActivity to timestamp `stamp` in whichever forms the entry holds: in the text
    /// in place, where it knows where (and the old stamp has the same length).
    pub fn restamp(&mut self, stamp: &str) -> Result<()> {
        let spliced = match (self.last_activity_at, self.text.get()) {
            (Some(at), Some(text)) => {
                let (open, close) = (at, at + 1 + stamp.len());
                let fits = text.as_bytes().get(open) == Some(&b'"') && text.as_bytes().get(close) == Some(&b'"');
                fits.then(|| [&text[..=open], stamp, &text[close..]].concat())
            }
            _ => None,
        };
        let value = Value::String(stamp.to_owned());
        match spliced {
            Some(text) => {
                self.text = OnceLock::from(Arc::from(text));
                if let Some(data) = self.data.get_mut() {
                    Arc::make_mut(data).insert(LAST_ACTIVITY_KEY.to_owned(), value);
                }
            }
            None => {
                self.data_mut()?.insert(LAST_ACTIVITY_KEY.to_owned(), value);
            }
        }
        Ok(())
    }

    /// The values, to change in place; the text is made again when next asked for.
    pub fn data_mut(&mut self) -> Result<&mut SessionData> {
        self.data()?;
        self.text = OnceLock::new();
        self.last_activity_at = None;
        let data = self.data.get_mut().ok_or_else(|| SessionError::Internal("session values vanished".into()))?;
        Ok(Arc::make_mut(data))
    }
}
