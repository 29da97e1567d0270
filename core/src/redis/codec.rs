//! Session hash ⇄ [`SessionData`]: one field per top-level key holding that value's JSON text,
//! plus meta fields whose names start with byte 0xFF (never valid UTF-8, so never a JSON key).

use redis::Value as Reply;
use serde_json::Value;

use super::keys::FORMAT;
use crate::data::{check_loaded, SessionData};
use crate::error::{Result, SessionError};
use crate::provider::Versioned;

const META_MARK: u8 = 0xFF;
const META_FORMAT: &[u8] = b"\xfff";
const META_VERSION: &[u8] = b"\xffv";

/// Decodes an `HGETALL` reply; `None` when the hash is absent (empty).
pub fn decode(user_id: &str, reply: Reply) -> Result<Option<Versioned>> {
    let items = match reply {
        Reply::Nil => return Ok(None),
        Reply::Array(items) => items,
        Reply::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        other => return Err(SessionError::corrupt(user_id, format!("unexpected reply {other:?}"))),
    };
    if items.is_empty() {
        return Ok(None);
    }
    let mut data = SessionData::new();
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
        let value: Value = serde_json::from_slice(&text)
            .map_err(|e| SessionError::corrupt(user_id, format!("field {key:?} is not valid JSON: {e}")))?;
        data.insert(key, value);
    }
    if !format_ok {
        return Err(SessionError::corrupt(user_id, "not a poto-sessions hash (no format field)"));
    }
    let version = version.ok_or_else(|| SessionError::corrupt(user_id, "session hash has no valid version"))?;
    check_loaded(user_id, &data)?;
    Ok(Some(Versioned { data, version }))
}
