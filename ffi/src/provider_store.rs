//! Provider operations on the whole store (DESIGN §3): cleanup, listing, stats, count, clear,
//! each blocking and `_async`.

use std::ffi::{c_char, c_void};
use std::time::Duration;

use serde_json::json;

use crate::call::guard;
use crate::callbacks::{poto_done_fn, spawn_done};
use crate::handles::{poto_provider, provider_arg};
use crate::render::{blocking, rendered, Json, Op};
use crate::status::poto_status;
use crate::strings::{out_arg, to_c};

unsafe fn cleanup_op(provider: *const poto_provider, max_age_ms: u64) -> Op<u64> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { p.cleanup_old_sessions(Duration::from_millis(max_age_ms)).await }))
}

unsafe fn active_op(provider: *const poto_provider) -> Op<Json> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { Ok(Json(json!(p.get_active_sessions().await?).to_string())) }))
}

unsafe fn stats_op(provider: *const poto_provider) -> Op<Json> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { Ok(stats_json(p.get_stats().await?)) }))
}

/// The stats JSON shape of DESIGN §1, shared with `poto_module_get_session_stats`.
pub(crate) fn stats_json(stats: poto_sessions::SessionStats) -> Json {
    Json(stats.to_json().to_string())
}

unsafe fn count_op(provider: *const poto_provider) -> Op<u64> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { p.count().await }))
}

unsafe fn clear_op(provider: *const poto_provider) -> Op<u64> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { p.clear().await }))
}

/// Removes sessions idle for more than `max_age_ms`; `*out_removed` how many.
///
/// # Safety
/// Pointers are NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_cleanup_old_sessions(
    provider: *const poto_provider,
    max_age_ms: u64,
    out_removed: *mut u64,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_removed, "out_removed")?;
        *out = blocking(cleanup_op(provider, max_age_ms)?)?;
        Ok(())
    })
}

/// The ids of live sessions as a JSON array of strings.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_active_sessions(
    provider: *const poto_provider,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = to_c(blocking(active_op(provider)?)?.0)?;
        Ok(())
    })
}

/// `{"activeSessions": n, "userIds": [...]}`.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_stats(
    provider: *const poto_provider,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = to_c(blocking(stats_op(provider)?)?.0)?;
        Ok(())
    })
}

/// Number of live sessions, without listing them (cheap on Redis at any scale).
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_count(provider: *const poto_provider, out: *mut u64) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = blocking(count_op(provider)?)?;
        Ok(())
    })
}

/// Removes every session of this provider (its prefix only); `*out_removed` how many.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_clear(provider: *const poto_provider, out_removed: *mut u64) -> poto_status {
    guard(|| {
        let out = out_arg(out_removed, "out_removed")?;
        *out = blocking(clear_op(provider)?)?;
        Ok(())
    })
}

/// `poto_provider_cleanup_old_sessions` for event loops: `done` receives the number removed.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions`; `user_data` must stay valid until `done` runs.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_cleanup_old_sessions_async(
    provider: *const poto_provider,
    max_age_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(cleanup_op(provider, max_age_ms)?)))
}

/// `poto_provider_get_active_sessions` for event loops: `done` receives the JSON array of ids.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_active_sessions_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(active_op(provider)?)))
}

/// `poto_provider_get_stats` for event loops: `done` receives the stats JSON.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_stats_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(stats_op(provider)?)))
}

/// `poto_provider_count` for event loops: `done` receives the count.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_count_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(count_op(provider)?)))
}

/// `poto_provider_clear` for event loops: `done` receives the number removed.
///
/// # Safety
/// As `poto_provider_cleanup_old_sessions_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_clear_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(clear_op(provider)?)))
}
