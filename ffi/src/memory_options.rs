//! In-memory provider options as an opaque builder (see `redis_options.rs` for why a builder).
//! Each setter is one `MemoryOptions::set` of the core's options schema, which checks the value.

use std::sync::Arc;

use poto_sessions::{InMemorySessionProvider, MemoryOptions, OptionValue, Options};

use crate::call::guard;
use crate::handles::{free_handle, millis, new_handle, poto_provider, set_option};
use crate::status::poto_status;
use crate::strings::out_arg;

/// Options of `poto_memory_provider_new`, with the defaults until a setter changes one. Not
/// thread-safe: set it up on one thread; it may be used for any number of providers.
pub struct poto_memory_options {
    inner: MemoryOptions,
}

/// New options with every default.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_options_new(out: *mut *mut poto_memory_options) -> poto_status {
    guard(|| {
        new_handle(out_arg(out, "out")?, poto_memory_options { inner: MemoryOptions::default() });
        Ok(())
    })
}

/// Frees options. NULL is ignored. Providers made from them do not need them.
///
/// # Safety
/// `options` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_options_free(options: *mut poto_memory_options) {
    free_handle(options);
}

/// Lifetime of a session after its last write or touch (default 24 h).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_options_set_ttl_ms(options: *mut poto_memory_options, ttl_ms: u64) -> poto_status {
    set_option(options, |o| o.inner.set("ttl", millis(ttl_ms)))
}

/// Largest session accepted, in bytes (default 1 MiB).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_options_set_max_session_bytes(
    options: *mut poto_memory_options,
    max_bytes: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("max_session_bytes", OptionValue::Count(max_bytes)))
}

/// An in-memory provider: the default store, not shared across processes. `options` NULL:
/// every default.
///
/// # Safety
/// `options` is NULL or live; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_provider_new(
    options: *const poto_memory_options,
    out: *mut *mut poto_provider,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        let options = options.as_ref().map_or_else(MemoryOptions::default, |o| o.inner.clone());
        new_handle(out, poto_provider { inner: Arc::new(InMemorySessionProvider::with_options(options)?) });
        Ok(())
    })
}
