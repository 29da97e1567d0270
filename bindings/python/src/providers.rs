//! `SessionProvider` and the built-in providers as Python classes. Methods return awaitables;
//! each has a `_sync` twin for synchronous frameworks (the GIL is released while Rust works).

use std::sync::Arc;
use std::time::Duration;

use poto_sessions::{RedisOptions, RetryPolicy, SessionError, SessionProvider};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{session_to_py, to_session, Session, Text};
use crate::errors::to_py;
use crate::runtime::{awaitable, blocking};

/// `{activeSessions, userIds}` of the seed, as attributes.
#[pyclass(frozen, get_all, module = "poto_sessions._native")]
pub struct SessionStats {
    pub active_sessions: u64,
    pub user_ids: Vec<String>,
}

#[pymethods]
impl SessionStats {
    fn __repr__(&self) -> String {
        format!("SessionStats(active_sessions={}, user_ids={:?})", self.active_sessions, self.user_ids)
    }
}

impl From<poto_sessions::SessionStats> for SessionStats {
    fn from(stats: poto_sessions::SessionStats) -> Self {
        SessionStats { active_sessions: stats.active_sessions, user_ids: stats.user_ids }
    }
}

/// A duration given in seconds (`int`/`float`) or as a `timedelta`; `None` stays `None`.
pub fn duration(value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Duration>> {
    let Some(value) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    let seconds: f64 = match value.hasattr("total_seconds")? {
        true => value.call_method0("total_seconds")?.extract()?,
        false => value
            .extract()
            .map_err(|_| to_py(SessionError::InvalidArgument(format!("{name} must be seconds or a timedelta"))))?,
    };
    Duration::try_from_secs_f64(seconds)
        .map(Some)
        .map_err(|_| to_py(SessionError::InvalidArgument(format!("{name} must be a non-negative number of seconds"))))
}

/// Base class of every provider made by this package.
#[pyclass(subclass, frozen, name = "SessionProvider", module = "poto_sessions._native")]
pub struct NativeProvider {
    pub inner: Arc<dyn SessionProvider>,
}

/// The store behind `object`: a provider of this package, or a custom provider object.
pub fn provider_of(object: &Bound<'_, PyAny>) -> PyResult<Arc<dyn SessionProvider>> {
    if let Ok(native) = object.cast::<NativeProvider>() {
        return Ok(native.get().inner.clone());
    }
    crate::custom::adapter_for(object).map_err(to_py)
}

#[pymethods]
impl NativeProvider {
    /// Wraps a custom provider object (any object with the provider methods).
    #[staticmethod]
    fn wrap(object: &Bound<'_, PyAny>) -> PyResult<NativeProvider> {
        Ok(NativeProvider { inner: provider_of(object)? })
    }

    fn get_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { Ok(p.get_session(&user_id).await?.map(Session)) })
    }

    fn get_session_sync<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Option<Bound<'py, PyDict>>> {
        blocking(py, self.inner.get_session(&user_id))?.map(|s| session_to_py(py, &s)).transpose()
    }

    #[pyo3(signature = (user_id, data, ttl=None))]
    fn set_session<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        data: &Bound<'py, PyAny>,
        ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (p, data, ttl) = (self.inner.clone(), to_session(data).map_err(to_py)?, duration(ttl, "ttl")?);
        awaitable(py, async move { p.set_session(&user_id, data, ttl).await })
    }

    #[pyo3(signature = (user_id, data, ttl=None))]
    fn set_session_sync(
        &self,
        py: Python<'_>,
        user_id: Text,
        data: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (data, ttl) = (to_session(data).map_err(to_py)?, duration(ttl, "ttl")?);
        blocking(py, self.inner.set_session(&user_id, data, ttl))
    }

    fn delete_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.delete_session(&user_id).await })
    }

    fn delete_session_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<()> {
        blocking(py, self.inner.delete_session(&user_id))
    }

    fn has_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.has_session(&user_id).await })
    }

    fn has_session_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<bool> {
        blocking(py, self.inner.has_session(&user_id))
    }

    fn cleanup_old_sessions<'py>(&self, py: Python<'py>, max_age: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (p, max_age) = (self.inner.clone(), duration(Some(max_age), "max_age")?.unwrap_or_default());
        awaitable(py, async move { p.cleanup_old_sessions(max_age).await })
    }

    fn cleanup_old_sessions_sync(&self, py: Python<'_>, max_age: &Bound<'_, PyAny>) -> PyResult<u64> {
        let max_age = duration(Some(max_age), "max_age")?.unwrap_or_default();
        blocking(py, self.inner.cleanup_old_sessions(max_age))
    }

    fn get_active_sessions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.get_active_sessions().await })
    }

    fn get_active_sessions_sync(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        blocking(py, self.inner.get_active_sessions())
    }

    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.get_stats().await.map(SessionStats::from) })
    }

    fn get_stats_sync(&self, py: Python<'_>) -> PyResult<SessionStats> {
        blocking(py, self.inner.get_stats()).map(SessionStats::from)
    }

    fn count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.count().await })
    }

    fn count_sync(&self, py: Python<'_>) -> PyResult<u64> {
        blocking(py, self.inner.count())
    }

    fn clear<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, async move { p.clear().await })
    }

    fn clear_sync(&self, py: Python<'_>) -> PyResult<u64> {
        blocking(py, self.inner.clear())
    }
}

/// The default provider: sessions in this process's memory.
#[pyclass(extends = NativeProvider, frozen, module = "poto_sessions._native")]
pub struct InMemorySessionProvider;

#[pymethods]
impl InMemorySessionProvider {
    #[new]
    #[pyo3(signature = (ttl=None))]
    fn new(ttl: Option<&Bound<'_, PyAny>>) -> PyResult<PyClassInitializer<Self>> {
        let mut provider = poto_sessions::InMemorySessionProvider::new();
        if let Some(ttl) = duration(ttl, "ttl")? {
            provider = provider.with_ttl(ttl).map_err(to_py)?;
        }
        Ok(PyClassInitializer::from(NativeProvider { inner: Arc::new(provider) }).add_subclass(InMemorySessionProvider))
    }
}

/// Sessions in Redis, shared by every instance and language. Connects on first use.
#[pyclass(extends = NativeProvider, frozen, module = "poto_sessions._native")]
pub struct RedisSessionProvider {
    description: String,
}

#[pymethods]
impl RedisSessionProvider {
    #[new]
    #[pyo3(signature = (url=None, *, prefix=None, ttl=None, connect_timeout=None, command_timeout=None, retry_budget=None, max_session_bytes=None, cluster=false))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: Option<String>,
        prefix: Option<String>,
        ttl: Option<&Bound<'_, PyAny>>,
        connect_timeout: Option<&Bound<'_, PyAny>>,
        command_timeout: Option<&Bound<'_, PyAny>>,
        retry_budget: Option<&Bound<'_, PyAny>>,
        max_session_bytes: Option<usize>,
        cluster: bool,
    ) -> PyResult<PyClassInitializer<Self>> {
        let mut options = RedisOptions::new().cluster(cluster);
        if let Some(url) = url {
            options = options.url(url);
        }
        if let Some(prefix) = prefix {
            options = options.prefix(prefix);
        }
        if let Some(ttl) = duration(ttl, "ttl")? {
            options = options.ttl(ttl);
        }
        if let Some(t) = duration(connect_timeout, "connect_timeout")? {
            options = options.connect_timeout(t);
        }
        if let Some(t) = duration(command_timeout, "command_timeout")? {
            options = options.command_timeout(t);
        }
        if let Some(budget) = duration(retry_budget, "retry_budget")? {
            options = options.retry(RetryPolicy { budget, ..RetryPolicy::default() });
        }
        if let Some(max) = max_session_bytes {
            options = options.max_session_bytes(max);
        }
        let provider = RedisSessionProvider::native(options)?;
        let description = format!("{provider:?}");
        Ok(PyClassInitializer::from(NativeProvider { inner: Arc::new(provider) })
            .add_subclass(RedisSessionProvider { description }))
    }

    fn __repr__(&self) -> String {
        self.description.clone()
    }
}

impl RedisSessionProvider {
    fn native(options: RedisOptions) -> PyResult<poto_sessions::RedisSessionProvider> {
        poto_sessions::RedisSessionProvider::new(options).map_err(to_py)
    }
}
