//! SessionError across the boundary (DESIGN §7), both ways as values, never as text to re-parse:
//!
//! - to JS: an instance of the package's `SessionError` class (lib/errors.js, registered at
//!   init) built here, its `code` that of the core's `ErrorKind::code()`;
//! - from JS: a callback's failure, replied with `replyError(id, code, message)`.

use std::ptr;
use std::sync::OnceLock;

use napi::bindgen_prelude::{ToNapiValue, Unknown};
use napi::{check_status, sys, Env};
use poto_sessions::{ErrorKind, SessionError};

/// A reference to the JS `SessionError` class, and the JS thread whose env holds it.
struct Class {
    reference: sys::napi_ref,
    thread: std::thread::ThreadId,
}

// SAFETY: the reference is created once, never released, and only dereferenced through napi
// calls made on the thread it was made on (`to_js` checks).
unsafe impl Send for Class {}
unsafe impl Sync for Class {}

static SESSION_ERROR: OnceLock<Class> = OnceLock::new();

/// Remembers the class failures are made of (`new SessionError(code, message)`).
pub fn init(env: sys::napi_env, class: sys::napi_value) -> napi::Result<()> {
    if SESSION_ERROR.get().is_some() {
        return Ok(());
    }
    let mut reference = ptr::null_mut();
    check_status!(unsafe { sys::napi_create_reference(env, class, 1, &mut reference) })?;
    let _ = SESSION_ERROR.set(Class { reference, thread: std::thread::current().id() });
    Ok(())
}

pub fn invalid(msg: impl Into<String>) -> SessionError {
    SessionError::InvalidArgument(msg.into())
}

/// `error` as a JS value: `new SessionError(code, message)`, or (before init, or on another JS
/// thread) a plain `Error` with the same `code` and `message`.
///
/// # Safety
/// `env` is the live env of the current (JS) thread.
pub unsafe fn to_js(env: sys::napi_env, error: &SessionError) -> napi::Result<sys::napi_value> {
    let code = unsafe { String::to_napi_value(env, error.kind().code().to_owned())? };
    let message = unsafe { String::to_napi_value(env, error.to_string())? };
    let mut out = ptr::null_mut();
    if let Some(Class { reference, .. }) = SESSION_ERROR.get().filter(|c| c.thread == std::thread::current().id()) {
        let mut class = ptr::null_mut();
        let args = [code, message];
        let made = unsafe {
            sys::napi_get_reference_value(env, *reference, &mut class) == sys::Status::napi_ok
                && sys::napi_new_instance(env, class, args.len(), args.as_ptr(), &mut out) == sys::Status::napi_ok
        };
        if made {
            return Ok(out);
        }
        // The class threw (it never does unless replaced): a plain Error still carries the code.
        let mut thrown = ptr::null_mut();
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut thrown) };
    }
    check_status!(unsafe { sys::napi_create_error(env, code, message, &mut out) })?;
    Ok(out)
}

/// A failure thrown to JS (by a constructor): the same `SessionError` object.
pub fn throw(env: &Env, error: SessionError) -> napi::Error {
    match unsafe { to_js(env.raw(), &error) } {
        Ok(value) => napi::Error::from(unsafe { Unknown::from_raw_unchecked(env.raw(), value) }),
        Err(e) => e,
    }
}

/// The failure a JS callback replied with. Only the caller's own mistakes (an invalid value, a
/// session too large) keep their kind; anything else is the provider failure it is. `message`
/// is the JS error's message, which for a `SessionError` already names its kind.
pub fn from_js(code: &str, message: String) -> SessionError {
    if code == ErrorKind::InvalidArgument.code() {
        SessionError::InvalidArgument(detail(message, SessionError::InvalidArgument))
    } else if code == ErrorKind::TooLarge.code() {
        SessionError::TooLarge(detail(message, SessionError::TooLarge))
    } else {
        SessionError::Provider(message)
    }
}

/// `message` without the words its kind's own message starts with (the core adds them again).
fn detail(message: String, kind: fn(String) -> SessionError) -> String {
    let prefix = kind(String::new()).to_string();
    match message.strip_prefix(prefix.as_str()) {
        Some(rest) => rest.to_owned(),
        None => message,
    }
}
