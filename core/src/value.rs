//! What a session may hold (DESIGN §2), checked when a value is written so that whatever is
//! stored reads back in every language: numbers every language reads as themselves, a bounded
//! nesting depth, and one way of counting a session's size.
//!
//! Numbers keep their exact text (`serde_json`'s `arbitrary_precision`): `1.0`, `-0.0`,
//! `1.50` and 64-bit integers are stored as written. What no language could read back as the
//! number written is refused: integers outside the 64-bit range (Python rejects them too),
//! and floats that overflow a 64-bit float or underflow it to zero.

use serde_json::{Number, Value};

use crate::data::{SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY};
use crate::error::{Result, SessionError};

/// Deepest nesting of a session, counting the session object as level 1 (`{"a": [1]}` is 2
/// deep). Every language's parser reads this depth (serde_json stops at 128), with room for the
/// envelopes some paths wrap a session in.
pub const MAX_DEPTH: usize = 100;

/// Checks one number: a 64-bit integer, or a float that is finite and not a non-zero number
/// rounded to zero.
pub fn check_number(n: &Number) -> Result<()> {
    check_number_text(n.as_str())
}

/// [`check_number`] on a number's JSON text (the text path checks numbers it never parses).
pub fn check_number_text(text: &str) -> Result<()> {
    let exponent = text.contains(['e', 'E']);
    // Fast paths (every write walks its numbers): up to 18 digits is a 64-bit integer, and a
    // decimal without exponent shorter than 300 characters can neither overflow nor underflow.
    if !exponent && (text.len() <= 18 || (text.contains('.') && text.len() < 300)) {
        return Ok(());
    }
    if !text.contains('.') && !exponent {
        if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
            return Err(SessionError::invalid(format!("integer {text} is outside the 64-bit range")));
        }
        return Ok(());
    }
    let float: f64 = text.parse().map_err(|_| SessionError::invalid(format!("{text} is not a number")))?;
    if !float.is_finite() {
        return Err(SessionError::invalid(format!("number {text} overflows a 64-bit float")));
    }
    let mantissa = text.split(['e', 'E']).next().unwrap_or_default();
    if float == 0.0 && mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        return Err(SessionError::invalid(format!("number {text} underflows a 64-bit float to zero")));
    }
    Ok(())
}

/// Checks a value stored under a top-level key (it sits at level 2 of the session).
pub fn check_field_value(value: &Value) -> Result<()> {
    check_nested(value, 2)
}

/// Checks every value of a session.
pub fn check_session(data: &SessionData) -> Result<()> {
    data.values().try_for_each(check_field_value)
}

fn check_nested(value: &Value, depth: usize) -> Result<()> {
    match value {
        Value::Number(n) => check_number(n),
        Value::Array(_) | Value::Object(_) if depth > MAX_DEPTH => Err(SessionError::invalid(format!(
            "session is nested deeper than {MAX_DEPTH} levels (counting the session object)"
        ))),
        Value::Array(items) => items.iter().try_for_each(|v| check_nested(v, depth + 1)),
        Value::Object(map) => map.values().try_for_each(|v| check_nested(v, depth + 1)),
        _ => Ok(()),
    }
}

/// Parses JSON text handed over by a host language (C, Node) into a session. `what` names the
/// text in the error ("session", "the update function's result"). Its values are checked when
/// written ([`check_session`]), after an update has put back what its function carried through
/// (a JavaScript function hands back 2^64 − 1 as 18446744073709552000).
pub fn parse_session(text: &str, what: &str) -> Result<SessionData> {
    match parse_value(text, what)? {
        Value::Object(map) => Ok(map),
        other => Err(SessionError::invalid(format!("{what} must be a JSON object, got {}", kind_name(&other)))),
    }
}

/// Parses JSON text handed over by a host language into a value (checked when written, as
/// [`parse_session`]).
pub fn parse_value(text: &str, what: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| {
        if e.to_string().starts_with("recursion limit exceeded") {
            SessionError::invalid(format!("{what} is nested deeper than {MAX_DEPTH} levels"))
        } else {
            SessionError::invalid(format!("{what} is not valid JSON: {e}"))
        }
    })
}

/// The JSON type of a value, for error messages.
pub fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Whether `key` counts towards a session's size: everything but the two timestamps, which
/// the provider stamps (fixed-length, and present or not depending on the write path).
pub fn counts_towards_size(key: &str) -> bool {
    key != CREATED_AT_KEY && key != LAST_ACTIVITY_KEY
}

/// Bytes one top-level entry adds to a session's size: its key and its value's JSON text.
pub fn entry_size(key: &str, text: &str) -> usize {
    if counts_towards_size(key) {
        key.len() + text.len()
    } else {
        0
    }
}

/// Refuses a session of `size` bytes (see [`entry_size`]) above `max_bytes`.
pub fn check_size(size: usize, max_bytes: usize) -> Result<()> {
    if size > max_bytes {
        return Err(SessionError::TooLarge(format!("session is {size} bytes, the limit is {max_bytes}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Result<()> {
        match serde_json::from_str::<Value>(text).unwrap() {
            Value::Number(n) => check_number(&n),
            _ => unreachable!(),
        }
    }

    #[test]
    fn numbers_every_language_reads_back_are_kept_as_written() {
        for ok in ["0", "-0", "-0.0", "1.0", "1.50", "1E5", "1e300", "9223372036854775807", "-9223372036854775808"] {
            assert!(number(ok).is_ok(), "{ok}");
        }
        assert!(number("18446744073709551615").is_ok());
        assert!(number("0.1000000000000000000000001").is_ok());
        assert!(number("1e-310").is_ok(), "a subnormal is a float");
        assert!(number("0e-400").is_ok(), "zero written small is zero");
        for bad in ["18446744073709551616", "-9223372036854775809", "123456789012345678901234567890", "1e400", "1e-400"]
        {
            assert_eq!(number(bad).unwrap_err().kind(), crate::ErrorKind::InvalidArgument, "{bad}");
        }
        let kept: Value = serde_json::from_str(r#"{"a":1.50,"b":-0.0,"c":1152921504606846977}"#).unwrap();
        assert_eq!(kept.to_string(), r#"{"a":1.50,"b":-0.0,"c":1152921504606846977}"#);
    }

    #[test]
    fn depth_is_counted_from_the_session_object() {
        let nested = |levels: usize| format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels));
        assert!(check_session(&parse_session(&nested(MAX_DEPTH), "s").unwrap()).is_ok());
        let err = check_session(&parse_session(&nested(MAX_DEPTH + 1), "s").unwrap()).unwrap_err();
        assert!(err.to_string().contains("deeper than 100"), "{err}");
        let err = parse_session(&nested(200), "s").unwrap_err();
        assert!(err.to_string().contains("deeper than 100"), "{err}");
    }

    #[test]
    fn parse_errors_name_what_was_parsed() {
        assert!(parse_session("[1]", "the update function's result").unwrap_err().to_string().contains("an array"));
        assert!(parse_session("{", "session").unwrap_err().to_string().contains("session is not valid JSON"));
        assert!(check_session(&parse_session(r#"{"n": 1e400}"#, "session").unwrap()).is_err());
    }
}
