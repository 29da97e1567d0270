//! The hidden runtime the bindings drive everything on: one small multi-thread tokio runtime per
//! process. After `fork()` the child builds its own; the parent's runtime and connections are
//! leaked in the child (their threads do not exist there), never dropped.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use futures_util::FutureExt;
use tokio::runtime::{Builder, Runtime};

use crate::error::{Result, SessionError};

/// Worker threads of the hidden runtime unless `POTO_WORKER_THREADS` or a binding
/// ([`set_default_worker_threads`]) says otherwise.
pub const DEFAULT_WORKER_THREADS: usize = 2;
static DEFAULT_WORKERS: AtomicUsize = AtomicUsize::new(DEFAULT_WORKER_THREADS);

/// The worker count a binding prefers for its processes, used when the runtime is built (also
/// after a fork) unless `POTO_WORKER_THREADS` is set. A runtime already built keeps its count.
pub fn set_default_worker_threads(workers: usize) {
    DEFAULT_WORKERS.store(workers.max(1), Ordering::Relaxed);
}
/// Threads for host callbacks that may block (C functions, sync Python) unless
/// `POTO_BLOCKING_THREADS` says otherwise; further callbacks wait for a free one.
pub const DEFAULT_BLOCKING_THREADS: usize = 64;

fn threads_from_env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|n| n.parse().ok()).filter(|&n: &usize| n > 0).unwrap_or(default)
}

static GENERATION: AtomicU64 = AtomicU64::new(0);
#[cfg(unix)]
static WATCH_FORKS: std::sync::Once = std::sync::Once::new();

#[cfg(unix)]
extern "C" fn after_fork_in_child() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
}

/// Changes in a child process after each `fork()`; state tied to threads or sockets (runtimes,
/// connections) is keyed by it and rebuilt when it changes. Without `fork()` (not unix) it
/// never changes.
pub fn fork_generation() -> u64 {
    #[cfg(unix)]
    WATCH_FORKS.call_once(|| {
        // SAFETY: registers a handler that only increments an atomic, which is fork-safe.
        unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    });
    GENERATION.load(Ordering::Acquire)
}

static RUNTIME: AtomicPtr<Runtime> = AtomicPtr::new(std::ptr::null_mut());
static RUNTIME_GENERATION: AtomicU64 = AtomicU64::new(u64::MAX);
static BUILD: Mutex<()> = Mutex::new(());

/// The process's hidden runtime, built on first use (and again in a forked child).
pub fn runtime() -> &'static Runtime {
    let generation = fork_generation();
    if RUNTIME_GENERATION.load(Ordering::Acquire) == generation {
        // SAFETY: a published runtime is leaked, so the pointer stays valid forever.
        return unsafe { &*RUNTIME.load(Ordering::Acquire) };
    }
    let _build = BUILD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if RUNTIME_GENERATION.load(Ordering::Acquire) != generation {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads_from_env("POTO_WORKER_THREADS", DEFAULT_WORKERS.load(Ordering::Relaxed)))
            .max_blocking_threads(threads_from_env("POTO_BLOCKING_THREADS", DEFAULT_BLOCKING_THREADS))
            .thread_name("poto-sessions")
            .enable_all()
            .build()
            .expect("cannot start the poto-sessions runtime");
        RUNTIME.store(Box::into_raw(Box::new(runtime)), Ordering::Release);
        RUNTIME_GENERATION.store(generation, Ordering::Release);
    }
    // SAFETY: as above.
    unsafe { &*RUNTIME.load(Ordering::Acquire) }
}

/// Runs `future` to completion on the calling thread, with the hidden runtime's I/O and timers.
/// Fails instead of deadlocking when called from inside an async context (e.g. from a callback
/// the library is running).
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(SessionError::InvalidArgument(
            "blocking call made from inside an async context or a library callback; use the async form".into(),
        ));
    }
    Ok(runtime().block_on(future))
}

/// Spawns `future` on the hidden runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(future)
}

/// The text of a caught panic's payload.
pub fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The internal error a caught panic of `what` becomes.
pub fn panic_error(what: &str, panic: &(dyn Any + Send)) -> SessionError {
    SessionError::Internal(format!("{what} panicked: {}", panic_message(panic)))
}

/// The internal error of a task that ended without an outcome: it panicked, or the runtime
/// dropped it.
pub fn join_error(error: tokio::task::JoinError) -> SessionError {
    match error.try_into_panic() {
        Ok(panic) => panic_error("operation", &*panic),
        Err(error) => SessionError::Internal(format!("operation ended without an outcome: {error}")),
    }
}

/// Runs `future`, ending with [`SessionError::Internal`] if polling it panics (in it or in code
/// it calls), so no panic unwinds into the caller or leaves it waiting. The future is not polled
/// again after a panic.
pub fn catch_panic<F: Future>(future: F) -> impl Future<Output = Result<F::Output>> {
    AssertUnwindSafe(future).catch_unwind().map(|outcome| outcome.map_err(|panic| panic_error("operation", &*panic)))
}

/// [`catch_panic`] for an operation: its result, or the internal error of its panic. Every
/// binding runs each operation through it, inline polls included.
pub fn guard<F, T>(future: F) -> impl Future<Output = Result<T>>
where
    F: Future<Output = Result<T>>,
{
    catch_panic(future).map(|outcome| outcome.and_then(|result| result))
}

/// [`guard`] for a synchronous operation (a binding's fast path that reads on its own thread).
pub fn guard_sync<T>(operation: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(operation)).unwrap_or_else(|panic| Err(panic_error("operation", &*panic)))
}

/// Spawns operation `future` on the hidden runtime; the returned future gives its result, or
/// the internal error when the task panicked or was dropped.
pub fn spawn_op<F, T>(future: F) -> impl Future<Output = Result<T>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    spawn(guard(future)).map(|joined| joined.map_err(join_error).and_then(|result| result))
}

/// Runs `f` (host code that may block: a C function, a sync Python method) on the hidden
/// runtime's blocking pool and waits for it; a panic there is the internal error.
pub async fn run_blocking<T, F>(f: F) -> Result<T>
where
    F: FnOnce() -> Result<T> + Send + 'static,
    T: Send + 'static,
{
    let task = runtime().spawn_blocking(move || {
        crate::failpoint!("host.task");
        f()
    });
    task.await.map_err(join_error).and_then(|result| result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_on_runs_and_refuses_nesting() {
        assert_eq!(block_on(async { 7 }).unwrap(), 7);
        let nested = block_on(async { block_on(async { 1 }) }).unwrap();
        assert_eq!(nested.unwrap_err().kind(), crate::ErrorKind::InvalidArgument);
        assert_eq!(block_on(spawn(async { 3 })).unwrap().unwrap(), 3);
    }
}
