//! Custom providers written in C: a struct of function pointers with `user_data` and its
//! finalizer, usable wherever a built-in provider is.

use std::ffi::{c_char, c_int, c_void, CString};
use std::mem::size_of;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::custom::StampedProvider;
use poto_sessions::{Capabilities, CasOutcome, Result, SessionData, SessionError, SessionProvider, Versioned};
use serde_json::Value;

use crate::call::guard;
use crate::callbacks::{c_string, callback_failed, poto_free_fn, run_c, take_c_string, UserData};
use crate::handles::{new_handle, poto_provider};
use crate::status::poto_status;
use crate::strings::{out_arg, parse_json, parse_session, session_json};

/// A session store written in C. Every function returns 0 on success; anything else fails the
/// operation with `POTO_ERR_PROVIDER` and the message set by `poto_callback_error` (if any).
/// Strings the functions return through `out_json` must be allocated with `malloc`; the library
/// frees them. Sessions arrive already validated and stamped (`userId`, `createdAt`,
/// `lastActivity`); store them as given. `ttl_ms` 0 means your default TTL.
///
/// The functions run on library threads, possibly several at once: they must be thread-safe.
/// They must not call blocking `poto_` functions (those fail with `POTO_ERR_INVALID_ARGUMENT`
/// inside callbacks).
///
/// Zero it, set `struct_size`, then the functions: later releases add fields only at the end,
/// and read only the fields a caller's `struct_size` covers (docs/c-api.md, "ABI stability").
#[repr(C)]
pub struct poto_provider_callbacks {
    /// `sizeof(poto_provider_callbacks)` as the caller was compiled with it; any other value is
    /// `POTO_ERR_INVALID_ARGUMENT`.
    pub struct_size: usize,
    /// Passed to every function.
    pub user_data: *mut c_void,
    /// Called once with `user_data` when the provider is freed (or its creation fails); may be NULL.
    pub free_user_data: poto_free_fn,
    /// `*out_json`: the session (a JSON object), or NULL when absent or expired.
    pub get_session: poto_get_session_fn,
    /// Stores the session JSON (replacing any previous one) for `ttl_ms`.
    pub set_session: poto_set_session_fn,
    /// Removes the session; absent is not an error.
    pub delete_session: poto_delete_session_fn,
    /// `*out`: whether a live session exists.
    pub has_session: poto_has_session_fn,
    /// Removes sessions whose `lastActivity` is older than `max_age_ms`; `*out_removed` how many.
    pub cleanup_old_sessions: poto_cleanup_fn,
    /// `*out_json`: JSON array of the live sessions' user ids.
    pub get_active_sessions: poto_list_fn,
    /// Removes every session; `*out_removed` how many.
    pub clear: poto_count_fn,
    /// Optional: `*out` the number of live sessions (else the listing is counted).
    pub count: poto_count_fn,
    /// Optional, with `compare_and_set`: `*out_json` the session or NULL, `*out_version` a
    /// number that changes on every write and is never reused for the id (0 when absent).
    pub get_versioned: poto_get_versioned_fn,
    /// Optional, with `get_versioned`: stores the session only if its version is still
    /// `expected_version` (0: only if absent), atomically; `*out_new_version` the version it
    /// now has, or 0 when it did not store it.
    pub compare_and_set: poto_compare_and_set_fn,
}

/// `poto_provider_callbacks.get_session`.
pub type poto_get_session_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, user_id: *const c_char, out_json: *mut *mut c_char) -> c_int>;
/// `poto_provider_callbacks.set_session`.
pub type poto_set_session_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        user_id: *const c_char,
        session_json: *const c_char,
        ttl_ms: u64,
    ) -> c_int,
>;
/// `poto_provider_callbacks.delete_session`.
pub type poto_delete_session_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, user_id: *const c_char) -> c_int>;
/// `poto_provider_callbacks.has_session`.
pub type poto_has_session_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, user_id: *const c_char, out: *mut bool) -> c_int>;
/// `poto_provider_callbacks.cleanup_old_sessions`.
pub type poto_cleanup_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, max_age_ms: u64, out_removed: *mut u64) -> c_int>;
/// `poto_provider_callbacks.get_active_sessions`.
pub type poto_list_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, out_json: *mut *mut c_char) -> c_int>;
/// `poto_provider_callbacks.clear` and `.count`.
pub type poto_count_fn = Option<unsafe extern "C" fn(user_data: *mut c_void, out: *mut u64) -> c_int>;
/// `poto_provider_callbacks.get_versioned`.
pub type poto_get_versioned_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        user_id: *const c_char,
        out_json: *mut *mut c_char,
        out_version: *mut u64,
    ) -> c_int,
>;
/// `poto_provider_callbacks.compare_and_set`.
pub type poto_compare_and_set_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        user_id: *const c_char,
        expected_version: u64,
        session_json: *const c_char,
        ttl_ms: u64,
        out_new_version: *mut u64,
    ) -> c_int,
>;

struct CProvider {
    user_data: Arc<UserData>,
    get: poto_get_session_fn,
    set: poto_set_session_fn,
    delete: poto_delete_session_fn,
    has: poto_has_session_fn,
    cleanup: poto_cleanup_fn,
    list: poto_list_fn,
    clear: poto_count_fn,
    count: poto_count_fn,
    get_versioned: poto_get_versioned_fn,
    compare_and_set: poto_compare_and_set_fn,
}

/// A function checked present at creation (or an optional one the caller checked).
fn present<F>(f: Option<F>, name: &str) -> Result<F> {
    f.ok_or_else(|| SessionError::Internal(format!("provider callback {name} is NULL")))
}

fn check(name: &str, code: c_int) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(callback_failed(name, code))
    }
}

fn ttl_ms(ttl: Option<Duration>) -> u64 {
    ttl.map_or(0, |t| t.as_millis().min(u128::from(u64::MAX)) as u64)
}

/// A bad value from the store (not UTF-8, not JSON) is the store's fault, not the caller's.
fn provider_fault(error: SessionError) -> SessionError {
    match error {
        SessionError::InvalidArgument(message) => SessionError::Provider(message),
        other => other,
    }
}

/// Takes a string a store function returned (always, so it is freed even when the function
/// failed; its own error comes first); see [`provider_fault`].
///
/// # Safety
/// As [`take_c_string`].
unsafe fn take_text(ptr: *mut c_char, name: &str) -> Result<Option<String>> {
    take_c_string(ptr, name).map_err(provider_fault)
}

fn returned_session(text: Option<String>, name: &str) -> Result<Option<SessionData>> {
    text.map(|t| parse_session(&t, name).map_err(provider_fault)).transpose()
}

impl CProvider {
    /// Runs `f(user_data)` on the blocking pool.
    async fn call<T: Send + 'static>(&self, f: impl FnOnce(*mut c_void) -> Result<T> + Send + 'static) -> Result<T> {
        let user_data = self.user_data.clone();
        run_c(move || f(user_data.ptr.0)).await
    }
}

#[async_trait]
impl SessionProvider for CProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        let (get, id) = (present(self.get, "get_session")?, c_string(user_id)?);
        let text = self
            .call(move |ud| {
                let mut out = std::ptr::null_mut();
                let code = unsafe { get(ud, id.as_ptr(), &mut out) };
                let text = unsafe { take_text(out, "get_session") };
                check("get_session", code).and(text)
            })
            .await?;
        returned_session(text, "get_session result")
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        let (set, id, json) = (present(self.set, "set_session")?, c_string(user_id)?, c_string(&session_json(data))?);
        let ttl = ttl_ms(ttl);
        self.call(move |ud| check("set_session", unsafe { set(ud, id.as_ptr(), json.as_ptr(), ttl) })).await
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        let (delete, id) = (present(self.delete, "delete_session")?, c_string(user_id)?);
        self.call(move |ud| check("delete_session", unsafe { delete(ud, id.as_ptr()) })).await
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        let (has, id) = (present(self.has, "has_session")?, c_string(user_id)?);
        self.call(move |ud| {
            let mut out = false;
            check("has_session", unsafe { has(ud, id.as_ptr(), &mut out) }).map(|_| out)
        })
        .await
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        let (cleanup, max_age) = (present(self.cleanup, "cleanup_old_sessions")?, ttl_ms(Some(max_age)));
        self.call(move |ud| {
            let mut out = 0;
            check("cleanup_old_sessions", unsafe { cleanup(ud, max_age, &mut out) }).map(|_| out)
        })
        .await
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        let list = present(self.list, "get_active_sessions")?;
        let text = self
            .call(move |ud| {
                let mut out = std::ptr::null_mut();
                let code = unsafe { list(ud, &mut out) };
                let text = unsafe { take_text(out, "get_active_sessions") };
                check("get_active_sessions", code).and(text)
            })
            .await?;
        let ids =
            parse_json(&text.unwrap_or_else(|| "[]".into()), "get_active_sessions result").map_err(provider_fault)?;
        match ids {
            Value::Array(items) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => {
                        Err(SessionError::Provider(format!("get_active_sessions returned a non-string id {other}")))
                    }
                })
                .collect(),
            _ => Err(SessionError::Provider("get_active_sessions must return a JSON array".into())),
        }
    }

    async fn clear(&self) -> Result<u64> {
        let clear = present(self.clear, "clear")?;
        self.call(move |ud| {
            let mut out = 0;
            check("clear", unsafe { clear(ud, &mut out) }).map(|_| out)
        })
        .await
    }

    async fn count(&self) -> Result<u64> {
        let Some(count) = self.count else {
            return Ok(self.get_active_sessions().await?.len() as u64);
        };
        self.call(move |ud| {
            let mut out = 0;
            check("count", unsafe { count(ud, &mut out) }).map(|_| out)
        })
        .await
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { touch: false, versioned: self.get_versioned.is_some(), changes: false }
    }

    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        let get = present(self.get_versioned, "get_versioned")?;
        let id = c_string(user_id)?;
        let (text, version) = self
            .call(move |ud| {
                let (mut out, mut version) = (std::ptr::null_mut(), 0u64);
                let code = unsafe { get(ud, id.as_ptr(), &mut out, &mut version) };
                let text = unsafe { take_text(out, "get_versioned") };
                check("get_versioned", code).and(text).map(|text| (text, version))
            })
            .await?;
        Ok(returned_session(text, "get_versioned result")?.map(|data| Versioned { data, version }))
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let cas = present(self.compare_and_set, "compare_and_set")?;
        let (id, json): (CString, CString) = (c_string(user_id)?, c_string(&session_json(data))?);
        let (expected, ttl) = (expected.unwrap_or(0), ttl_ms(ttl));
        let version = self
            .call(move |ud| {
                let mut version = 0;
                let code = unsafe { cas(ud, id.as_ptr(), expected, json.as_ptr(), ttl, &mut version) };
                check("compare_and_set", code).map(|_| version)
            })
            .await?;
        Ok(if version > 0 { CasOutcome::Applied(version) } else { CasOutcome::Stale })
    }
}

/// `struct_size` of every released layout of `poto_provider_callbacks`, oldest first. A release
/// that appends fields appends its size here; older sizes stay accepted.
const KNOWN_SIZES: [usize; 1] = [size_of::<poto_provider_callbacks>()];

/// Copies the caller's callbacks, of whichever released layout; fields it predates stay NULL.
///
/// # Safety
/// `callbacks` points to a `poto_provider_callbacks` of the layout its `struct_size` names.
unsafe fn read_callbacks(callbacks: *const poto_provider_callbacks) -> Result<poto_provider_callbacks> {
    let size = addr_of!((*callbacks).struct_size).read();
    if !KNOWN_SIZES.contains(&size) {
        return Err(SessionError::InvalidArgument(format!(
            "callbacks->struct_size is {size}, not sizeof(poto_provider_callbacks) of any release (this one: {})",
            size_of::<poto_provider_callbacks>()
        )));
    }
    // SAFETY: all-zero is a valid value (NULL pointers, `None` functions), and `size` bytes are
    // readable by the caller's promise.
    let mut copy: poto_provider_callbacks = std::mem::zeroed();
    std::ptr::copy_nonoverlapping(callbacks.cast::<u8>(), addr_of_mut!(copy).cast::<u8>(), size);
    Ok(copy)
}

/// A provider backed by C functions. The library owns `callbacks->user_data` from this call
/// on, even when it fails (then `free_user_data` runs at once). `callbacks` itself is copied.
///
/// # Safety
/// `callbacks` is NULL or valid for its `struct_size`, its functions honour the contract above;
/// `out` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn poto_custom_provider_new(
    callbacks: *const poto_provider_callbacks,
    out: *mut *mut poto_provider,
) -> poto_status {
    guard(|| {
        if callbacks.is_null() {
            return Err(SessionError::InvalidArgument("callbacks is NULL".into()));
        }
        // `user_data` and its finalizer lead every layout: owned before any other check, so
        // they are released whatever fails (`struct_size` included).
        let user_data = Arc::new(UserData::new(
            addr_of!((*callbacks).user_data).read(),
            addr_of!((*callbacks).free_user_data).read(),
        ));
        let c = read_callbacks(callbacks)?;
        let out = out_arg(out, "out")?;
        let required = [
            ("get_session", c.get_session.is_some()),
            ("set_session", c.set_session.is_some()),
            ("delete_session", c.delete_session.is_some()),
            ("has_session", c.has_session.is_some()),
            ("cleanup_old_sessions", c.cleanup_old_sessions.is_some()),
            ("get_active_sessions", c.get_active_sessions.is_some()),
            ("clear", c.clear.is_some()),
        ];
        if let Some((name, _)) = required.iter().find(|(_, given)| !given) {
            return Err(SessionError::InvalidArgument(format!("callbacks->{name} is NULL")));
        }
        if c.get_versioned.is_some() != c.compare_and_set.is_some() {
            return Err(SessionError::InvalidArgument("get_versioned and compare_and_set go together".into()));
        }
        let provider = CProvider {
            user_data,
            get: c.get_session,
            set: c.set_session,
            delete: c.delete_session,
            has: c.has_session,
            cleanup: c.cleanup_old_sessions,
            list: c.get_active_sessions,
            clear: c.clear,
            count: c.count,
            get_versioned: c.get_versioned,
            compare_and_set: c.compare_and_set,
        };
        new_handle(out, poto_provider { inner: Arc::new(StampedProvider::new(Arc::new(provider))) });
        Ok(())
    })
}
