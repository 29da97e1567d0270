//! Calling Python code (custom providers, update functions, default factories) from the
//! runtime: on the blocking pool, never on a runtime worker; coroutines are awaited on the
//! event loop of the Python task that made the call.

use std::sync::{Arc, Mutex};

use poto_sessions::{Result, SessionError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;
use pyo3_async_runtimes::TaskLocals;

use crate::bridge::Call;
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
    let err = Arc::new(err);
    crate::errors::record(&error, &err);
    (error, Some(err))
}

/// Where a host call runs. Every call runs in a fresh copy of the context it is given (so a
/// callback's own `ContextVar.set` stays its own); an awaitable result is awaited on the loop
/// named here, else with `asyncio.run`.
enum Target {
    /// Awaited by a Python task: that task's loop and context, and its call (cancellable).
    Task(TaskLocals, Option<Arc<Call>>),
    /// A blocking call (its caller's context) or a library task (`None`: an empty context); a
    /// coroutine goes to the loop that last awaited through this object, if it still runs.
    Detached { context: Option<Arc<Py<PyAny>>>, last_loop: Option<TaskLocals> },
}

impl Target {
    /// The context to run in and the loop for coroutines (needs the GIL, so never on a runtime
    /// worker: the loop's thread or the blocking pool).
    fn resolve<'py>(self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, Option<TaskLocals>)> {
        match self {
            Target::Task(locals, _) => {
                let context = locals.context(py);
                // Locals made without a context (`TaskLocals::new`) hold None: use a fresh one.
                let context =
                    if context.is_none() { new_context(py)? } else { context.call_method0(intern!(py, "copy"))? };
                Ok((context, Some(locals)))
            }
            Target::Detached { context, last_loop } => {
                let context = match context {
                    Some(context) => context.bind(py).call_method0("copy")?,
                    None => new_context(py)?,
                };
                let running =
                    |l: &Bound<'py, PyAny>| l.call_method0("is_running").and_then(|r| r.is_truthy()).unwrap_or(false);
                let locals = last_loop
                    .map(|l| l.event_loop(py))
                    .filter(running)
                    .map(|l| TaskLocals::new(l).with_context(context.clone()));
                Ok((context, locals))
            }
        }
    }
}

/// The callback of a cancelled call is not run.
fn check_not_cancelled(py: Python<'_>, target: &Target) -> PyResult<()> {
    match target {
        Target::Task(_, Some(call)) if call.cancelled(py) => {
            Err(pyo3::exceptions::asyncio::CancelledError::new_err("the call was cancelled"))
        }
        _ => Ok(()),
    }
}

/// A new, empty `contextvars.Context`.
fn new_context(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    py.import("contextvars")?.getattr("Context")?.call0()
}

/// Calls `object` (or its `method`) with `args` as `target` says.
fn invoke<A>(py: Python<'_>, object: &Py<PyAny>, method: Option<&str>, args: A, target: Target) -> PyResult<Outcome>
where
    A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
{
    check_not_cancelled(py, &target)?;
    let object = object.bind(py);
    let callable = match method {
        Some(name) => object.getattr(name)?,
        None => object.clone(),
    };
    let args = args(py)?;
    let (context, locals) = target.resolve(py)?;
    let call: Vec<Bound<'_, PyAny>> = std::iter::once(callable).chain(args.iter()).collect();
    let result = context.call_method1(intern!(py, "run"), PyTuple::new(py, call)?)?;
    if !result.hasattr(intern!(py, "__await__"))? {
        return Ok(Outcome::Ready(result.unbind()));
    }
    match locals {
        Some(locals) => Ok(Outcome::Pending(Box::pin(crate::awaited::into_future(&locals, result)?))),
        None => {
            Ok(Outcome::Ready(context.call_method1("run", (py.import("asyncio")?.getattr("run")?, result))?.unbind()))
        }
    }
}

enum Outcome {
    Ready(Py<PyAny>),
    Pending(Pending),
}

type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// The converted result of an invoked call: converted already, or awaited then converted.
async fn settle<C, R>(
    outcome: PyResult<std::result::Result<Result<R>, Pending>>,
    convert: &C,
) -> std::result::Result<R, HostError>
where
    C: for<'py> Fn(&Bound<'py, PyAny>) -> Result<R>,
{
    let converted = match outcome.map_err(failed)? {
        Ok(converted) => converted,
        Err(pending) => {
            let value = pending.await.map_err(failed)?;
            Python::attach(|py| convert(value.bind(py)))
        }
    };
    converted.map_err(|error| (error, None))
}

/// What a failed host call becomes: a provider error, keeping the Python exception.
pub type HostError = (SessionError, Option<Arc<PyErr>>);

impl Host {
    pub fn new(object: Py<PyAny>) -> Self {
        Host { object: Arc::new(object), last_loop: Arc::new(Mutex::new(None)) }
    }

    /// The awaiting task's loop and context; else the blocking caller's context — never the
    /// context of an earlier request.
    fn target(&self) -> Target {
        let mut last = self.last_loop.lock().unwrap_or_else(|p| p.into_inner());
        match task_locals() {
            Some(locals) => {
                *last = Some(locals.clone());
                Target::Task(locals, crate::bridge::current_call())
            }
            None => Target::Detached { context: crate::runtime::caller_context(), last_loop: last.clone() },
        }
    }

    /// Calls `method` (or the object itself when `None`) with the arguments `args` builds, on
    /// the blocking pool (it may block), awaiting the result if it is awaitable; `convert` turns
    /// the result into Rust (under the GIL the call already holds, when the result is ready).
    pub async fn call<A, C, R>(
        &self,
        method: Option<&'static str>,
        args: A,
        convert: C,
    ) -> std::result::Result<R, HostError>
    where
        A: for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>> + Send + 'static,
        C: for<'py> Fn(&Bound<'py, PyAny>) -> Result<R> + Send + Sync + 'static,
        R: Send + 'static,
    {
        let (object, target) = (self.object.clone(), self.target());
        let convert = Arc::new(convert);
        let convert_here = convert.clone();
        let outcome = poto_sessions::runtime::run_blocking(move || {
            Ok(Python::attach(|py| {
                invoke(py, &object, method, args, target).map(|outcome| match outcome {
                    Outcome::Ready(value) => Ok(convert_here(value.bind(py))),
                    Outcome::Pending(future) => Err(future),
                })
            }))
        })
        .await
        .map_err(|e| (e, None))?;
        settle(outcome, &*convert).await
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
        let (object, target) = (self.object.clone(), self.target());
        let convert = Arc::new(convert);
        let convert_here = convert.clone();
        let job = move |py: Python<'_>| {
            let outcome = invoke(py, &object, None, args, target).map(|outcome| match outcome {
                Outcome::Ready(value) => Ok(convert_here(value.bind(py))),
                Outcome::Pending(future) => Err(future),
            });
            let _ = tx.send(outcome);
        };
        if let Err(job) = crate::bridge::run_on_loop(job) {
            // No event loop awaits this task (a blocking call): run it on the blocking pool.
            poto_sessions::runtime::run_blocking(move || Ok(Python::attach(job))).await.map_err(|e| (e, None))?;
        }
        let outcome = rx
            .await
            .map_err(|_| (SessionError::Internal("the event loop closed before the callback ran".into()), None))?;
        settle(outcome, &*convert).await
    }

    pub fn has_method(&self, name: &str) -> bool {
        Python::attach(|py| self.object.bind(py).getattr(name).map(|m| !m.is_none()).unwrap_or(false))
    }
}
