//! redis-rs errors → [`SessionError`]. A write whose reply may have been lost is "outcome
//! unknown" and never retried; a request that could not be sent is "unavailable".

use redis::RedisError;

use crate::error::SessionError;

/// Whether the failed request could have changed data.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

pub fn map(err: RedisError, access: Access, user_id: Option<&str>) -> SessionError {
    let detail = err.detail().unwrap_or_default().to_owned();
    match err.code() {
        Some("WRONGTYPE") => {
            return SessionError::corrupt(
                user_id.unwrap_or_default(),
                format!("the session key holds another type of value (a format-1 session hash?): {}", super::keys::MIGRATE_HINT),
            )
        }
        Some("POTOCORRUPT") => {
            return SessionError::corrupt(
                user_id.unwrap_or_default(),
                if detail.is_empty() { err.to_string() } else { detail },
            )
        }
        Some("POTOTOOLARGE") => return SessionError::TooLarge(detail),
        Some(_) => return SessionError::Unavailable(format!("redis refused the request: {err}")),
        None => {}
    }
    if err.is_connection_refusal() {
        return SessionError::Unavailable(format!("cannot connect to redis: {err}"));
    }
    if err.is_timeout() || err.is_io_error() || err.is_connection_dropped() {
        return match access {
            Access::Read => SessionError::Unavailable(format!("redis did not answer: {err}")),
            Access::Write => SessionError::OutcomeUnknown(format!(
                "redis did not answer a write, it may or may not be applied: {err}"
            )),
        };
    }
    match err.kind() {
        redis::ErrorKind::Parse | redis::ErrorKind::UnexpectedReturnType => {
            SessionError::Internal(format!("unexpected reply from redis: {err}"))
        }
        _ => SessionError::Unavailable(err.to_string()),
    }
}
