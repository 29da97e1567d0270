//! SessionError across the boundary (DESIGN §7).

use poto_sessions::SessionError;

use crate::bridge::encode_error;

/// A failure thrown to JS.
pub fn throw(e: SessionError) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, encode_error(&e))
}

pub fn invalid(msg: impl Into<String>) -> SessionError {
    SessionError::InvalidArgument(msg.into())
}
