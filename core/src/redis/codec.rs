//! Session hash ⇄ [`SessionData`]: one field per top-level key holding that value's JSON text,
//! plus meta fields whose names start with byte 0xFF (never valid UTF-8, so never a JSON key).

use redis::Value as Reply;
use serde_json::Value;

use super::keys::FORMAT;
use crate::data::{check_loaded, check_owner, SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY, USER_ID_KEY};
use crate::error::{Result, SessionError};
use crate::provider::Versioned;

const META_MARK: u8 = 0xFF;
const META_FORMAT: &[u8] = b"\xfff";
const META_VERSION: &[u8] = b"\xffv";
const RESERVED_STRING_KEYS: [&str; 3] = [USER_ID_KEY, CREATED_AT_KEY, LAST_ACTIVITY_KEY];

/// Walks an `HGETALL` reply: checks the meta fields and hands each data field (name, JSON text)
/// to `field`. Returns the version, or `None` when the hash is absent (empty).
fn walk(user_id: &str, reply: Reply, mut field: impl FnMut(String, Vec<u8>) -> Result<()>) -> Result<Option<u64>> {
    let items = match reply {
        Reply::Nil => return Ok(None),
        Reply::Array(items) => items,
        Reply::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => return Err(SessionError::corrupt(user_id, format!("unexpected reply {other:?}"))),
    };
    if items.is_empty() {
        return Ok(None);
    }
    let mut version = None;
    let mut format_ok = false;
    let mut items = items.into_iter();
    while let (Some(name), Some(text)) = (items.next(), items.next()) {
        let (Reply::BulkString(name), Reply::BulkString(text)) = (name, text) else {
            return Err(SessionError::corrupt(user_id, "session hash holds a non-string field"));
        };
        if name.first() == Some(&META_MARK) {
            if name == META_FORMAT {
                format_ok = text == FORMAT.as_bytes();
                if !format_ok {
                    let found = String::from_utf8_lossy(&text);
                    return Err(SessionError::corrupt(user_id, format!("unknown session format {found:?}")));
                }
            } else if name == META_VERSION {
                version = std::str::from_utf8(&text).ok().and_then(|v| v.parse::<u64>().ok());
            }
            continue;
        }
        let key =
            String::from_utf8(name).map_err(|_| SessionError::corrupt(user_id, "a field name is not valid UTF-8"))?;
        field(key, text)?;
    }
    if !format_ok {
        return Err(SessionError::corrupt(user_id, "not a poto-sessions hash (no format field)"));
    }
    version.map(Some).ok_or_else(|| SessionError::corrupt(user_id, "session hash has no valid version"))
}

fn not_json(user_id: &str, key: &str, e: impl std::fmt::Display) -> SessionError {
    SessionError::corrupt(user_id, format!("field {key:?} is not valid JSON: {e}"))
}

/// Decodes an `HGETALL` reply; `None` when the hash is absent (empty).
pub fn decode(user_id: &str, reply: Reply) -> Result<Option<Versioned>> {
    let mut data = SessionData::new();
    let version = walk(user_id, reply, |key, text| {
        let value: Value = serde_json::from_slice(&text).map_err(|e| not_json(user_id, &key, e))?;
        data.insert(key, value);
        Ok(())
    })?;
    let Some(version) = version else { return Ok(None) };
    check_loaded(user_id, &data)?;
    Ok(Some(Versioned { data, version }))
}

/// Decodes an `HGETALL` reply straight into the session's JSON object text: the stored texts
/// are validated, not parsed into values and serialised again.
pub fn decode_text(user_id: &str, reply: Reply) -> Result<Option<String>> {
    let mut out = String::with_capacity(512);
    out.push('{');
    let version = walk(user_id, reply, |key, text| {
        serde_json::from_slice::<serde::de::IgnoredAny>(&text).map_err(|e| not_json(user_id, &key, e))?;
        let text = String::from_utf8(text).map_err(|e| not_json(user_id, &key, e))?;
        if RESERVED_STRING_KEYS.contains(&key.as_str()) && !text.starts_with('"') {
            return Err(SessionError::corrupt(user_id, format!("field {key} must be a string, found {text}")));
        }
        if key == USER_ID_KEY {
            if let Ok(owner) = serde_json::from_str::<String>(&text) {
                check_owner(user_id, &owner)?;
            }
        }
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::String(key).to_string());
        out.push(':');
        out.push_str(&text);
        Ok(())
    })?;
    out.push('}');
    Ok(version.map(|_| out))
}
