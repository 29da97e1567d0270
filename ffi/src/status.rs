//! Status codes: every function returns one (DESIGN §7).

use std::ffi::{c_char, c_int, CStr};

use poto_sessions::ErrorKind;

/// Result of every `poto_` call. On anything but `POTO_OK`, `poto_last_error_message()` tells
/// why, and no output argument was written.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types)]
pub enum poto_status {
    POTO_OK = 0,
    /// Bad argument: NULL pointer, invalid UTF-8, malformed or non-object JSON, bad id or TTL.
    POTO_ERR_INVALID_ARGUMENT = 1,
    /// The stored session cannot be read back; the message names the user.
    POTO_ERR_CORRUPT_DATA = 2,
    /// Session or id over the limit; nothing written.
    POTO_ERR_TOO_LARGE = 3,
    /// An atomic update spent its retry budget; it was not applied.
    POTO_ERR_CONFLICT = 4,
    /// Backend unreachable or timed out before the request was sent.
    POTO_ERR_UNAVAILABLE = 5,
    /// A write was sent but its reply never came: it may or may not be applied.
    POTO_ERR_OUTCOME_UNKNOWN = 6,
    /// A custom provider or callback failed; the message is its own.
    POTO_ERR_PROVIDER = 7,
    /// No current user.
    POTO_ERR_NOT_AUTHENTICATED = 8,
    /// A bug in the library (including a caught panic).
    POTO_ERR_INTERNAL = 9,
}

impl From<ErrorKind> for poto_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => poto_status::POTO_ERR_INVALID_ARGUMENT,
            ErrorKind::CorruptData => poto_status::POTO_ERR_CORRUPT_DATA,
            ErrorKind::TooLarge => poto_status::POTO_ERR_TOO_LARGE,
            ErrorKind::Conflict => poto_status::POTO_ERR_CONFLICT,
            ErrorKind::Unavailable => poto_status::POTO_ERR_UNAVAILABLE,
            ErrorKind::OutcomeUnknown => poto_status::POTO_ERR_OUTCOME_UNKNOWN,
            ErrorKind::Provider => poto_status::POTO_ERR_PROVIDER,
            ErrorKind::NotAuthenticated => poto_status::POTO_ERR_NOT_AUTHENTICATED,
            ErrorKind::Internal => poto_status::POTO_ERR_INTERNAL,
        }
    }
}

/// The name of a status, e.g. `"POTO_ERR_CONFLICT"`; `"POTO_UNKNOWN"` for a number that is no
/// `poto_status`. A static string, never freed.
#[no_mangle]
pub extern "C" fn poto_status_name(status: c_int) -> *const c_char {
    // An `int`, not the enum: C may pass any number, and an out-of-range enum is undefined in Rust.
    const NAMES: [(poto_status, &CStr); 10] = [
        (poto_status::POTO_OK, c"POTO_OK"),
        (poto_status::POTO_ERR_INVALID_ARGUMENT, c"POTO_ERR_INVALID_ARGUMENT"),
        (poto_status::POTO_ERR_CORRUPT_DATA, c"POTO_ERR_CORRUPT_DATA"),
        (poto_status::POTO_ERR_TOO_LARGE, c"POTO_ERR_TOO_LARGE"),
        (poto_status::POTO_ERR_CONFLICT, c"POTO_ERR_CONFLICT"),
        (poto_status::POTO_ERR_UNAVAILABLE, c"POTO_ERR_UNAVAILABLE"),
        (poto_status::POTO_ERR_OUTCOME_UNKNOWN, c"POTO_ERR_OUTCOME_UNKNOWN"),
        (poto_status::POTO_ERR_PROVIDER, c"POTO_ERR_PROVIDER"),
        (poto_status::POTO_ERR_NOT_AUTHENTICATED, c"POTO_ERR_NOT_AUTHENTICATED"),
        (poto_status::POTO_ERR_INTERNAL, c"POTO_ERR_INTERNAL"),
    ];
    let name = NAMES.iter().find(|(s, _)| *s as c_int == status).map_or(c"POTO_UNKNOWN", |(_, name)| *name);
    name.as_ptr()
}
