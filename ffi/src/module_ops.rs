//! Module operations (DESIGN §5) with the user id as an explicit argument, each blocking and
//! `_async`.

use std::ffi::{c_char, c_void};
use std::ptr::null_mut;

use poto_sessions::{NumberModel, PotoModule, Result, SessionError};

use crate::call::guard;
use crate::callbacks::{call_update, poto_done_fn, poto_update_fn, spawn_done, SendPtr};
use crate::handles::{module_arg, poto_module};
use crate::provider_store::stats_json;
use crate::render::{blocking, rendered, Json, Op};
use crate::status::poto_status;
use crate::strings::{out_arg, parse_json, session_json, str_arg, to_c};

unsafe fn generic_and_user(module: *const poto_module, user_id: *const c_char) -> Result<(PotoModule, String)> {
    Ok((module_arg(module)?.inner.clone(), str_arg(user_id, "user_id")?.to_owned()))
}

unsafe fn get_user_session_op(module: *const poto_module, user_id: *const c_char) -> Op<Json> {
    let (m, id) = generic_and_user(module, user_id)?;
    Ok(Box::pin(async move { Ok(Json(session_json(m.get_user_session_for(&id).await?))) }))
}

unsafe fn update_op(
    module: *const poto_module,
    user_id: *const c_char,
    update: poto_update_fn,
    user_data: *mut c_void,
) -> Op<Json> {
    let (m, id) = generic_and_user(module, user_id)?;
    let update = update.ok_or_else(|| SessionError::InvalidArgument("update function is NULL".into()))?;
    let user_data = SendPtr(user_data);
    Ok(Box::pin(async move {
        let written =
            m.update_user_session_with(&id, NumberModel::Doubles, |data| call_update(update, user_data, data)).await?;
        Ok(Json(session_json(written)))
    }))
}

unsafe fn delete_op(module: *const poto_module, user_id: *const c_char) -> Op<()> {
    let (m, id) = generic_and_user(module, user_id)?;
    Ok(Box::pin(async move { m.delete_user_session_for(&id).await }))
}

unsafe fn stats_op(module: *const poto_module) -> Op<Json> {
    let m = module_arg(module)?.inner.clone();
    Ok(Box::pin(async move { Ok(stats_json(m.get_session_stats().await?)) }))
}

unsafe fn set_value_op(
    module: *const poto_module,
    user_id: *const c_char,
    key: *const c_char,
    value_json: *const c_char,
) -> Op<()> {
    let (m, id) = generic_and_user(module, user_id)?;
    let key = str_arg(key, "key")?.to_owned();
    let value = parse_json(str_arg(value_json, "value_json")?, "value_json")?;
    Ok(Box::pin(async move { m.set_session_value_for(&id, &key, value).await }))
}

unsafe fn get_value_op(module: *const poto_module, user_id: *const c_char, key: *const c_char) -> Op<Option<Json>> {
    let (m, id) = generic_and_user(module, user_id)?;
    let key = str_arg(key, "key")?.to_owned();
    Ok(Box::pin(async move { Ok(m.get_session_value_for(&id, &key).await?.map(|v| Json(v.to_string()))) }))
}

/// The user's session as JSON, created from the defaults when absent; extends its life.
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_user_session(
    module: *const poto_module,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = to_c(blocking(get_user_session_op(module, user_id)?)?.0)?;
        Ok(())
    })
}

/// Applies `update` to the user's session atomically (no concurrent write is lost) and returns
/// the session written in `*out_json` (may be NULL if not wanted). `update` may run more than
/// once under contention and runs on a library thread; if it fails, nothing is written.
///
/// # Safety
/// As `poto_module_get_user_session`; `user_data` is valid until the call returns.
#[no_mangle]
pub unsafe extern "C" fn poto_module_update_user_session(
    module: *const poto_module,
    user_id: *const c_char,
    update: poto_update_fn,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let written = blocking(update_op(module, user_id, update, user_data)?)?;
        if let Some(out) = out_json.as_mut() {
            *out = to_c(written.0)?;
        }
        Ok(())
    })
}

/// Deletes the user's session.
///
/// # Safety
/// As `poto_module_get_user_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_delete_user_session(
    module: *const poto_module,
    user_id: *const c_char,
) -> poto_status {
    guard(|| blocking(delete_op(module, user_id)?))
}

/// `{"activeSessions": n, "userIds": [...]}` of the module's provider.
///
/// # Safety
/// As `poto_module_get_user_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_session_stats(
    module: *const poto_module,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = to_c(blocking(stats_op(module)?)?.0)?;
        Ok(())
    })
}

/// Sets one top-level key to `value_json` (any JSON value) in one atomic step that does not
/// conflict with writes to other keys; creates the session from the defaults first if absent.
///
/// # Safety
/// As `poto_module_get_user_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_session_value(
    module: *const poto_module,
    user_id: *const c_char,
    key: *const c_char,
    value_json: *const c_char,
) -> poto_status {
    guard(|| blocking(set_value_op(module, user_id, key, value_json)?))
}

/// One top-level value as JSON in `*out_json`, or NULL when unset.
///
/// # Safety
/// As `poto_module_get_user_session`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_session_value(
    module: *const poto_module,
    user_id: *const c_char,
    key: *const c_char,
    out_json: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_json, "out_json")?;
        *out = match blocking(get_value_op(module, user_id, key)?)? {
            Some(json) => to_c(json.0)?,
            None => null_mut(),
        };
        Ok(())
    })
}

/// `poto_module_get_user_session` for event loops: `done` receives the session JSON.
///
/// # Safety
/// As `poto_module_get_user_session`; `user_data` valid until `done` runs.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_user_session_async(
    module: *const poto_module,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(get_user_session_op(module, user_id)?)))
}

/// `poto_module_update_user_session` for event loops: `done` receives the session written.
/// `update_user_data` must stay valid until `done` runs.
///
/// # Safety
/// As `poto_module_get_user_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_update_user_session_async(
    module: *const poto_module,
    user_id: *const c_char,
    update: poto_update_fn,
    update_user_data: *mut c_void,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(update_op(module, user_id, update, update_user_data)?)))
}

/// `poto_module_delete_user_session` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_module_get_user_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_delete_user_session_async(
    module: *const poto_module,
    user_id: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(delete_op(module, user_id)?)))
}

/// `poto_module_get_session_stats` for event loops: `done` receives the stats JSON.
///
/// # Safety
/// As `poto_module_get_user_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_session_stats_async(
    module: *const poto_module,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(stats_op(module)?)))
}

/// `poto_module_set_session_value` for event loops: `done` receives `null`.
///
/// # Safety
/// As `poto_module_get_user_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_set_session_value_async(
    module: *const poto_module,
    user_id: *const c_char,
    key: *const c_char,
    value_json: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(set_value_op(module, user_id, key, value_json)?)))
}

/// `poto_module_get_session_value` for event loops: `done` receives the value or `null`.
///
/// # Safety
/// As `poto_module_get_user_session_async`.
#[no_mangle]
pub unsafe extern "C" fn poto_module_get_session_value_async(
    module: *const poto_module,
    user_id: *const c_char,
    key: *const c_char,
    done: poto_done_fn,
    user_data: *mut c_void,
) -> poto_status {
    guard(|| spawn_done(done, user_data, rendered(get_value_op(module, user_id, key)?)))
}
