//! A C callbacks table as a host object of core's one custom-provider adapter
//! (`poto_sessions::host`): each function runs on the blocking pool and its typed result becomes
//! the JSON value `HostObject::call` documents. Which methods are required, the versioned pair
//! rule, the count and stats fallbacks, reading the results, stamping and the update lock all
//! come from core, as for Python and Node objects. A bad value a function returns (not UTF-8, not
//! JSON, not the expected shape) is the store's fault: `POTO_ERR_PROVIDER`.

use std::ffi::{c_char, c_int, c_void};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::host::{HostCall, HostMethod, HostObject};
use poto_sessions::{Result, SessionError};
use serde_json::{json, Value};

use crate::callbacks::{c_string, callback_failed, run_c, take_c_string, UserData};
use crate::custom::{
    poto_cleanup_fn, poto_compare_and_set_fn, poto_count_fn, poto_delete_session_fn, poto_get_session_fn,
    poto_get_versioned_fn, poto_has_session_fn, poto_list_fn, poto_provider_callbacks, poto_set_session_fn,
};
use crate::strings::{parse_json, session_json};

/// The functions of a callbacks table (plain function pointers: they cross threads freely).
#[derive(Clone, Copy)]
struct Functions {
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

/// A C store: its functions and the `user_data` they all receive.
pub(crate) struct CObject {
    functions: Functions,
    user_data: Arc<UserData>,
}

impl CObject {
    pub(crate) fn new(c: &poto_provider_callbacks, user_data: Arc<UserData>) -> Self {
        let functions = Functions {
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
        CObject { functions, user_data }
    }
}

#[async_trait]
impl HostObject for CObject {
    fn implements(&self, method: HostMethod) -> bool {
        let f = &self.functions;
        match method {
            HostMethod::GetSession => f.get.is_some(),
            HostMethod::SetSession => f.set.is_some(),
            HostMethod::DeleteSession => f.delete.is_some(),
            HostMethod::HasSession => f.has.is_some(),
            HostMethod::CleanupOldSessions => f.cleanup.is_some(),
            HostMethod::GetActiveSessions => f.list.is_some(),
            HostMethod::Clear => f.clear.is_some(),
            HostMethod::Count => f.count.is_some(),
            HostMethod::GetStats => false,
            HostMethod::GetVersioned => f.get_versioned.is_some(),
            HostMethod::CompareAndSet => f.compare_and_set.is_some(),
        }
    }

    async fn call(&self, call: HostCall) -> Result<Value> {
        let (functions, user_data) = (self.functions, self.user_data.clone());
        // SAFETY: the functions honour the contract of `poto_provider_callbacks` for this
        // `user_data`, which lives as long as the closure holds it.
        run_c(move || unsafe { functions.call(user_data.ptr.get(), call) }).await
    }
}

/// A function core only calls when the object implements it.
fn present<F>(f: Option<F>, method: HostMethod) -> Result<F> {
    f.ok_or_else(|| SessionError::Internal(format!("provider callback {} is NULL", method.snake_name())))
}

fn check(method: HostMethod, code: c_int) -> Result<()> {
    if code == 0 {
        Ok(())
    } else {
        Err(callback_failed(method.snake_name(), code))
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

/// The JSON text a function returned through `out` (always taken, so it is freed even when the
/// function failed; the function's own error comes first), parsed; `None` when it gave NULL.
///
/// # Safety
/// As [`take_c_string`].
unsafe fn returned_json(method: HostMethod, code: c_int, out: *mut c_char) -> Result<Option<Value>> {
    let name = method.snake_name();
    let text = take_c_string(out, name).map_err(provider_fault);
    check(method, code)?;
    text?.map(|text| parse_json(&text, &format!("{name} result")).map_err(provider_fault)).transpose()
}

/// A count a function returns through `*out`.
fn counted(method: HostMethod, f: impl FnOnce(*mut u64) -> c_int) -> Result<Value> {
    let mut out = 0u64;
    check(method, f(&mut out)).map(|_| json!(out))
}

impl Functions {
    /// Calls the function `call` names and returns its result as JSON.
    ///
    /// # Safety
    /// The functions honour the callbacks contract for `ud`.
    unsafe fn call(self, ud: *mut c_void, call: HostCall) -> Result<Value> {
        let method = call.method();
        match call {
            HostCall::GetSession { user_id } => {
                let (get, id) = (present(self.get, method)?, c_string(&user_id)?);
                let mut out = std::ptr::null_mut();
                let code = get(ud, id.as_ptr(), &mut out);
                Ok(returned_json(method, code, out)?.unwrap_or(Value::Null))
            }
            HostCall::SetSession { user_id, data, ttl } => {
                let set = present(self.set, method)?;
                let (id, json) = (c_string(&user_id)?, c_string(&session_json(data))?);
                check(method, set(ud, id.as_ptr(), json.as_ptr(), ttl_ms(ttl))).map(|_| Value::Null)
            }
            HostCall::DeleteSession { user_id } => {
                let (delete, id) = (present(self.delete, method)?, c_string(&user_id)?);
                check(method, delete(ud, id.as_ptr())).map(|_| Value::Null)
            }
            HostCall::HasSession { user_id } => {
                let (has, id) = (present(self.has, method)?, c_string(&user_id)?);
                let mut out = false;
                check(method, has(ud, id.as_ptr(), &mut out)).map(|_| Value::Bool(out))
            }
            HostCall::CleanupOldSessions { max_age } => {
                let cleanup = present(self.cleanup, method)?;
                counted(method, |out| cleanup(ud, ttl_ms(Some(max_age)), out))
            }
            HostCall::GetActiveSessions => {
                let list = present(self.list, method)?;
                let mut out = std::ptr::null_mut();
                let code = list(ud, &mut out);
                Ok(returned_json(method, code, out)?.unwrap_or_else(|| json!([])))
            }
            HostCall::Clear => {
                let clear = present(self.clear, method)?;
                counted(method, |out| clear(ud, out))
            }
            HostCall::Count => {
                let count = present(self.count, method)?;
                counted(method, |out| count(ud, out))
            }
            HostCall::GetStats => Err(SessionError::Internal("a C provider has no get_stats".into())),
            HostCall::GetVersioned { user_id } => {
                let (get, id) = (present(self.get_versioned, method)?, c_string(&user_id)?);
                let (mut out, mut version) = (std::ptr::null_mut(), 0u64);
                let code = get(ud, id.as_ptr(), &mut out, &mut version);
                Ok(match returned_json(method, code, out)? {
                    Some(data) => json!({ "data": data, "version": version }),
                    None => Value::Null,
                })
            }
            HostCall::CompareAndSet { user_id, expected, data, ttl } => {
                let cas = present(self.compare_and_set, method)?;
                let (id, json) = (c_string(&user_id)?, c_string(&session_json(data))?);
                let mut version = 0u64;
                let code = cas(ud, id.as_ptr(), expected.unwrap_or(0), json.as_ptr(), ttl_ms(ttl), &mut version);
                check(method, code).map(|_| if version > 0 { json!(version) } else { Value::Null })
            }
        }
    }
}
