//! Provider operations on one user's session (DESIGN §3), each blocking and `_async`.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use poto_sessions::SessionText;

use crate::call::guard;
use crate::callbacks::{poto_done_fn, spawn_done};
use crate::handles::{duration_ms, poto_provider, provider_arg};
use crate::render::{blocking, rendered, Json, Op};
use crate::status::poto_status;
use crate::strings::{out_arg, str_arg, to_c};

unsafe fn get_op(provider: *const poto_provider, user_id: *const c_char) -> Op<Option<Json>> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    Ok(Box::pin(async move { Ok(p.get_session_json(&id).await?.map(Json)) }))
}

unsafe fn set_op(provider: *const poto_provider, user_id: *const c_char, json: *const c_char, ttl_ms: u64) -> Op<()> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    let session = SessionText::parse(str_arg(json, "session_json")?.to_owned(), "session_json")?;
    Ok(Box::pin(async move { p.set_session_text(&id, session, duration_ms(ttl_ms)).await }))
}

unsafe fn delete_op(provider: *const poto_provider, user_id: *const c_char) -> Op<()> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    Ok(Box::pin(async move { p.delete_session(&id).await }))
}

unsafe fn has_op(provider: *const poto_provider, user_id: *const c_char) -> Op<bool> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    Ok(Box::pin(async move { p.has_session(&id).await }))
}

unsafe fn touch_op(provider: *const poto_provider, user_id: *const c_char, ttl_ms: u64) -> Op<bool> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    Ok(Box::pin(async move { p.touch(&id, duration_ms(ttl_ms)).await }))
}

/// The session as JSON in `*out_json` (free with `poto_string_free`), or NULL when absent or
/// expired. Does not extend its life.
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_session(
    provider: *const poto_provider,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        let session = blocking(get_op(provider, user_id)?)?;
        *out = match session {
            Some(json) => to_c(json.0)?,
            None => null_mut(),
        };
        Ok(())
    })
}

/// Stores the whole session (a JSON object); `ttl_ms` 0: the provider's TTL.
///
/// # Safety
/// As `poto_provider_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_set_session(
    provider: *const poto_provider,
    user_id: *const c_char,
    session_json: *const c_char,
    ttl_ms: u64,
) -> poto_status {
    guard(|| blocking(set_op(provider, user_id, session_json, ttl_ms)?))
}

/// Deletes the session; no error when absent.
///
/// # Safety
/// As `poto_provider_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_delete_session(
    provider: *const poto_provider,
    user_id: *const c_char,
) -> poto_status {
    guard(|| blocking(delete_op(provider, user_id)?))
}

/// Whether a live session exists.
///
/// # Safety
/// As `poto_provider_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_has_session(
    provider: *const poto_provider,
    user_id: *const c_char,
    out: *mut bool,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = blocking(has_op(provider, user_id)?)?;
        Ok(())
    })
}

/// Restarts the session's TTL (`ttl_ms` 0: the provider's); `*out` false when absent.
/// `POTO_ERR_INVALID_ARGUMENT` for a custom provider (it declares no touch).
///
/// # Safety
/// As `poto_provider_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_touch(
    provider: *const poto_provider,
    user_id: *const c_char,
    ttl_ms: u64,
    out: *mut bool,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = blocking(touch_op(provider, user_id, ttl_ms)?)?;
        Ok(())
    })
}

/// `poto_provider_get_session` for event loops: `done` receives the session JSON or `null`.
///
/// # Safety
/// As `poto_provider_get_session`; `user_data` must stay valid until `done` runs.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(get_op(provider, user_id)?)))
}

/// `poto_provider_set_session` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_provider_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_set_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    session_json: *const c_char,
    ttl_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(set_op(provider, user_id, session_json, ttl_ms)?)))
}

/// `poto_provider_delete_session` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_provider_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_delete_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(delete_op(provider, user_id)?)))
}

/// `poto_provider_has_session` for event loops: `done` receives `true` or `false`.
///
/// # Safety
/// As `poto_provider_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_has_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(has_op(provider, user_id)?)))
}

/// `poto_provider_touch` for event loops: `done` receives `true` or `false`.
///
/// # Safety
/// As `poto_provider_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_touch_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    ttl_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(touch_op(provider, user_id, ttl_ms)?)))
}
