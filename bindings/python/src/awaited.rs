//! Python awaitables (async provider methods, async update functions and factories) awaited by
//! Rust code: the awaitable runs as a task of its event loop, and is cancelled when the Rust
//! side stops waiting for it (its call was cancelled), as an inner `await` would be in asyncio.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_async_runtimes::TaskLocals;
use tokio::sync::oneshot;

type Outcome = PyResult<Py<PyAny>>;

fn take<T>(slot: &Mutex<Option<T>>) -> Option<T> {
    slot.lock().unwrap_or_else(|p| p.into_inner()).take()
}

/// The loop-side half: starts the awaitable as a task, reports its outcome, cancels it.
#[pyclass(frozen, module = "poto_sessions._native")]
struct Awaiting {
    awaitable: Mutex<Option<Py<PyAny>>>,
    task: Mutex<Option<Py<PyAny>>>,
    tx: Mutex<Option<oneshot::Sender<Outcome>>>,
    /// The Rust side stopped waiting before the task started: never start it.
    abandoned: AtomicBool,
}

#[pymethods]
impl Awaiting {
    /// On the loop's thread, in the call's context.
    fn start(slf: &Bound<'_, Self>) -> PyResult<()> {
        let (py, this) = (slf.py(), slf.get());
        let Some(awaitable) = take(&this.awaitable) else { return Ok(()) };
        let awaitable = awaitable.into_bound(py);
        if this.abandoned.load(Ordering::Acquire) {
            if awaitable.hasattr("close")? {
                awaitable.call_method0("close")?; // a coroutine never started: no "never awaited"
            }
            return Ok(());
        }
        let started = (|| {
            let task = py.import("asyncio")?.call_method1("ensure_future", (awaitable,))?;
            *this.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task.clone().unbind());
            task.call_method1("add_done_callback", (slf.getattr("complete")?,)).map(drop)
        })();
        if let Err(error) = started {
            // Reported to the Rust side, not to the loop's exception handler.
            if let Some(tx) = take(&this.tx) {
                let _ = tx.send(Err(error));
            }
        }
        Ok(())
    }

    fn complete(&self, task: &Bound<'_, PyAny>) {
        take(&self.task);
        if let Some(tx) = take(&self.tx) {
            let _ = tx.send(task.call_method0("result").map(Bound::unbind));
        }
    }

    fn cancel(&self, py: Python<'_>) {
        if let Some(task) = take(&self.task) {
            let _ = task.bind(py).call_method0("cancel");
        }
    }
}

/// The Rust-side half: resolves with the awaitable's result; dropped before that, it cancels
/// the task.
pub struct Awaited {
    rx: oneshot::Receiver<Outcome>,
    awaiting: Option<Py<Awaiting>>,
    event_loop: Option<Py<PyAny>>,
}

/// Runs `awaitable` on the loop of `locals`, in its context.
pub fn into_future(locals: &TaskLocals, awaitable: Bound<'_, PyAny>) -> PyResult<Awaited> {
    let py = awaitable.py();
    let (tx, rx) = oneshot::channel();
    let awaiting = Bound::new(
        py,
        Awaiting {
            awaitable: Mutex::new(Some(awaitable.unbind())),
            task: Mutex::new(None),
            tx: Mutex::new(Some(tx)),
            abandoned: AtomicBool::new(false),
        },
    )?;
    let event_loop = locals.event_loop(py);
    let kwargs = PyDict::new(py);
    kwargs.set_item("context", locals.context(py))?;
    event_loop.call_method("call_soon_threadsafe", (awaiting.getattr("start")?,), Some(&kwargs))?;
    Ok(Awaited { rx, awaiting: Some(awaiting.unbind()), event_loop: Some(event_loop.unbind()) })
}

impl Future for Awaited {
    type Output = Outcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Outcome> {
        let outcome = match Pin::new(&mut self.rx).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(outcome)) => outcome,
            Poll::Ready(Err(_)) => {
                Err(pyo3::exceptions::asyncio::CancelledError::new_err("the event loop dropped the task"))
            }
        };
        self.awaiting = None;
        Poll::Ready(outcome)
    }
}

impl Drop for Awaited {
    fn drop(&mut self) {
        let (Some(awaiting), Some(event_loop)) = (self.awaiting.take(), self.event_loop.take()) else { return };
        awaiting.get().abandoned.store(true, Ordering::Release);
        // Not on this thread: it may be a runtime worker, which must not wait for the GIL.
        poto_sessions::runtime::runtime().spawn_blocking(move || {
            Python::try_attach(|py| {
                if let Ok(cancel) = awaiting.getattr(py, "cancel") {
                    let _ = event_loop.call_method1(py, "call_soon_threadsafe", (cancel,));
                }
            })
        });
    }
}
