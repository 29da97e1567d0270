//! C callbacks: function pointer + `user_data` + finalizer (as wasmtime does). They run on the
//! library's blocking pool, never on a runtime worker, and may run on several threads at once.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::future::Future;

use async_trait::async_trait;
use poto_sessions::{runtime, Result, SessionData, SessionDefaults, SessionError};

use crate::call::fail;
use crate::status::poto_status;
use crate::strings::{parse_session, session_json};

/// Releases a `user_data` the library no longer needs.
pub type poto_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// Default data of a new session: receives the module's own defaults as JSON (`base_json`) and
/// may set `*out_json` to a `malloc`ed JSON object the library frees; leaving it NULL keeps
/// `base_json`. Returns 0 on success; anything else fails the call with `POTO_ERR_PROVIDER`
/// (message: `poto_callback_error`). A result that is not a JSON object fails it with
/// `POTO_ERR_INVALID_ARGUMENT`, as in Python and Node. Nothing is written on failure.
pub type poto_defaults_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        user_id: *const c_char,
        base_json: *const c_char,
        out_json: *mut *mut c_char,
    ) -> c_int,
>;

/// An update function: receives the session as JSON and sets `*out_json` to the `malloc`ed JSON
/// object to write (the library frees it); leaving it NULL writes the session unchanged. Returns
/// 0 on success; anything else aborts the update with `POTO_ERR_PROVIDER` (message:
/// `poto_callback_error`). A result that is not a JSON object aborts it with
/// `POTO_ERR_INVALID_ARGUMENT`, as in Python and Node. Nothing is written on failure. May be
/// called more than once when other writers race.
pub type poto_update_fn = Option<
    unsafe extern "C" fn(user_data: *mut c_void, session_json: *const c_char, out_json: *mut *mut c_char) -> c_int,
>;

/// Completion of an `_async` call: `status`, and `result` — the result as JSON text on
/// `POTO_OK` (`null` when there is none), else the error message. `result` is valid only during
/// the call. Runs on a library thread.
pub type poto_done_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, status: poto_status, result: *const c_char)>;

thread_local! {
    static CALLBACK_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Called from inside a callback before it returns non-zero: the message the caller of the
/// failed operation receives (`POTO_ERR_PROVIDER`). NULL clears it.
///
/// # Safety
/// `message` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn poto_callback_error(message: *const c_char) {
    let message = (!message.is_null()).then(|| CStr::from_ptr(message).to_string_lossy().into_owned());
    CALLBACK_ERROR.with(|slot| *slot.borrow_mut() = message);
}

/// The error of a callback that returned `code`.
pub fn callback_failed(what: &str, code: c_int) -> SessionError {
    let message = CALLBACK_ERROR.with(|slot| slot.borrow_mut().take());
    SessionError::Provider(message.unwrap_or_else(|| format!("{what} returned {code}")))
}

/// A raw pointer the C side promised may cross threads (documented in the header).
#[derive(Clone, Copy)]
pub struct SendPtr(pub *mut c_void);
unsafe impl Send for SendPtr {}
unsafe impl Sync for SendPtr {}

impl SendPtr {
    /// The pointer (a method, so closures capture the whole `SendPtr`).
    pub fn get(self) -> *mut c_void {
        self.0
    }
}

/// `user_data` with its finalizer, run once when the last owner drops it.
pub struct UserData {
    pub ptr: SendPtr,
    free: poto_free_fn,
}

impl UserData {
    pub fn new(ptr: *mut c_void, free: poto_free_fn) -> Self {
        UserData { ptr: SendPtr(ptr), free }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the finalizer was given with this user_data for exactly this call.
            unsafe { free(self.ptr.0) };
        }
    }
}

/// Runs C code on the blocking pool, so it never stalls a runtime worker.
pub async fn run_c<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    runtime::run_blocking(move || {
        CALLBACK_ERROR.with(|slot| slot.borrow_mut().take());
        f()
    })
    .await
}

/// Takes a `malloc`ed string returned by a callback. Text that is not UTF-8 is an invalid value,
/// as a non-object is (`custom.rs` turns both into a provider fault).
///
/// # Safety
/// `ptr` is NULL or a `malloc`ed NUL-terminated string nobody else frees.
pub unsafe fn take_c_string(ptr: *mut c_char, what: &str) -> Result<Option<String>> {
    if ptr.is_null() {
        return Ok(None);
    }
    let text = CStr::from_ptr(ptr).to_str().map(str::to_owned);
    libc::free(ptr.cast());
    text.map(Some).map_err(|_| SessionError::InvalidArgument(format!("{what} returned invalid UTF-8")))
}

/// The session a host function returned: its error if it reported one (`POTO_ERR_PROVIDER`),
/// else its text (NULL: `unchanged`), which must be a JSON object — anything else is
/// `POTO_ERR_INVALID_ARGUMENT`, as a Python or Node function returning a non-object is.
///
/// # Safety
/// As [`take_c_string`] for `out`.
unsafe fn returned_session(what: &str, code: c_int, out: *mut c_char, unchanged: &CString) -> Result<SessionData> {
    let returned = take_c_string(out, what);
    if code != 0 {
        return Err(callback_failed(what, code));
    }
    match returned? {
        Some(text) => parse_session(&text, &format!("{what} result")),
        None => parse_session(&unchanged.to_string_lossy(), &format!("{what} result")),
    }
}

pub fn c_string(text: &str) -> Result<CString> {
    CString::new(text).map_err(|_| SessionError::InvalidArgument("string contains a NUL character".into()))
}

/// [`SessionDefaults`] backed by a C function.
pub struct CDefaults {
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *mut c_char) -> c_int,
    user_data: std::sync::Arc<UserData>,
}

impl CDefaults {
    /// `None` when no function is given; the finalizer still runs then.
    pub fn new(f: poto_defaults_fn, user_data: *mut c_void, free: poto_free_fn) -> Option<Self> {
        let user_data = std::sync::Arc::new(UserData::new(user_data, free));
        f.map(|f| CDefaults { f, user_data })
    }
}

#[async_trait]
impl SessionDefaults for CDefaults {
    async fn create_default_session_data(&self, user_id: &str, base: SessionData) -> Result<SessionData> {
        let (f, user_data) = (self.f, self.user_data.clone());
        let (user_id, base_json) = (c_string(user_id)?, c_string(&session_json(base))?);
        run_c(move || {
            let mut out = std::ptr::null_mut();
            // SAFETY: arguments are valid NUL-terminated strings for the call's duration.
            let code = unsafe { f(user_data.ptr.0, user_id.as_ptr(), base_json.as_ptr(), &mut out) };
            unsafe { returned_session("defaults callback", code, out, &base_json) }
        })
        .await
    }
}

/// Calls a C update function with the session; returns the session to write.
pub async fn call_update(
    f: unsafe extern "C" fn(*mut c_void, *const c_char, *mut *mut c_char) -> c_int,
    user_data: SendPtr,
    data: SessionData,
) -> Result<SessionData> {
    let json = c_string(&session_json(data))?;
    run_c(move || {
        let mut out = std::ptr::null_mut();
        // SAFETY: `json` is valid for the call; `out` is ours.
        let code = unsafe { f(user_data.get(), json.as_ptr(), &mut out) };
        unsafe { returned_session("update callback", code, out, &json) }
    })
    .await
}

/// Starts `operation` on the hidden runtime and reports to `done` on the blocking pool, exactly
/// once: a panic in the operation (or in a task it waits on) is reported as `POTO_ERR_INTERNAL`.
pub fn spawn_done<F>(done: poto_done_fn, user_data: *mut c_void, operation: F) -> Result<()>
where
    F: Future<Output = Result<String>> + Send + 'static,
{
    let done = done.ok_or_else(|| SessionError::InvalidArgument("callback is NULL".into()))?;
    let user_data = SendPtr(user_data);
    let task = runtime::spawn_op(operation);
    runtime::spawn(async move {
        let outcome = task.await;
        let _ = tokio::task::spawn_blocking(move || {
            let (status, text) = match outcome {
                Ok(json) => (poto_status::POTO_OK, json),
                Err(error) => (fail(&error), error.to_string()),
            };
            let text = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
            // SAFETY: the host gave this callback and user_data for this completion.
            unsafe { done(user_data.get(), status, text.as_ptr()) };
        })
        .await;
    });
    Ok(())
}
