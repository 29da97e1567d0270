//! C strings in and out: NULL and invalid UTF-8 are rejected; JSON is validated; returned
//! strings are freed by `poto_string_free`.

use std::ffi::{c_char, CStr, CString};

use poto_sessions::{Result, SessionData, SessionError};
use serde_json::Value;

/// A required NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the call.
pub unsafe fn str_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(SessionError::InvalidArgument(format!("{name} is NULL")));
    }
    CStr::from_ptr(ptr).to_str().map_err(|_| SessionError::InvalidArgument(format!("{name} is not valid UTF-8")))
}

pub use poto_sessions::value::{parse_session, parse_value as parse_json};

/// A required output pointer.
///
/// # Safety
/// `ptr` is NULL or valid for writes.
pub unsafe fn out_arg<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T> {
    ptr.as_mut().ok_or_else(|| SessionError::InvalidArgument(format!("{name} is NULL")))
}

/// Hands `text` to C; the caller frees it with `poto_string_free`. JSON text never holds a NUL
/// (it is escaped); plain text that does is refused rather than handed over as NULL.
pub fn to_c(text: String) -> Result<*mut c_char> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| SessionError::Internal("a result contains a NUL character, which a C string cannot hold".into()))
}

pub fn session_json(data: SessionData) -> String {
    Value::Object(data).to_string()
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `string` is NULL or was returned by a `poto_` function and not freed yet.
#[no_mangle]
pub unsafe extern "C" fn poto_string_free(string: *mut c_char) {
    if !string.is_null() {
        drop(CString::from_raw(string));
    }
}
