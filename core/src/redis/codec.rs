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
use crate::data::{check_loaded, prepare_session, SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY, USER_ID_KEY};
use crate::error::{Result, SessionError};
use crate::provider::Versioned;
use crate::session_text::SessionText;

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

/// [`encode_members`] of a session given as text: straight from its members' texts when it is
/// plain, else through values ([`prepare_session`]), which gives the same bytes or the error.
pub fn encode_text(user_id: &str, session: SessionText, max_bytes: usize) -> Result<(String, String)> {
    if let Some(prepared) = session.prepare(user_id, max_bytes) {
        let created = prepared.created_at.unwrap_or_default().to_owned();
        return Ok((created, prepared.members_text(',', &[]).0));
    }
    encode_members(&prepare_session(user_id, session.into_data()?)?, max_bytes)
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
    use crate::value::MAX_DEPTH;
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

    /// The tree path of a whole write from text: parse, prepare, encode.
    fn tree(user_id: &str, text: &str, max_bytes: usize) -> Result<(String, String)> {
        let data = crate::value::parse_session(text, "session")?;
        encode_members(&prepare_session(user_id, data)?, max_bytes)
    }

    fn text_path(user_id: &str, text: &str, max_bytes: usize) -> Result<(String, String)> {
        encode_text(user_id, SessionText::parse(text.to_owned(), "session")?, max_bytes)
    }

    /// Whether the text is written from its members, not through values.
    fn fast(user_id: &str, text: &str, max_bytes: usize) -> bool {
        SessionText::parse(text.to_owned(), "session").is_ok_and(|s| s.prepare(user_id, max_bytes).is_some())
    }

    #[test]
    fn text_and_tree_paths_store_the_same_bytes_and_give_the_same_errors() {
        let nested = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        let nested_arrays = |levels: usize| format!("{{\"a\":{}1{}}}", "[".repeat(levels), "]".repeat(levels));
        let big = |n: usize| format!(r#"{{"k":"{}"}}"#, "x".repeat(n));
        // `userId` with `"u"` counts 9 bytes, `k` with its value's quotes 3: n x's make a session of n + 12.
        let cases: Vec<(String, usize, bool)> = vec![
            // (text, max_bytes, written from its members)
            (r#"{}"#.into(), 1000, true),
            (r#"{"a":1,"b":"two","c":[true,false,null],"d":{"e":[]}}"#.into(), 1000, true),
            (r#"{"z":1,"a":2,"m":{"b":2,"y":1}}"#.into(), 1000, true),
            (r#"{"m":{"a":1,"b":{"a":2}},"n":[{"a":1},{"a":2}]}"#.into(), 1000, true),
            (r#"{"m":{"a":1,"a":2}}"#.into(), 1000, false),
            (r#"{"m":[{"b":{"a":1,"c":2,"a":3}}]}"#.into(), 1000, false),
            (r#"{"m":{"\n":1,"\u000b":2,"x\"":3}}"#.into(), 1000, true),
            (r#"{"n":1.0,"m":-0.0,"o":1.50,"p":-0,"q":0}"#.into(), 1000, true),
            (r#"{"i":9223372036854775807,"j":-9223372036854775808,"u":18446744073709551615}"#.into(), 1000, true),
            (r#"{"f":0.1000000000000000000000001,"s":1e-310,"z":0e-400,"b":1e+300,"c":5e-324}"#.into(), 1000, true),
            (r#"{"big":18446744073709551616}"#.into(), 1000, false),
            (r#"{"neg":-9223372036854775809}"#.into(), 1000, false),
            (r#"{"huge":123456789012345678901234567890}"#.into(), 1000, false),
            (r#"{"inf":1e400}"#.into(), 1000, false),
            (r#"{"under":1e-400}"#.into(), 1000, false),
            (r#"{"deep":[[1e400]]}"#.into(), 1000, false),
            (r#"{"e":1E5,"f":1e5,"g":1E-5}"#.into(), 1000, false),
            (nested(MAX_DEPTH), 1000, true),
            (nested(MAX_DEPTH + 1), 1000, false),
            (nested_arrays(MAX_DEPTH - 1), 1000, true),
            (nested_arrays(MAX_DEPTH), 1000, false),
            (nested(200), 1000, false),
            (r#"{"userId":"u","a":1}"#.into(), 1000, true),
            (r#"{"userId":"v","a":1}"#.into(), 1000, false),
            (r#"{"userId":7}"#.into(), 1000, false),
            (r#"{"userId":null}"#.into(), 1000, false),
            (r#"{"createdAt":"2025-11-25T04:34:56.007Z","a":1}"#.into(), 1000, true),
            (r#"{"createdAt":"any string"}"#.into(), 1000, true),
            (r#"{"createdAt":12}"#.into(), 1000, false),
            (r#"{"createdAt":{"a":1}}"#.into(), 1000, false),
            (r#"{"lastActivity":"2025-11-25T04:34:56.007Z","a":1}"#.into(), 1000, true),
            (r#"{"lastActivity":1e400,"a":1}"#.into(), 1000, false),
            (big(88), 100, true),
            (big(89), 100, false),
            (r#"{"a":1,"a":2}"#.into(), 1000, false),
            (r#"{"a\u0062":1}"#.into(), 1000, false),
            (r#"{"a\"b":1}"#.into(), 1000, false),
            (r#"{"a":"\"\\\b\f\n\r\t\u0000\u001f"}"#.into(), 1000, true),
            (r#"{"a":"\/"}"#.into(), 1000, false),
            (r#"{"a":"\u00e9\u001F\u000a"}"#.into(), 1000, false),
            (r#"{"a":"\ud83d\ude00"}"#.into(), 1000, false),
            (r#"{"a":"\ud800"}"#.into(), 1000, false),
            (r#"{"a":"é ☃ 😀","ключ":"значение"}"#.into(), 1000, true),
            (r#"{"a": 1}"#.into(), 1000, true),
            (r#" { "a" : [1, 2] } "#.into(), 1000, false),
            (r#"{"a":"x y","b":"[{\"c\":1e999}]"}"#.into(), 1000, true),
            (r#"[1]"#.into(), 1000, false),
            (r#""s""#.into(), 1000, false),
            (r#"null"#.into(), 1000, false),
            (r#"{"#.into(), 1000, false),
            (r#"{"a":1} x"#.into(), 1000, false),
            (r#"{"a":01}"#.into(), 1000, false),
            (r#""#.into(), 1000, false),
        ];
        for (text, max, expect_fast) in &cases {
            for user in ["u", "a\"b\u{1}é"] {
                let (tree, from_text) = (tree(user, text, *max), text_path(user, text, *max));
                match (&tree, &from_text) {
                    (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                    (Err(a), Err(b)) => {
                        assert_eq!((a.kind(), a.to_string()), (b.kind(), b.to_string()), "{text}")
                    }
                    _ => panic!("{text}: tree {tree:?}, text {from_text:?}"),
                }
            }
            assert_eq!(fast("u", text, *max), *expect_fast, "{text}");
        }
        // Nested names keep the writer's order; the tree sorts them. The same JSON either way.
        let unsorted = r#"{"z":1,"a":2,"m":{"y":1,"b":[{"d":1,"c":2}]}}"#;
        let (_, tail) = text_path("u", unsorted, 1000).unwrap();
        assert_eq!(tail, r#","a":2,"m":{"y":1,"b":[{"d":1,"c":2}]},"userId":"u","z":1}"#);
        let as_value = |tail: &str| serde_json::from_str::<Value>(&format!("{{\"x\":0{tail}")).unwrap();
        assert_eq!(as_value(&tail), as_value(&tree("u", unsorted, 1000).unwrap().1));
        assert!(text_path("u", &big(89), 100).unwrap_err().to_string().contains("101 bytes, the limit is 100"));
        assert!(text_path("u", &big(88), 100).is_ok());
    }
}
