//! One error taxonomy for every provider and every binding (DESIGN §7).

use std::fmt;

/// The kind of a [`SessionError`]; bindings map it to their own names
/// (`POTO_ERR_*` in C, exception classes in Python, `err.code` in Node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidArgument,
    CorruptData,
    TooLarge,
    Conflict,
    Unavailable,
    OutcomeUnknown,
    Provider,
    NotAuthenticated,
    Internal,
}

impl ErrorKind {
    /// The stable code shared by all bindings, e.g. `POTO_INVALID_ARGUMENT`.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "POTO_INVALID_ARGUMENT",
            ErrorKind::CorruptData => "POTO_CORRUPT_DATA",
            ErrorKind::TooLarge => "POTO_TOO_LARGE",
            ErrorKind::Conflict => "POTO_CONFLICT",
            ErrorKind::Unavailable => "POTO_UNAVAILABLE",
            ErrorKind::OutcomeUnknown => "POTO_OUTCOME_UNKNOWN",
            ErrorKind::Provider => "POTO_PROVIDER",
            ErrorKind::NotAuthenticated => "POTO_NOT_AUTHENTICATED",
            ErrorKind::Internal => "POTO_INTERNAL",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Every failure the library reports. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    /// The caller passed something the contract rejects; nothing was written.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The stored session of `user_id` cannot be read back.
    #[error("stored session of user {user_id:?} is unreadable: {detail}")]
    CorruptData { user_id: String, detail: String },
    /// The session (or id) exceeds the configured limit; nothing was written.
    #[error("too large: {0}")]
    TooLarge(String),
    /// An atomic update spent its retry budget; the update was not applied.
    #[error("conflict: update of user {user_id:?} not applied after {attempts} attempts")]
    Conflict { user_id: String, attempts: u32 },
    /// The backend could not be reached or timed out before the request was sent.
    #[error("backend unavailable: {0}")]
    Unavailable(String),
    /// A write was sent but its reply never came: it may or may not have been applied.
    #[error("write outcome unknown: {0}")]
    OutcomeUnknown(String),
    /// A custom provider (or host callback) failed; the message is its own.
    #[error("provider failed: {0}")]
    Provider(String),
    /// A module call needs a current user and none is set.
    #[error("not authenticated: no current user")]
    NotAuthenticated,
    /// A bug in this library, or a caught panic.
    #[error("internal error: {0}")]
    Internal(String),
}

impl SessionError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            SessionError::InvalidArgument(_) => ErrorKind::InvalidArgument,
            SessionError::CorruptData { .. } => ErrorKind::CorruptData,
            SessionError::TooLarge(_) => ErrorKind::TooLarge,
            SessionError::Conflict { .. } => ErrorKind::Conflict,
            SessionError::Unavailable(_) => ErrorKind::Unavailable,
            SessionError::OutcomeUnknown(_) => ErrorKind::OutcomeUnknown,
            SessionError::Provider(_) => ErrorKind::Provider,
            SessionError::NotAuthenticated => ErrorKind::NotAuthenticated,
            SessionError::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        SessionError::InvalidArgument(msg.into())
    }

    pub(crate) fn corrupt(user_id: &str, detail: impl Into<String>) -> Self {
        SessionError::CorruptData { user_id: user_id.to_owned(), detail: detail.into() }
    }
}

pub type Result<T, E = SessionError> = std::result::Result<T, E>;
