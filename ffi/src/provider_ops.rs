//! Provider operations (DESIGN §3), each blocking and `_async`.

use std::ffi::{c_char, c_void};
use std::future::Future;
use std::ptr::null_mut;
use std::time::Duration;

use poto_sessions::{CasOutcome, Result};
use serde_json::json;

use crate::call::guard;
use crate::callbacks::{poto_done_fn, spawn_done};
use crate::handles::{duration_ms, poto_provider, provider_arg};
use crate::render::{blocking, rendered, Json};
use crate::status::poto_status;
use crate::strings::{out_arg, parse_session, session_json, str_arg, to_c};

type Op<T> = Result<std::pin::Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>>;

unsafe fn get_op(provider: *const poto_provider, user_id: *const c_char) -> Op<Option<Json>> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    Ok(Box::pin(async move { Ok(p.get_session_json(&id).await?.map(Json)) }))
}

unsafe fn set_op(provider: *const poto_provider, user_id: *const c_char, json: *const c_char, ttl_ms: u64) -> Op<()> {
    let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned());
    let data = parse_session(str_arg(json, "session_json")?, "session_json")?;
    Ok(Box::pin(async move { p.set_session(&id, data, duration_ms(ttl_ms)).await }))
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
    Ok(Box::pin(async move {
        if p.capabilities().touch {
            p.touch(&id, duration_ms(ttl_ms)).await
        } else {
            Err(poto_sessions::SessionError::InvalidArgument("this provider does not implement touch".into()))
        }
    }))
}

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

pub(crate) fn stats_json(stats: poto_sessions::SessionStats) -> Json {
    Json(json!({"activeSessions": stats.active_sessions, "userIds": stats.user_ids}).to_string())
}

unsafe fn count_op(provider: *const poto_provider) -> Op<u64> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { p.count().await }))
}

unsafe fn clear_op(provider: *const poto_provider) -> Op<u64> {
    let p = provider_arg(provider)?.inner.clone();
    Ok(Box::pin(async move { p.clear().await }))
}

/// The session as JSON in `*out_json` (free with `poto_string_free`), or NULL when absent or
/// expired. Does not extend its life.
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_get_session(
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
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_set_session(
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
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_delete_session(provider: *const poto_provider, user_id: *const c_char) -> poto_status {
    guard(|| blocking(delete_op(provider, user_id)?))
}

/// Whether a live session exists.
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_has_session(
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
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_touch(
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

/// Removes sessions idle for more than `max_age_ms`; `*out_removed` how many.
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_cleanup_old_sessions(
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
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_get_active_sessions(
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
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_get_stats(provider: *const poto_provider, out_json: *mut *mut c_char) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = to_c(blocking(stats_op(provider)?)?.0)?;
        Ok(())
    })
}

/// Number of live sessions, without listing them (cheap on Redis at any scale).
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_count(provider: *const poto_provider, out: *mut u64) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        *out = blocking(count_op(provider)?)?;
        Ok(())
    })
}

/// Removes every session of this provider (its prefix only); `*out_removed` how many.
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_clear(provider: *const poto_provider, out_removed: *mut u64) -> poto_status {
    guard(|| {
        let out = out_arg(out_removed, "out_removed")?;
        *out = blocking(clear_op(provider)?)?;
        Ok(())
    })
}

/// The session and its version (for `poto_compare_and_set`); `*out_json` NULL and
/// `*out_version` 0 when absent. `POTO_ERR_INVALID_ARGUMENT` if the provider is not versioned.
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_get_versioned(
    provider: *const poto_provider,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
    out_version: *mut u64,
) -> poto_status {
    guard(|| {
        let (out_json, out_version) = (out_arg(out_json, "out_json")?, out_arg(out_version, "out_version")?);
        let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?);
        require_versioned(&*p)?;
        let current = blocking(p.get_versioned(id))?;
        (*out_json, *out_version) = match current {
            Some(v) => (to_c(session_json(v.data))?, v.version),
            None => (null_mut(), 0),
        };
        Ok(())
    })
}

/// Writes the session only if its version is still `expected_version` (0: only if absent);
/// `*out_applied` tells whether it was written.
///
/// # Safety
/// As `poto_get_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_compare_and_set(
    provider: *const poto_provider,
    user_id: *const c_char,
    expected_version: u64,
    session_json: *const c_char,
    ttl_ms: u64,
    out_applied: *mut bool,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_applied, "out_applied")?;
        let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?);
        let data = parse_session(str_arg(session_json, "session_json")?, "session_json")?;
        require_versioned(&*p)?;
        let expected = (expected_version > 0).then_some(expected_version);
        let outcome = blocking(p.compare_and_set(id, expected, data, duration_ms(ttl_ms)))?;
        *out = matches!(outcome, CasOutcome::Applied(_));
        Ok(())
    })
}

fn require_versioned(p: &dyn poto_sessions::SessionProvider) -> Result<()> {
    if p.capabilities().versioned {
        Ok(())
    } else {
        Err(poto_sessions::SessionError::InvalidArgument("this provider does not implement compare-and-set".into()))
    }
}

/// `poto_get_session` for event loops: `done` receives the session JSON or `null`.
///
/// # Safety
/// As `poto_get_session`; `user_data` must stay valid until `done` runs.
#[no_mangle]
pub unsafe extern "C" fn poto_get_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(get_op(provider, user_id)?)))
}

/// `poto_set_session` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_set_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    session_json: *const c_char,
    ttl_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(set_op(provider, user_id, session_json, ttl_ms)?)))
}

/// `poto_delete_session` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_delete_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(delete_op(provider, user_id)?)))
}

/// `poto_has_session` for event loops: `done` receives `true` or `false`.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_has_session_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(has_op(provider, user_id)?)))
}

/// `poto_touch` for event loops: `done` receives `true` or `false`.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_touch_async(
    provider: *const poto_provider,
    user_id: *const c_char,
    ttl_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(touch_op(provider, user_id, ttl_ms)?)))
}

/// `poto_cleanup_old_sessions` for event loops: `done` receives the number removed.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_cleanup_old_sessions_async(
    provider: *const poto_provider,
    max_age_ms: u64,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(cleanup_op(provider, max_age_ms)?)))
}

/// `poto_get_active_sessions` for event loops: `done` receives the JSON array of ids.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_get_active_sessions_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(active_op(provider)?)))
}

/// `poto_get_stats` for event loops: `done` receives the stats JSON.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_get_stats_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(stats_op(provider)?)))
}

/// `poto_count` for event loops: `done` receives the count.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_count_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(count_op(provider)?)))
}

/// `poto_clear` for event loops: `done` receives the number removed.
///
/// # Safety
/// As `poto_get_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_clear_async(
    provider: *const poto_provider,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(clear_op(provider)?)))
}
