//! `SessionProvider` and the built-in providers as Python classes. Methods return awaitables;
//! each has a `_sync` twin for synchronous frameworks (the GIL is released while Rust works).

use std::sync::Arc;

use poto_sessions::options::Options;
use poto_sessions::{CustomOptions, MemoryOptions, RedisOptions, SessionError, SessionProvider};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{to_session, Session, SessionText, Text};
use crate::errors::to_py;
use crate::options::{from_kwargs, optional_seconds, seconds};
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

/// Base class of every provider made by this package.
#[pyclass(subclass, frozen, name = "SessionProvider", module = "poto_sessions._native")]
pub struct NativeProvider {
    pub inner: Arc<dyn SessionProvider>,
}

/// The store behind `object`: a provider of this package, or a custom provider object (with
/// the options of its first wrap, else the defaults).
pub fn provider_of(object: &Bound<'_, PyAny>) -> PyResult<Arc<dyn SessionProvider>> {
    if let Ok(native) = object.cast::<NativeProvider>() {
        return Ok(native.get().inner.clone());
    }
    crate::custom::adapter_for(object, None).map_err(to_py)
}

impl NativeProvider {
    fn inline(&self) -> bool {
        self.inner.completes_inline()
    }
}

#[pymethods]
impl NativeProvider {
    /// Wraps a custom provider object (any object with the provider methods) with the custom
    /// provider options (`CustomOptions`).
    #[staticmethod]
    #[pyo3(signature = (provider, **options))]
    fn wrap(provider: &Bound<'_, PyAny>, options: Option<&Bound<'_, PyDict>>) -> PyResult<NativeProvider> {
        let given = options.is_some_and(|o| o.values().iter().any(|v| !v.is_none()));
        let options: CustomOptions = from_kwargs("SessionProvider.wrap", options)?;
        if !given {
            return Ok(NativeProvider { inner: provider_of(provider)? });
        }
        if provider.cast::<NativeProvider>().is_ok() {
            return Err(to_py(SessionError::InvalidArgument(
                "options of SessionProvider.wrap are for custom provider objects; a built-in provider takes its own"
                    .into(),
            )));
        }
        Ok(NativeProvider { inner: crate::custom::adapter_for(provider, Some(options)).map_err(to_py)? })
    }

    /// Sessions of an in-memory store are converted from its snapshot; any other provider's
    /// reach Python as validated text for `json.loads` (Redis: the stored text as it is).
    fn get_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        if self.inline() {
            awaitable(py, true, async move { Ok(p.get_session_shared(&user_id).await?.map(Session)) })
        } else {
            awaitable(py, false, async move { Ok(p.get_session_json(&user_id).await?.map(SessionText)) })
        }
    }

    fn get_session_sync<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Option<Bound<'py, PyAny>>> {
        if self.inline() {
            blocking(py, self.inner.get_session_shared(&user_id))?.map(|s| Session(s).into_pyobject(py)).transpose()
        } else {
            blocking(py, self.inner.get_session_json(&user_id))?.map(|s| SessionText(s).into_pyobject(py)).transpose()
        }
    }

    #[pyo3(signature = (user_id, data, ttl=None))]
    fn set_session<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        data: &Bound<'py, PyAny>,
        ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (p, data, ttl) = (self.inner.clone(), to_session(data).map_err(to_py)?, optional_seconds(ttl, "ttl")?);
        awaitable(py, self.inline(), async move { p.set_session(&user_id, data, ttl).await })
    }

    #[pyo3(signature = (user_id, data, ttl=None))]
    fn set_session_sync(
        &self,
        py: Python<'_>,
        user_id: Text,
        data: &Bound<'_, PyAny>,
        ttl: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (data, ttl) = (to_session(data).map_err(to_py)?, optional_seconds(ttl, "ttl")?);
        blocking(py, self.inner.set_session(&user_id, data, ttl))
    }

    fn delete_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.delete_session(&user_id).await })
    }

    fn delete_session_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<()> {
        blocking(py, self.inner.delete_session(&user_id))
    }

    fn has_session<'py>(&self, py: Python<'py>, user_id: Text) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.has_session(&user_id).await })
    }

    fn has_session_sync(&self, py: Python<'_>, user_id: Text) -> PyResult<bool> {
        blocking(py, self.inner.has_session(&user_id))
    }

    #[pyo3(signature = (user_id, ttl=None))]
    fn touch<'py>(
        &self,
        py: Python<'py>,
        user_id: Text,
        ttl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (p, ttl) = (self.inner.clone(), optional_seconds(ttl, "ttl")?);
        awaitable(py, self.inline(), async move { p.touch(&user_id, ttl).await })
    }

    #[pyo3(signature = (user_id, ttl=None))]
    fn touch_sync(&self, py: Python<'_>, user_id: Text, ttl: Option<&Bound<'_, PyAny>>) -> PyResult<bool> {
        let ttl = optional_seconds(ttl, "ttl")?;
        blocking(py, self.inner.touch(&user_id, ttl))
    }

    fn cleanup_old_sessions<'py>(&self, py: Python<'py>, max_age: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let (p, max_age) = (self.inner.clone(), seconds(max_age, "max_age")?);
        awaitable(py, self.inline(), async move { p.cleanup_old_sessions(max_age).await })
    }

    fn cleanup_old_sessions_sync(&self, py: Python<'_>, max_age: &Bound<'_, PyAny>) -> PyResult<u64> {
        let max_age = seconds(max_age, "max_age")?;
        blocking(py, self.inner.cleanup_old_sessions(max_age))
    }

    fn get_active_sessions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.get_active_sessions().await })
    }

    fn get_active_sessions_sync(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        blocking(py, self.inner.get_active_sessions())
    }

    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.get_stats().await.map(SessionStats::from) })
    }

    fn get_stats_sync(&self, py: Python<'_>) -> PyResult<SessionStats> {
        blocking(py, self.inner.get_stats()).map(SessionStats::from)
    }

    fn count<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.count().await })
    }

    fn count_sync(&self, py: Python<'_>) -> PyResult<u64> {
        blocking(py, self.inner.count())
    }

    fn clear<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let p = self.inner.clone();
        awaitable(py, self.inline(), async move { p.clear().await })
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
    #[pyo3(signature = (**options))]
    fn new(options: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        let options: MemoryOptions = from_kwargs("InMemorySessionProvider", options)?;
        let provider = poto_sessions::InMemorySessionProvider::with_options(options).map_err(to_py)?;
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
    /// `url` (the seed's one argument) may also be given by keyword, like every other option.
    #[new]
    #[pyo3(signature = (url=None, **options))]
    fn new(url: Option<&Bound<'_, PyAny>>, options: Option<&Bound<'_, PyDict>>) -> PyResult<PyClassInitializer<Self>> {
        let mut redis: RedisOptions = from_kwargs("RedisSessionProvider", options)?;
        if let Some(url) = url {
            crate::options::set(&mut redis, RedisOptions::spec("url").map_err(to_py)?, url)?;
        }
        let provider = poto_sessions::RedisSessionProvider::new(redis).map_err(to_py)?;
        let description = format!("{provider:?}");
        Ok(PyClassInitializer::from(NativeProvider { inner: Arc::new(provider) })
            .add_subclass(RedisSessionProvider { description }))
    }

    fn __repr__(&self) -> String {
        self.description.clone()
    }
}
