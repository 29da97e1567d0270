//! Session values of format 2 ⇄ [`SessionData`]: a fixed-width ASCII header (format, version,
//! createdAt length, lastActivity ms), then the session's JSON object text, which reads hand to
//! the JSON parser as it is (docs/redis-format.md).

use std::fmt;

use redis::Value as Reply;
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

use super::keys::{
    CREATED_AT_MEMBER, CREATED_LEN_AT, CREATED_LEN_DIGITS, HEADER_LEN, JSON_HEAD, LAST_ACTIVITY_AT,
    LAST_ACTIVITY_DIGITS, MAGIC, VERSION_AT, VERSION_DIGITS,
};
use crate::data::{check_loaded, SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY, USER_ID_KEY};
use crate::error::{Result, SessionError};
use crate::provider::Versioned;

/// One stored session as read: its header's fields and its JSON object text.
#[derive(Debug)]
pub struct Stored {
    pub version: u64,
    /// The stored lastActivity, Unix ms (what lazy touch compares).
    pub last_activity_ms: i64,
    bytes: Vec<u8>,
}

impl Stored {
    /// The session's JSON object text (after the header).
    pub fn json(&self) -> &[u8] {
        &self.bytes[HEADER_LEN..]
    }

    /// The JSON text as an owned string, without a copy of the text beyond one move.
    pub fn into_json_string(mut self) -> String {
        self.bytes.drain(..HEADER_LEN);
        // Checked to be UTF-8 by `validate` (serde_json validates strings and keys).
        String::from_utf8(self.bytes).unwrap_or_default()
    }
}

fn digits(bytes: &[u8], at: usize, len: usize) -> Option<u64> {
    let field = bytes.get(at..at + len)?;
    if !field.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(field).ok()?.parse().ok()
}

/// Splits a `GET` reply into header and JSON text; `None` when absent. The JSON is not checked.
pub fn split(user_id: &str, reply: Reply) -> Result<Option<Stored>> {
    let bytes = match reply {
        Reply::Nil => return Ok(None),
        Reply::BulkString(bytes) => bytes,
        other => return Err(SessionError::corrupt(user_id, format!("unexpected reply {other:?}"))),
    };
    let foreign = || SessionError::corrupt(user_id, "not a poto-sessions format-2 session");
    if bytes.len() < HEADER_LEN + JSON_HEAD.len() || !bytes.starts_with(MAGIC) {
        return Err(foreign());
    }
    let version = digits(&bytes, VERSION_AT, VERSION_DIGITS).ok_or_else(foreign)?;
    let last_activity_ms = digits(&bytes, LAST_ACTIVITY_AT, LAST_ACTIVITY_DIGITS).ok_or_else(foreign)? as i64;
    digits(&bytes, CREATED_LEN_AT, CREATED_LEN_DIGITS).ok_or_else(foreign)?;
    if !bytes[HEADER_LEN..].starts_with(JSON_HEAD.as_bytes()) {
        return Err(foreign());
    }
    Ok(Some(Stored { version, last_activity_ms, bytes }))
}

/// Checks a session's JSON text in one pass without building it: an object, `userId` (when
/// present) names `user_id`, the timestamps are strings, every value is valid JSON.
pub fn validate(user_id: &str, json: &[u8]) -> Result<()> {
    struct Check<'a> {
        user_id: &'a str,
    }
    impl<'de> Visitor<'de> for Check<'_> {
        type Value = Option<String>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a session object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut problem = None;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                let reserved = key == USER_ID_KEY || key == CREATED_AT_KEY || key == LAST_ACTIVITY_KEY;
                if !reserved {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                match map.next_value::<Value>()? {
                    Value::String(owner) if key == USER_ID_KEY => {
                        if owner != self.user_id {
                            problem = Some("the stored session's userId is another user's".to_owned());
                        }
                    }
                    Value::String(_) => {}
                    other => problem = Some(format!("field {key} must be a string, found {other}")),
                }
            }
            Ok(problem)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let problem = de
        .deserialize_map(Check { user_id })
        .and_then(|p| de.end().map(|()| p))
        .map_err(|e| SessionError::corrupt(user_id, format!("stored session is not a valid JSON object: {e}")))?;
    match problem {
        Some(detail) => Err(SessionError::corrupt(user_id, detail)),
        None => Ok(()),
    }
}

/// A stored session parsed into values.
pub fn parse(user_id: &str, stored: &Stored) -> Result<SessionData> {
    let data: SessionData = serde_json::from_slice(stored.json())
        .map_err(|e| SessionError::corrupt(user_id, format!("stored session is not a valid JSON object: {e}")))?;
    check_loaded(user_id, &data)?;
    Ok(data)
}

/// Decodes a `GET` reply; `None` when absent.
pub fn decode(user_id: &str, reply: Reply) -> Result<Option<Versioned>> {
    let Some(stored) = split(user_id, reply)? else { return Ok(None) };
    Ok(Some(Versioned { data: parse(user_id, &stored)?, version: stored.version }))
}

/// Decodes a `GET` reply to the session's JSON object text: a slice of the stored value,
/// validated, never parsed into values and serialised again.
pub fn decode_text(user_id: &str, reply: Reply) -> Result<Option<String>> {
    let Some(stored) = split(user_id, reply)? else { return Ok(None) };
    validate(user_id, stored.json())?;
    Ok(Some(stored.into_json_string()))
}

/// A validated session's members as the write script takes them: the createdAt JSON text
/// (empty when the session has none) and the tail: `,"name":value` for every other member, then
/// the closing `}`.
pub fn encode_members(data: &SessionData, max_bytes: usize) -> Result<(String, String)> {
    let mut size = 0usize;
    let mut members = String::with_capacity(256);
    let mut created = String::new();
    for (key, value) in data {
        if key == CREATED_AT_KEY {
            created = value.to_string();
            continue;
        }
        if key == LAST_ACTIVITY_KEY {
            continue;
        }
        members.push(',');
        members.push_str(&Value::String(key.clone()).to_string());
        members.push(':');
        let value_at = members.len();
        members.push_str(&value.to_string());
        size += crate::value::entry_size(key, &members[value_at..]);
    }
    crate::value::check_size(size, max_bytes)?;
    members.push('}');
    Ok((created, members))
}

/// A whole stored value, for writers outside the scripts (the migration): the same bytes
/// `write.lua` produces. `last_activity` and `created_at` are JSON string texts; `tail` is the
/// other members and the closing brace, as [`encode_members`] gives it.
pub fn build_value(version: u64, last_activity_ms: i64, last_activity: &str, created_at: &str, tail: &str) -> String {
    format!(
        "PS2 {version:016} {:08} {last_activity_ms:013}{JSON_HEAD}{last_activity}{CREATED_AT_MEMBER}{created_at}{tail}",
        created_at.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_splits_into_header_and_json() {
        let data: SessionData = json!({"userId": "a\"b", "n": 1}).as_object().unwrap().clone();
        let (created, members) = encode_members(&data, 1000).unwrap();
        assert!(created.is_empty());
        let value = build_value(
            42,
            1_764_045_296_007,
            "\"2025-11-25T04:34:56.007Z\"",
            "\"2025-11-25T04:34:56.007Z\"",
            &members,
        );
        assert_eq!(&value[..HEADER_LEN], "PS2 0000000000000042 00000026 1764045296007");
        assert_eq!(value.find(",\"createdAt\":").unwrap() + 13, super::super::keys::CREATED_AT_VALUE_AT);
        let stored = split("a\"b", Reply::BulkString(value.into_bytes())).unwrap().unwrap();
        assert_eq!((stored.version, stored.last_activity_ms), (42, 1_764_045_296_007));
        assert_eq!(parse("a\"b", &stored).unwrap()["n"], 1);
        validate("a\"b", stored.json()).unwrap();
        assert_eq!(validate("other", stored.json()).unwrap_err().kind(), crate::ErrorKind::CorruptData);
        assert!(split("x", Reply::BulkString(b"plain".to_vec())).is_err());
    }
}
