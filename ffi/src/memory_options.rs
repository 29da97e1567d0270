//! In-memory provider options as an opaque builder (see `redis_options.rs` for why a builder).
//! Each setter records one `InMemorySessionProvider::with_*` step, applied at creation, where
//! the core checks the values.

use std::sync::Arc;
use std::time::Duration;

use poto_sessions::InMemorySessionProvider;

use crate::call::guard;
use crate::handles::{free_handle, new_handle, poto_provider, set_option};
use crate::status::poto_status;
use crate::strings::out_arg;

/// Options of `poto_memory_provider_new`, with the defaults until a setter changes one. Not
/// thread-safe: set it up on one thread; it may be used for any number of providers.
#[derive(Default)]
pub struct poto_memory_options {
    ttl: Option<Duration>,
    max_session_bytes: Option<usize>,
}

/// New options with every default.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_options_new(out: *mut *mut poto_memory_options) -> poto_status {
    guard(|| {
        new_handle(out_arg(out, "out")?, poto_memory_options::default());
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
    set_option(options, |o| {
        o.ttl = Some(Duration::from_millis(ttl_ms));
        Ok(())
    })
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
    set_option(options, |o| {
        o.max_session_bytes = Some(usize::try_from(max_bytes).unwrap_or(usize::MAX));
        Ok(())
    })
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
        let mut provider = InMemorySessionProvider::new();
        if let Some(o) = options.as_ref() {
            if let Some(ttl) = o.ttl {
                provider = provider.with_ttl(ttl)?;
            }
            if let Some(max) = o.max_session_bytes {
                provider = provider.with_max_session_bytes(max);
            }
        }
        new_handle(out, poto_provider { inner: Arc::new(provider) });
        Ok(())
    })
}
