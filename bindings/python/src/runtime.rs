//! Python awaitables driven by the core's hidden runtime (pyo3-async-runtimes' generic
//! interface; its own tokio module keeps a runtime that cannot follow a fork), and blocking
//! calls that release the GIL.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use poto_sessions::runtime;
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use pyo3_async_runtimes::generic::{self, ContextExt, JoinError, Runtime};
use pyo3_async_runtimes::TaskLocals;

use crate::errors::to_py;

/// The core's hidden runtime, as pyo3-async-runtimes sees it.
pub struct Hidden;

pub struct HiddenJoinError(tokio::task::JoinError);

impl JoinError for HiddenJoinError {
    fn is_panic(&self) -> bool {
        self.0.is_panic()
    }
    fn into_panic(self) -> Box<dyn std::any::Any + Send + 'static> {
        self.0.into_panic()
    }
}

pub struct HiddenJoinHandle(tokio::task::JoinHandle<()>);

impl Future for HiddenJoinHandle {
    type Output = Result<(), HiddenJoinError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map_err(HiddenJoinError)
    }
}

tokio::task_local! {
    static TASK_LOCALS: TaskLocals;
    /// The `contextvars` context of the thread that made a blocking (`_sync`) call: the host
    /// callbacks the call makes run in it, so they see that request's context variables.
    static CALLER_CONTEXT: std::sync::Arc<Py<PyAny>>;
}

/// The context of the blocking call being served, inside a future run by [`blocking_py`].
pub fn caller_context() -> Option<std::sync::Arc<Py<PyAny>>> {
    CALLER_CONTEXT.try_with(std::sync::Arc::clone).ok()
}

impl Runtime for Hidden {
    type JoinError = HiddenJoinError;
    type JoinHandle = HiddenJoinHandle;

    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> Self::JoinHandle {
        HiddenJoinHandle(runtime::spawn(fut))
    }

    fn spawn_blocking<F: FnOnce() + Send + 'static>(f: F) -> Self::JoinHandle {
        HiddenJoinHandle(runtime::runtime().spawn_blocking(f))
    }
}

impl ContextExt for Hidden {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        Box::pin(TASK_LOCALS.scope(locals, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|locals| locals.clone()).ok()
    }
}

/// The event loop and context of the awaiting Python task, inside a future made by [`awaitable`].
pub fn task_locals() -> Option<TaskLocals> {
    Hidden::get_task_locals()
}

/// A Python awaitable resolving to `fut`'s result; Python values are made under the GIL at the end.
/// `inline`: the provider completes without I/O (`SessionProvider::completes_inline`).
pub fn awaitable<'py, F, T>(py: Python<'py>, inline: bool, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = poto_sessions::Result<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    awaitable_py(py, inline, crate::errors::with_causes(fut))
}

/// [`awaitable`] for a future that makes its own Python exceptions.
///
/// An `inline` future is polled once right away, on the calling thread: a result that is ready
/// (the in-memory provider) is returned without waking a runtime thread. Any other future goes
/// to the runtime with the others of this event-loop turn (see `bridge`): polling a Redis call
/// here would wake a runtime thread for each. Cancelling the awaitable drops the future.
pub fn awaitable_py<'py, F, T>(py: Python<'py>, inline: bool, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let locals = generic::get_current_locals::<Hidden>(py)?;
    let fut = guard_py(fut);
    let event_loop = locals.event_loop(py);
    let queue = crate::bridge::queue_for(py, &event_loop)?;
    let call = std::sync::Arc::new(crate::bridge::Call::default());
    let mut fut = Box::pin(crate::bridge::scope(queue.clone(), call.clone(), TASK_LOCALS.scope(locals, fut)));
    if inline {
        let polled = {
            let _runtime = runtime::runtime().enter();
            fut.as_mut().poll(&mut Context::from_waker(std::task::Waker::noop()))
        };
        if let Poll::Ready(result) = polled {
            let result = result.and_then(|value| value.into_py_any(py));
            return Ok(Bound::new(py, Ready { result: Some(result) })?.into_any());
        }
    }
    crate::bridge::spawn_for_loop(&event_loop, queue, &call, fut)
}

/// `fut`, ending with the internal error (`InternalError`) if it panics, so no panic leaves an
/// awaitable pending or unwinds into Python (core's one guard, `poto_sessions::runtime`).
fn guard_py<F, T>(fut: F) -> impl Future<Output = PyResult<T>>
where
    F: Future<Output = PyResult<T>>,
{
    let fut = runtime::catch_panic(fut);
    async move { fut.await.map_err(to_py).and_then(|result| result) }
}

/// An awaitable whose result is already known: `await` returns it (or raises) at once.
#[pyclass(module = "poto_sessions._native")]
pub struct Ready {
    result: Option<PyResult<Py<PyAny>>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&mut self) -> PyResult<Py<PyAny>> {
        match self.result.take() {
            Some(Ok(value)) => Err(pyo3::exceptions::PyStopIteration::new_err((value,))),
            Some(Err(error)) => Err(error),
            None => Err(pyo3::exceptions::PyStopIteration::new_err(())),
        }
    }
}

static RUNNING_LOOP: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();
static COPY_CONTEXT: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// `module.name`, looked up once (every blocking call uses two such functions).
fn cached<'py>(
    py: Python<'py>,
    cell: &'static pyo3::sync::PyOnceLock<Py<PyAny>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyAny>> {
    Ok(cell.get_or_try_init(py, || py.import(module)?.getattr(name).map(Bound::unbind))?.bind(py))
}

/// Runs `fut` to completion with the GIL released (the blocking form).
pub fn blocking<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = poto_sessions::Result<T>> + Send,
    T: Send,
{
    blocking_py(py, crate::errors::with_causes(fut))
}

/// [`blocking`] for a future that makes its own Python exceptions. Refuses to block a thread
/// that runs an event loop.
pub fn blocking_py<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    if !cached(py, &RUNNING_LOOP, "asyncio", "_get_running_loop")?.call0()?.is_none() {
        return Err(to_py(poto_sessions::SessionError::InvalidArgument(
            "a _sync method was called inside a running event loop; await the async form instead".into(),
        )));
    }
    let context = std::sync::Arc::new(cached(py, &COPY_CONTEXT, "contextvars", "copy_context")?.call0()?.unbind());
    py.detach(|| runtime::block_on(CALLER_CONTEXT.scope(context, guard_py(fut)))).map_err(to_py)?
}
