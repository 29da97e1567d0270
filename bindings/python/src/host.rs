//! Calling Python code (custom providers, update functions, default factories) from the
//! runtime: on the blocking pool, never on a runtime worker; coroutines are awaited on the
//! event loop of the Python task that made the call.

use std::sync::{Arc, Mutex};

use poto_sessions::{Result, SessionError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3_async_runtimes::TaskLocals;

use crate::errors::provider_error;
use crate::runtime::task_locals;

/// A Python callable or object shared across threads.
#[derive(Clone)]
pub struct Host {
    object: Arc<Py<PyAny>>,
    /// The event loop that last awaited through this object, for calls made from library tasks.
    last_loop: Arc<Mutex<Option<TaskLocals>>>,
}

/// A Python exception from host code: the provider error it becomes, and the exception itself.
fn failed(err: PyErr) -> HostError {
    let error = Python::attach(|py| provider_error(py, &err));
    (error, Some(Arc::new(err)))
}

/// Calls `object` (or its `method`) with `args`; an awaitable result is awaited on `locals`' loop,
/// or with `asyncio.run` when no loop awaits the call.
fn invoke<A>(
    py: Python<'_>,
    object: &Py<PyAny>,
    method: Option<&str>,
    args: A,
    locals: Option<TaskLocals>,
) -> PyResult<Outcome>
where
    A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
{
    let target = object.bind(py);
    let args = args(py)?;
    let result = match method {
        Some(name) => target.call_method1(name, args)?,
        None => target.call1(args)?,
    };
    if !result.hasattr("__await__")? {
        return Ok(Outcome::Ready(result.unbind()));
    }
    match locals {
        Some(locals) => Ok(Outcome::Pending(Box::pin(pyo3_async_runtimes::into_future_with_locals(&locals, result)?))),
        None => Ok(Outcome::Ready(py.import("asyncio")?.call_method1("run", (result,))?.unbind())),
    }
}

enum Outcome {
    Ready(Py<PyAny>),
    Pending(std::pin::Pin<Box<dyn std::future::Future<Output = PyResult<Py<PyAny>>> + Send>>),
}

/// What a failed host call becomes: a provider error, keeping the Python exception.
pub type HostError = (SessionError, Option<Arc<PyErr>>);

impl Host {
    pub fn new(object: Py<PyAny>) -> Self {
        Host { object: Arc::new(object), last_loop: Arc::new(Mutex::new(None)) }
    }

    fn locals(&self) -> Option<TaskLocals> {
        let mut last = self.last_loop.lock().unwrap_or_else(|p| p.into_inner());
        match task_locals() {
            Some(locals) => {
                *last = Some(locals.clone());
                Some(locals)
            }
            None => Python::attach(|py| {
                last.as_ref()
                    .filter(|l| {
                        l.event_loop(py).call_method0("is_running").and_then(|r| r.is_truthy()).unwrap_or(false)
                    })
                    .cloned()
            }),
        }
    }

    /// Calls `method` (or the object itself when `None`) with the arguments `args` builds, on
    /// the blocking pool (it may block), awaiting the result if it is awaitable.
    pub async fn call<A>(&self, method: Option<&'static str>, args: A) -> std::result::Result<Py<PyAny>, HostError>
    where
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static,
    {
        let (object, locals) = (self.object.clone(), self.locals());
        let outcome =
            tokio::task::spawn_blocking(move || Python::attach(|py| invoke(py, &object, method, args, locals)))
                .await
                .map_err(|e| (SessionError::Internal(format!("host call failed: {e}")), None))?;
        Self::finish(outcome).await
    }

    /// Calls the object (a short callback such as an update function) on the thread of the
    /// event loop awaiting this task — where it would run in plain asyncio code, and without
    /// waiting for the GIL on another thread; on the blocking pool when there is no such loop.
    /// `convert` turns the result into Rust on the same thread (after awaiting it if needed).
    pub async fn call_on_loop<A, C, R>(&self, args: A, convert: C) -> std::result::Result<R, HostError>
    where
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static,
        C: for<'py> Fn(&Bound<'py, PyAny>) -> Result<R> + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (object, locals) = (self.object.clone(), self.locals());
        let convert = Arc::new(convert);
        let convert_here = convert.clone();
        let job = move |py: Python<'_>| {
            let outcome = invoke(py, &object, None, args, locals).map(|outcome| match outcome {
                Outcome::Ready(value) => Ok(convert_here(value.bind(py))),
                Outcome::Pending(future) => Err(future),
            });
            let _ = tx.send(outcome);
        };
        if let Err(job) = crate::bridge::run_on_loop(job) {
            // No event loop awaits this task (a blocking call): run it on the blocking pool.
            tokio::task::spawn_blocking(move || Python::attach(job))
                .await
                .map_err(|e| (SessionError::Internal(format!("host call failed: {e}")), None))?;
        }
        let outcome = rx
            .await
            .map_err(|_| (SessionError::Internal("the event loop closed before the callback ran".into()), None))?;
        let converted = match outcome {
            Ok(Ok(converted)) => converted,
            Ok(Err(pending)) => {
                let value = pending.await.map_err(failed)?;
                Python::attach(|py| convert(value.bind(py)))
            }
            Err(error) => return Err(failed(error)),
        };
        converted.map_err(|error| (error, None))
    }

    async fn finish(outcome: PyResult<Outcome>) -> std::result::Result<Py<PyAny>, HostError> {
        match outcome.map_err(failed)? {
            Outcome::Ready(value) => Ok(value),
            Outcome::Pending(future) => future.await.map_err(failed),
        }
    }

    /// [`Self::call`] for a custom provider: the Python exception becomes its provider error.
    pub async fn call_provider<A>(&self, method: &'static str, args: A) -> Result<Py<PyAny>>
    where
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static,
    {
        self.call(Some(method), args).await.map_err(|(error, _)| error)
    }

    pub fn has_method(&self, name: &str) -> bool {
        Python::attach(|py| self.object.bind(py).getattr(name).map(|m| !m.is_none()).unwrap_or(false))
    }
}
