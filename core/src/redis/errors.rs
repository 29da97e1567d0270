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

/// Whether `err` says the node may no longer be the one to talk to: the connection was lost or
/// timed out, or a write met a replica (`READONLY`: a master demoted by a failover). A provider
/// that follows failovers (Sentinel) asks where the master is before its next request.
pub fn node_lost(err: &RedisError) -> bool {
    err.is_connection_dropped()
        || err.is_io_error()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
        || err.code() == Some("READONLY")
}

pub fn map(err: RedisError, access: Access, user_id: Option<&str>) -> SessionError {
    let detail = err.detail().unwrap_or_default().to_owned();
    match err.code() {
        Some("WRONGTYPE") => {
            return SessionError::corrupt(
                user_id.unwrap_or_default(),
                format!(
                    "the session key holds another type of value (a format-1 session hash?): {}",
                    super::keys::MIGRATE_HINT
                ),
            )
        }
        Some("POTOCORRUPT") => {
            return SessionError::corrupt(
                user_id.unwrap_or_default(),
                if detail.is_empty() { err.to_string() } else { detail },
            )
        }
        Some("POTOTOOLARGE") => return SessionError::TooLarge(detail),
        // The server is a replica (configured so, or a master demoted by a failover): the
        // request did not run.
        Some("READONLY") => {
            return SessionError::Unavailable(format!(
                "redis refused a write: the server is a read-only replica, writes go to its master ({err})"
            ))
        }
        Some(_) => return SessionError::Unavailable(format!("redis refused the request: {err}")),
        None => {}
    }
    if let Some(why) = super::tls::failure(&err) {
        // A handshake fails before any command is sent.
        return SessionError::Unavailable(why);
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
        // Bytes that are not the Redis protocol: something else answers on the port, or the
        // stream is damaged. A read just failed; a write may or may not have reached Redis.
        redis::ErrorKind::Parse => match access {
            Access::Read => SessionError::Unavailable(format!(
                "the server's reply is not the Redis protocol (is a Redis server on that port?): {err}"
            )),
            Access::Write => SessionError::OutcomeUnknown(format!(
                "the server's reply to a write is not the Redis protocol, the write may or may not be applied: {err}"
            )),
        },
        redis::ErrorKind::UnexpectedReturnType => SessionError::Internal(format!("unexpected reply from redis: {err}")),
        _ => SessionError::Unavailable(err.to_string()),
    }
}
