//! Custom providers written in Python: any object with the seed's methods, sync or async. This
//! file only calls the object ([`HostObject`]); the core's `host_provider` checks it (required
//! methods, the versioned pair), reads its results, supplies count and stats, and applies the
//! custom-provider rules (validation, stamps, size limit).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::host::{host_provider, HostCall, HostMethod, HostObject};
use poto_sessions::{CustomOptions, Result, SessionError, SessionProvider};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};
use serde_json::Value;

use crate::convert::{result_to_json, session_to_py};
use crate::host::Host;

/// A Python provider object, as the core's adapter calls it.
struct PyObject {
    host: Host,
    methods: Vec<HostMethod>,
    /// The object's address: its key in [`ADAPTERS`].
    key: usize,
}

/// The adapter of each Python provider object that has one, by the object's address, with the
/// options it was made with. One adapter per object, however many modules or
/// `set_session_provider` calls wrap it, so they share its per-user update lock (core's lock is
/// keyed by the adapter).
///
/// Entries are weak: an adapter lives as long as a module or provider handle uses it, and while
/// it lives it holds its object, so the object's address cannot be reused by another object; a
/// dead entry is replaced, and removed when its adapter is dropped.
type Adapters = HashMap<usize, (Weak<dyn SessionProvider>, CustomOptions)>;
static ADAPTERS: Mutex<Option<Adapters>> = Mutex::new(None);

fn adapters() -> std::sync::MutexGuard<'static, Option<Adapters>> {
    ADAPTERS.lock().unwrap_or_else(|p| p.into_inner())
}

/// The live adapter of the object at `key`, with its options.
fn live(key: usize) -> Option<(Arc<dyn SessionProvider>, CustomOptions)> {
    let map = adapters();
    let (adapter, options) = map.as_ref()?.get(&key)?;
    Some((adapter.upgrade()?, options.clone()))
}

/// The one adapter of `object`. `options: None` takes the adapter the object has, if any, else
/// makes one with the default options; options given must be those the object was first
/// wrapped with while that adapter lives (an object has one adapter, so one set of options).
pub fn adapter_for(object: &Bound<'_, PyAny>, options: Option<CustomOptions>) -> Result<Arc<dyn SessionProvider>> {
    let key = object.as_ptr() as usize;
    let check = |(adapter, made_with): (Arc<dyn SessionProvider>, CustomOptions)| match &options {
        Some(asked) if *asked != made_with => Err(SessionError::InvalidArgument(format!(
            "this provider object is in use with max_session_bytes={}: one object has one set of options \
             (wrap it once and share the SessionProvider)",
            made_with.max_session_bytes
        ))),
        _ => Ok(adapter),
    };
    // Never call Python or drop an adapter while holding the map's lock (both can re-enter it).
    if let Some(existing) = live(key) {
        return check(existing);
    }
    let options = options.clone().unwrap_or_default();
    let host = Host::new(object.clone().unbind());
    let methods = HostMethod::REQUIRED
        .into_iter()
        .chain(HostMethod::OPTIONAL)
        .filter(|m| host.has_method(m.snake_name()))
        .collect();
    let made = host_provider(Arc::new(PyObject { host, methods, key }), &options, HostMethod::snake_name)?;
    let first = {
        let mut map = adapters();
        let map = map.get_or_insert_with(HashMap::new);
        // Another thread may have made one meanwhile (this one released the GIL): keep that.
        let first = map.get(&key).and_then(|(a, o)| Some((a.upgrade()?, o.clone())));
        if first.is_none() {
            map.insert(key, (Arc::downgrade(&made), options));
        }
        first
    };
    match first {
        Some(existing) => check(existing),
        None => Ok(made),
    }
}

impl Drop for PyObject {
    fn drop(&mut self) {
        // The object is still held (fields drop after this), so a live entry under this key
        // can only be a newer adapter of the same object: keep that one.
        if let Some(map) = adapters().as_mut() {
            if map.get(&self.key).is_some_and(|(w, _)| w.strong_count() == 0) {
                map.remove(&self.key);
            }
        }
    }
}

fn seconds(ttl: Option<Duration>) -> Option<f64> {
    ttl.map(|t| t.as_secs_f64())
}

/// The Python arguments of `call`: ids as `str`, sessions as `dict`, durations in seconds.
fn arguments(py: Python<'_>, call: HostCall) -> PyResult<Bound<'_, PyTuple>> {
    match call {
        HostCall::GetSession { user_id }
        | HostCall::DeleteSession { user_id }
        | HostCall::HasSession { user_id }
        | HostCall::GetVersioned { user_id } => PyTuple::new(py, [user_id]),
        HostCall::SetSession { user_id, data, ttl } => {
            (user_id, session_to_py(py, &data)?, seconds(ttl)).into_pyobject(py)
        }
        HostCall::CompareAndSet { user_id, expected, data, ttl } => {
            (user_id, expected, session_to_py(py, &data)?, seconds(ttl)).into_pyobject(py)
        }
        HostCall::CleanupOldSessions { max_age } => (max_age.as_secs_f64(),).into_pyobject(py),
        HostCall::GetActiveSessions | HostCall::Clear | HostCall::Count | HostCall::GetStats => Ok(PyTuple::empty(py)),
    }
}

/// A method's result as JSON (a `(dict, int)` tuple is an array, which the core accepts). Stats
/// may be a `SessionStats`-like object (`.active_sessions`, `.user_ids`) or a dict in either
/// spelling.
fn result(method: HostMethod, value: &Bound<'_, PyAny>) -> Result<Value> {
    let not_json = |e: SessionError| match e {
        SessionError::InvalidArgument(why) => {
            SessionError::Provider(format!("{} returned a value that is not JSON: {why}", method.snake_name()))
        }
        other => other,
    };
    if method == HostMethod::GetStats && value.cast::<PyDict>().is_err() && value.hasattr("user_ids").unwrap_or(false) {
        let field = |name: &str| value.getattr(name).map_err(|e| SessionError::Provider(e.to_string()));
        let mut stats = serde_json::Map::new();
        stats.insert("activeSessions".into(), result_to_json(&field("active_sessions")?).map_err(not_json)?);
        stats.insert("userIds".into(), result_to_json(&field("user_ids")?).map_err(not_json)?);
        return Ok(Value::Object(stats));
    }
    let mut value = result_to_json(value).map_err(not_json)?;
    if let (HostMethod::GetStats, Value::Object(stats)) = (method, &mut value) {
        for (snake, camel) in [("active_sessions", "activeSessions"), ("user_ids", "userIds")] {
            if let Some(v) = stats.remove(snake) {
                stats.insert(camel.into(), v);
            }
        }
    }
    Ok(value)
}

#[async_trait]
impl HostObject for PyObject {
    fn implements(&self, method: HostMethod) -> bool {
        self.methods.contains(&method)
    }

    async fn call(&self, call: HostCall) -> Result<Value> {
        let method = call.method();
        self.host
            .call(Some(method.snake_name()), move |py| arguments(py, call), move |value| result(method, value))
            .await
            .map_err(|(error, _)| error)
    }
}
