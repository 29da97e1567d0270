//! Completions from the runtime to asyncio without taking the GIL on runtime threads: results
//! queue up per event loop, one [`Waker`] descriptor wakes the loop, and the loop resolves every
//! queued future in one pass. (Taking the GIL on a worker for each completion would wait for the event
//! loop's thread to release it, which costs milliseconds under load.)
//!
//! The other way, calls made during one turn of the event loop go to the runtime together at
//! the start of the next turn: one wake of a runtime thread per turn rather than one per call.
//!
//! Cancelling the asyncio future of a call aborts the runtime task that serves it: the Rust
//! future is dropped at its next await (or before its first poll, if its turn's batch has not
//! gone yet), so a call cancelled before its write is sent writes nothing, and no host callback
//! runs for it once it is cancelled (see [`Call::cancelled`]).

use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::intern;
use pyo3::prelude::*;

use futures_util::future::{AbortHandle, Abortable};

use crate::waker::Waker;

type MakeValue = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// Work for the event loop's thread.
enum Job {
    /// Resolve the asyncio future of this call with the value made under the GIL.
    Resolve(Arc<Call>, MakeValue),
    /// Run Python code (a host callback) on the loop's thread.
    Call(Box<dyn FnOnce(Python<'_>) + Send>),
}

type Outgoing = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

pub struct Queue {
    waker: Waker,
    pending: Mutex<Vec<Job>>,
    /// Calls made during this turn of the loop, not yet handed to the runtime.
    outgoing: Mutex<Vec<(Arc<Call>, Outgoing)>>,
    /// `Completions.send` of this queue, scheduled when `outgoing` stops being empty.
    send: OnceLock<Py<PyAny>>,
}

/// The Python call a runtime task serves, as host callbacks see it.
#[derive(Default)]
pub struct Call {
    /// The asyncio future the caller awaits, once the call is no longer ready at once.
    future: OnceLock<Py<PyAny>>,
    /// Its done callback that aborts the call if it is cancelled ([`AbortOnCancel`]).
    on_cancel: OnceLock<Py<PyAny>>,
}

impl Call {
    /// Whether the caller cancelled the call. Read under the GIL, so it is ordered with the
    /// caller's `cancel()`: a callback that starts after it does not run.
    pub fn cancelled(&self, py: Python<'_>) -> bool {
        self.future.get().is_some_and(|f| {
            f.bind(py).call_method0(intern!(py, "cancelled")).and_then(|c| c.is_truthy()).unwrap_or(false)
        })
    }
}

tokio::task_local! {
    /// The queue of the event loop that awaits the current task.
    static LOOP_QUEUE: Arc<Queue>;
    /// The call the current task serves.
    static CALL: Arc<Call>;
}

/// Runs `future` as `call`, with `queue` as its event loop's queue (see [`run_on_loop`]).
pub fn scope<F: std::future::Future>(
    queue: Arc<Queue>,
    call: Arc<Call>,
    future: F,
) -> impl std::future::Future<Output = F::Output> {
    LOOP_QUEUE.scope(queue, CALL.scope(call, future))
}

/// The call the current task serves, if a Python caller awaits it.
pub fn current_call() -> Option<Arc<Call>> {
    CALL.try_with(Arc::clone).ok()
}

/// Runs `job` on the thread of the event loop awaiting the current task, if there is one;
/// gives the job back otherwise.
pub fn run_on_loop<J: FnOnce(Python<'_>) + Send + 'static>(job: J) -> Result<(), J> {
    match LOOP_QUEUE.try_with(Arc::clone) {
        Ok(queue) => {
            queue.push(Job::Call(Box::new(job)));
            Ok(())
        }
        Err(_) => Err(job),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Queue {
    fn push(&self, job: Job) {
        let mut pending = lock(&self.pending);
        pending.push(job);
        if pending.len() == 1 {
            self.waker.wake();
        }
    }
}

/// The per-loop receiving end; `drain` runs on the loop's thread as an fd reader.
#[pyclass(frozen, module = "poto_sessions._native")]
pub struct Completions {
    queue: Arc<Queue>,
}

#[pymethods]
impl Completions {
    /// Hands the calls of the last turn to the runtime: one spawn from this thread, which
    /// spawns each call from a runtime thread. A call cancelled meanwhile is dropped here (its
    /// done callback, which would abort it, runs after this).
    fn send(&self, py: Python<'_>) {
        let mut batch = std::mem::take(&mut *lock(&self.queue.outgoing));
        batch.retain(|(call, _)| !call.cancelled(py));
        if !batch.is_empty() {
            poto_sessions::runtime::spawn(async move {
                for (_, call) in batch {
                    tokio::spawn(call);
                }
            });
        }
    }

    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        self.queue.waker.clear();
        let ready = std::mem::take(&mut *lock(&self.queue.pending));
        for job in ready {
            let (call, make) = match job {
                Job::Resolve(call, make) => (call, make),
                Job::Call(call) => {
                    call(py);
                    continue;
                }
            };
            let Some(future) = call.future.get() else { continue };
            let future = future.bind(py);
            if future.call_method0(intern!(py, "done"))?.is_truthy()? {
                continue; // cancelled by the caller
            }
            if let Some(on_cancel) = call.on_cancel.get() {
                // Finished: the callback has nothing left to abort, and would cost a loop turn.
                future.call_method1(intern!(py, "remove_done_callback"), (on_cancel,))?;
            }
            match make(py) {
                Ok(value) => future.call_method1(intern!(py, "set_result"), (value,))?,
                Err(error) => future.call_method1(intern!(py, "set_exception"), (error.into_value(py),))?,
            };
        }
        Ok(())
    }
}

thread_local! {
    /// The running loop of this thread and its queue.
    static CURRENT: RefCell<Option<(Py<PyAny>, Arc<Queue>)>> = const { RefCell::new(None) };
}

/// The queue of `event_loop`, registering it with the loop on first use.
pub fn queue_for(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<Queue>> {
    let cached =
        CURRENT.with(|c| c.borrow().as_ref().filter(|(l, _)| l.bind(py).is(event_loop)).map(|(_, q)| q.clone()));
    if let Some(queue) = cached {
        return Ok(queue);
    }
    let waker = Waker::new()?;
    let fd = waker.fileno();
    let queue = Arc::new(Queue {
        waker,
        pending: Mutex::new(Vec::new()),
        outgoing: Mutex::new(Vec::new()),
        send: OnceLock::new(),
    });
    let receiver = Bound::new(py, Completions { queue: queue.clone() })?;
    event_loop.call_method1("add_reader", (fd, receiver.getattr("drain")?))?;
    let _ = queue.send.set(receiver.getattr("send")?.unbind());
    CURRENT.with(|c| *c.borrow_mut() = Some((event_loop.clone().unbind(), queue.clone())));
    Ok(queue)
}

/// Aborts a runtime task when its asyncio future is cancelled (a done callback).
#[pyclass(frozen, module = "poto_sessions._native")]
struct AbortOnCancel(AbortHandle);

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(future.py(), "cancelled"))?.is_truthy()? {
            self.0.abort();
        }
        Ok(())
    }
}

/// An asyncio future of `event_loop` (whose queue is `queue`) that `fut`'s result will resolve;
/// `fut` reaches the runtime with this turn's other calls; cancelling the future aborts it,
/// and it serves `call`.
pub fn spawn_for_loop<'py, F, T>(
    event_loop: &Bound<'py, PyAny>,
    queue: Arc<Queue>,
    call: &Arc<Call>,
    fut: F,
) -> PyResult<Bound<'py, PyAny>>
where
    F: std::future::Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    use pyo3::IntoPyObjectExt;
    let py = event_loop.py();
    let future = event_loop.call_method0(intern!(py, "create_future"))?;
    let _ = call.future.set(future.clone().unbind());
    let queue_of_loop = queue.clone();
    let resolves = call.clone();
    let (abort, registration) = AbortHandle::new_pair();
    let task = Abortable::new(
        async move {
            let result = fut.await;
            queue.push(Job::Resolve(resolves, Box::new(move |py| result.and_then(|value| value.into_py_any(py)))));
        },
        registration,
    );
    let first = {
        let mut outgoing = lock(&queue_of_loop.outgoing);
        outgoing.push((
            call.clone(),
            Box::pin(async move {
                let _ = task.await;
            }),
        ));
        outgoing.len() == 1
    };
    if first {
        if let Some(send) = queue_of_loop.send.get() {
            event_loop.call_method1(intern!(py, "call_soon"), (send,))?;
        }
    }
    // Set before this thread (the loop's) can drain the call's result.
    let on_cancel = Bound::new(py, AbortOnCancel(abort))?;
    future.call_method1(intern!(py, "add_done_callback"), (&on_cancel,))?;
    let _ = call.on_cancel.set(on_cancel.into_any().unbind());
    Ok(future)
}
