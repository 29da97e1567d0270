//! Custom providers written in C: a struct of function pointers with `user_data` and its
//! finalizer, usable wherever a built-in provider is.

use std::ffi::{c_char, c_int, c_void};
use std::mem::size_of;
use std::ptr::{addr_of, addr_of_mut};
use std::sync::Arc;

use poto_sessions::host::{host_provider, HostMethod};
use poto_sessions::{CustomOptions, OptionValue, Options, Result, SessionError};

use crate::call::guard;
use crate::callbacks::{poto_free_fn, UserData};
use crate::custom_adapter::CObject;
use crate::handles::{free_handle, new_handle, poto_provider, set_option};
use crate::status::poto_status;
use crate::strings::out_arg;

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

/// Options of `poto_custom_provider_new` (see `redis_options.rs` for why a builder): each setter
/// is one `CustomOptions::set` of the core's options schema. Not thread-safe while set up.
pub struct poto_custom_options {
    inner: CustomOptions,
}

/// New options with every default.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_custom_options_new(out: *mut *mut poto_custom_options) -> poto_status {
    guard(|| {
        new_handle(out_arg(out, "out")?, poto_custom_options { inner: CustomOptions::default() });
        Ok(())
    })
}

/// Frees options. NULL is ignored. Providers made from them do not need them.
///
/// # Safety
/// `options` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_custom_options_free(options: *mut poto_custom_options) {
    free_handle(options);
}

/// Largest session the library lets through to your `set_session` (default 1 MiB).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_custom_options_set_max_session_bytes(
    options: *mut poto_custom_options,
    max_bytes: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("max_session_bytes", OptionValue::Count(max_bytes)))
}

/// A provider backed by C functions. The library owns `callbacks->user_data` from this call
/// on, even when it fails (then `free_user_data` runs at once). `callbacks` itself is copied.
/// `options` NULL: every default.
///
/// # Safety
/// `callbacks` is NULL or valid for its `struct_size`, its functions honour the contract above;
/// `options` is NULL or live; `out` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn poto_custom_provider_new(
    callbacks: *const poto_provider_callbacks,
    options: *const poto_custom_options,
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
        let options = options.as_ref().map_or_else(CustomOptions::default, |o| o.inner.clone());
        let object = Arc::new(CObject::new(&c, user_data));
        new_handle(out, poto_provider { inner: host_provider(object, &options, HostMethod::snake_name)? });
        Ok(())
    })
}
