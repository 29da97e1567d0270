//! Custom providers written in Python: any object with the seed's methods, sync or async.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::custom::StampedProvider;
use poto_sessions::{CasOutcome, Result, SessionData, SessionError, SessionProvider, Versioned, VersionedProvider};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::convert::{session_to_py, to_session};
use crate::host::Host;

pub struct PyProvider {
    host: Host,
    count: bool,
    versioned: bool,
    /// The object's address: its key in [`ADAPTERS`].
    key: usize,
}

/// The adapter of each Python provider object that has one, by the object's address. One
/// adapter per object, however many modules or `set_session_provider` calls wrap it, so they
/// share its per-user update lock (core's lock is keyed by the adapter).
///
/// Entries are weak: an adapter lives as long as a module or provider handle uses it, and while
/// it lives it holds its object, so the object's address cannot be reused by another object; a
/// dead entry is replaced, and removed when its adapter is dropped.
static ADAPTERS: Mutex<Option<HashMap<usize, Weak<dyn SessionProvider>>>> = Mutex::new(None);

fn adapters() -> std::sync::MutexGuard<'static, Option<HashMap<usize, Weak<dyn SessionProvider>>>> {
    ADAPTERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The one adapter (custom provider rules applied by [`StampedProvider`]) of `object`.
pub fn adapter_for(object: &Bound<'_, PyAny>) -> Result<Arc<dyn SessionProvider>> {
    let key = object.as_ptr() as usize;
    // Never call Python or drop an adapter while holding the map's lock (both can re-enter it).
    let live = adapters().as_ref().and_then(|map| map.get(&key)).and_then(Weak::upgrade);
    if let Some(adapter) = live {
        return Ok(adapter);
    }
    let made: Arc<dyn SessionProvider> =
        Arc::new(StampedProvider::new(Arc::new(PyProvider::new(object.clone().unbind(), key)?)));
    let first = {
        let mut map = adapters();
        let map = map.get_or_insert_with(HashMap::new);
        // Another thread may have made one meanwhile (this one released the GIL): keep that.
        let first = map.get(&key).and_then(Weak::upgrade);
        if first.is_none() {
            map.insert(key, Arc::downgrade(&made));
        }
        first
    };
    Ok(first.unwrap_or(made))
}

impl Drop for PyProvider {
    fn drop(&mut self) {
        // The object is still held (fields drop after this), so a live entry under this key
        // can only be a newer adapter of the same object: keep that one.
        if let Some(map) = adapters().as_mut() {
            if map.get(&self.key).is_some_and(|w| w.strong_count() == 0) {
                map.remove(&self.key);
            }
        }
    }
}

fn seconds(ttl: Option<Duration>) -> Option<f64> {
    ttl.map(|t| t.as_secs_f64())
}

fn bad_return(method: &str, what: &str) -> SessionError {
    SessionError::Provider(format!("{method} must return {what}"))
}

impl PyProvider {
    fn new(object: Py<PyAny>, key: usize) -> Result<Self> {
        let host = Host::new(object);
        let missing: Vec<&str> = [
            "get_session",
            "set_session",
            "delete_session",
            "has_session",
            "cleanup_old_sessions",
            "get_active_sessions",
            "clear",
        ]
        .into_iter()
        .filter(|m| !host.has_method(m))
        .collect();
        if !missing.is_empty() {
            return Err(SessionError::InvalidArgument(format!("custom provider lacks {}", missing.join(", "))));
        }
        let (get_versioned, cas) = (host.has_method("get_versioned"), host.has_method("compare_and_set"));
        if get_versioned != cas {
            return Err(SessionError::InvalidArgument("get_versioned and compare_and_set go together".into()));
        }
        Ok(PyProvider { count: host.has_method("count"), versioned: get_versioned, host, key })
    }

    fn extract<T: for<'a, 'py> FromPyObject<'a, 'py>>(value: Py<PyAny>, method: &str, what: &str) -> Result<T> {
        Python::attach(|py| value.bind(py).extract::<T>().map_err(|_| bad_return(method, what)))
    }

    fn session(value: Py<PyAny>, method: &str) -> Result<Option<SessionData>> {
        Python::attach(|py| {
            let value = value.bind(py);
            if value.is_none() {
                return Ok(None);
            }
            to_session(value).map(Some).map_err(|_| bad_return(method, "a dict or None"))
        })
    }
}

fn args1(user_id: &str) -> impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static {
    let user_id = user_id.to_owned();
    move |py| PyTuple::new(py, [user_id])
}

#[async_trait]
impl SessionProvider for PyProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        let value = self.host.call_provider("get_session", args1(user_id)).await?;
        Self::session(value, "get_session")
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        let user_id = user_id.to_owned();
        self.host
            .call_provider("set_session", move |py| {
                (user_id, session_to_py(py, &data)?, seconds(ttl)).into_pyobject(py)
            })
            .await
            .map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        self.host.call_provider("delete_session", args1(user_id)).await.map(|_| ())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        let value = self.host.call_provider("has_session", args1(user_id)).await?;
        Self::extract(value, "has_session", "a bool")
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        let secs = max_age.as_secs_f64();
        let value = self.host.call_provider("cleanup_old_sessions", move |py| (secs,).into_pyobject(py)).await?;
        Self::extract(value, "cleanup_old_sessions", "an int")
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        let value = self.host.call_provider("get_active_sessions", |py| Ok(PyTuple::empty(py))).await?;
        Self::extract(value, "get_active_sessions", "a list of str")
    }

    async fn clear(&self) -> Result<u64> {
        let value = self.host.call_provider("clear", |py| Ok(PyTuple::empty(py))).await?;
        Self::extract(value, "clear", "an int")
    }

    async fn count(&self) -> Result<u64> {
        if !self.count {
            return Ok(self.get_active_sessions().await?.len() as u64);
        }
        let value = self.host.call_provider("count", |py| Ok(PyTuple::empty(py))).await?;
        Self::extract(value, "count", "an int")
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        self.versioned.then_some(self as &dyn VersionedProvider)
    }
}

#[async_trait]
impl VersionedProvider for PyProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        let value = self.host.call_provider("get_versioned", args1(user_id)).await?;
        let pair: Option<(Py<PyAny>, u64)> = Self::extract(value, "get_versioned", "(dict, int) or None")?;
        match pair {
            None => Ok(None),
            Some((data, version)) => {
                let data = Self::session(data, "get_versioned")?
                    .ok_or_else(|| bad_return("get_versioned", "(dict, int) or None"))?;
                Ok(Some(Versioned { data, version }))
            }
        }
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let user_id = user_id.to_owned();
        let value = self
            .host
            .call_provider("compare_and_set", move |py| {
                (user_id, expected, session_to_py(py, &data)?, seconds(ttl)).into_pyobject(py)
            })
            .await?;
        let version: Option<u64> = Python::attach(|py| {
            let value = value.bind(py);
            if value.is_none() || value.is_instance_of::<pyo3::types::PyBool>() && !value.is_truthy()? {
                return Ok(None);
            }
            value.extract::<u64>().map(Some)
        })
        .map_err(|_: PyErr| bad_return("compare_and_set", "the new version (int), or None when not applied"))?;
        Ok(match version {
            Some(v) if v > 0 => CasOutcome::Applied(v),
            _ => CasOutcome::Stale,
        })
    }
}
