//! The provider over a C callbacks table: calls each function on the blocking pool and reads
//! what it returns. Results the store gets wrong are the store's fault (`POTO_ERR_PROVIDER`).

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::{CasOutcome, Result, SessionData, SessionError, SessionProvider, Versioned, VersionedProvider};
use serde_json::Value;

use crate::callbacks::{c_string, callback_failed, run_c, take_c_string, UserData};
use crate::custom::{
    poto_cleanup_fn, poto_compare_and_set_fn, poto_count_fn, poto_delete_session_fn, poto_get_session_fn,
    poto_get_versioned_fn, poto_has_session_fn, poto_list_fn, poto_provider_callbacks, poto_set_session_fn,
};
use crate::strings::{parse_json, parse_session, session_json};

pub(crate) struct CProvider {
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
    /// The provider over `c`, whose required functions the caller checked.
    pub(crate) fn new(c: &poto_provider_callbacks, user_data: Arc<UserData>) -> Self {
        CProvider {
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
        }
    }

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

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        self.get_versioned.is_some().then_some(self as &dyn VersionedProvider)
    }
}

#[async_trait]
impl VersionedProvider for CProvider {
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
