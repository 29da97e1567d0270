//! Session data, user ids and the rules every write obeys (DESIGN §2, §3).

use serde_json::{Map, Value};

use crate::error::{Result, SessionError};

/// A session: a JSON object. Key order is not preserved by storage.
pub type SessionData = Map<String, Value>;

/// Reserved key: the owner of the session (a string equal to the user id).
pub const USER_ID_KEY: &str = "userId";
/// Reserved key: when the session was first written (RFC 3339 UTC, milliseconds, `Z`).
pub const CREATED_AT_KEY: &str = "createdAt";
/// Reserved key: stamped by the provider's clock on every write and touch.
pub const LAST_ACTIVITY_KEY: &str = "lastActivity";

/// Longest accepted user id, in UTF-8 bytes.
pub const MAX_USER_ID_BYTES: usize = 512;
/// Default limit on a session's size (see [`session_size`]).
pub const DEFAULT_MAX_SESSION_BYTES: usize = 1024 * 1024;

/// Checks a user id: non-empty, at most [`MAX_USER_ID_BYTES`], no NUL. Ids are data, never patterns.
pub fn validate_user_id(user_id: &str) -> Result<()> {
    if user_id.is_empty() {
        return Err(SessionError::invalid("user id is empty"));
    }
    if user_id.len() > MAX_USER_ID_BYTES {
        return Err(SessionError::TooLarge(format!(
            "user id is {} bytes, the limit is {MAX_USER_ID_BYTES}",
            user_id.len()
        )));
    }
    if user_id.contains('\0') {
        return Err(SessionError::invalid("user id contains a NUL character"));
    }
    Ok(())
}

/// Longest accepted TTL: 100 years.
pub const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// Checks a TTL: at least one millisecond, at most [`MAX_TTL`].
pub fn validate_ttl(ttl: std::time::Duration) -> Result<()> {
    if ttl.as_millis() == 0 || ttl > MAX_TTL {
        return Err(SessionError::invalid(format!("ttl must be between 1 ms and 100 years, got {ttl:?}")));
    }
    Ok(())
}

/// Checks a top-level key written on its own (`set_session_value`): the provider owns the
/// timestamps and the owner, so those cannot be set field by field.
pub fn validate_field_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(SessionError::invalid("session key is empty"));
    }
    if [USER_ID_KEY, CREATED_AT_KEY, LAST_ACTIVITY_KEY].contains(&key) {
        return Err(SessionError::invalid(format!("session key {key:?} is reserved")));
    }
    Ok(())
}

/// Checks a top-level key and the value written under it on its own (`set_session_value`).
pub fn validate_field(key: &str, value: &Value) -> Result<()> {
    validate_field_key(key)?;
    crate::value::check_field_value(value)
}

/// Validates a whole session before it is written and fills in `userId` when absent.
/// `lastActivity` is dropped: the provider stamps it from its own clock.
pub fn prepare_session(user_id: &str, mut data: SessionData) -> Result<SessionData> {
    validate_user_id(user_id)?;
    match data.get(USER_ID_KEY) {
        None => {
            data.insert(USER_ID_KEY.to_owned(), Value::String(user_id.to_owned()));
        }
        Some(Value::String(owner)) if owner == user_id => {}
        Some(other) => {
            return Err(SessionError::invalid(format!(
                "session field userId is {other}, but the session belongs to {user_id:?}"
            )))
        }
    }
    match data.get(CREATED_AT_KEY) {
        None | Some(Value::String(_)) => {}
        Some(other) => {
            return Err(SessionError::invalid(format!("session field createdAt must be a string, got {other}")))
        }
    }
    data.remove(LAST_ACTIVITY_KEY);
    crate::value::check_session(&data)?;
    Ok(data)
}

/// Serialises each top-level value to its JSON text, checking the size limit; returns the
/// texts and the session's size (see [`crate::value::entry_size`]).
pub fn encode_fields(data: &SessionData, max_bytes: usize) -> Result<(Vec<(&str, String)>, usize)> {
    let mut size = 0usize;
    let mut fields = Vec::with_capacity(data.len());
    for (key, value) in data {
        let text = value.to_string();
        size += crate::value::entry_size(key, &text);
        fields.push((key.as_str(), text));
    }
    crate::value::check_size(size, max_bytes)?;
    Ok((fields, size))
}

/// Checks what a provider hands back: reserved keys must have their types, and a session that
/// names another owner is refused rather than shown to this user (a provider bug must not leak
/// one user's data to another).
pub fn check_loaded(user_id: &str, data: &SessionData) -> Result<()> {
    if let Some(Value::String(owner)) = data.get(USER_ID_KEY) {
        check_owner(user_id, owner)?;
    }
    for key in [USER_ID_KEY, CREATED_AT_KEY, LAST_ACTIVITY_KEY] {
        match data.get(key) {
            None | Some(Value::String(_)) => {}
            Some(other) => {
                return Err(SessionError::corrupt(user_id, format!("field {key} must be a string, found {other}")))
            }
        }
    }
    Ok(())
}

/// A loaded session's `userId` must be the user it was read for.
pub fn check_owner(user_id: &str, owner: &str) -> Result<()> {
    if owner != user_id {
        return Err(SessionError::corrupt(user_id, "the stored session's userId is another user's"));
    }
    Ok(())
}

/// Formats milliseconds since the Unix epoch exactly as JavaScript's `Date.toISOString()`.
pub fn format_timestamp(unix_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Parses a timestamp written by [`format_timestamp`] (or any RFC 3339 text) to Unix milliseconds.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.timestamp_millis())
}

/// Milliseconds since the Unix epoch by this process's clock.
pub fn now_unix_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_match_javascript() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_timestamp(1_764_045_296_007), "2025-11-25T04:34:56.007Z");
        assert_eq!(parse_timestamp("2025-11-25T04:34:56.007Z"), Some(1_764_045_296_007));
    }

    #[test]
    fn a_loaded_session_of_another_owner_is_corrupt() {
        let session = |v: Value| v.as_object().unwrap().clone();
        assert!(check_loaded("u", &session(json!({"userId": "u", "a": 1}))).is_ok());
        assert!(check_loaded("u", &session(json!({"a": 1}))).is_ok());
        let err = check_loaded("u", &session(json!({"userId": "v"}))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::CorruptData);
        assert_eq!(
            check_loaded("u", &session(json!({"lastActivity": 3}))).unwrap_err().kind(),
            crate::ErrorKind::CorruptData
        );
    }

    #[test]
    fn ttls() {
        assert!(validate_ttl(std::time::Duration::from_millis(1)).is_ok());
        assert!(validate_ttl(std::time::Duration::ZERO).is_err());
        assert!(validate_ttl(std::time::Duration::MAX).is_err());
    }

    #[test]
    fn user_ids() {
        assert!(validate_user_id("a*?[]:{}").is_ok());
        assert_eq!(validate_user_id("").unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(validate_user_id("a\0b").unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(validate_user_id(&"x".repeat(513)).unwrap_err().kind(), crate::ErrorKind::TooLarge);
    }

    #[test]
    fn prepare_fills_owner_and_rejects_a_foreign_one() {
        let data = json!({"a": 1, "lastActivity": "x"}).as_object().unwrap().clone();
        let prepared = prepare_session("u", data).unwrap();
        assert_eq!(prepared["userId"], "u");
        assert!(!prepared.contains_key("lastActivity"));
        let foreign = json!({"userId": "v"}).as_object().unwrap().clone();
        assert!(prepare_session("u", foreign).is_err());
    }
}
