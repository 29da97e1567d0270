//! The two queues between the hidden runtime and the JS thread.
//!
//! Completions: an operation started from JS is polled once on the JS thread (an in-memory call
//! is usually ready then and returns at once); otherwise it runs on the hidden runtime and its
//! outcome is queued. The first completion queued wakes the JS thread through one threadsafe
//! function, which hands JS every completion queued by then (one wake-up for a burst).
//!
//! Submissions are batched the same way: operations that do not finish at once are queued, and
//! JS calls [`flush`] once per event-loop iteration (lib/bridge.js, from `setImmediate`), which
//! hands the whole queue to one runtime task. So the calls of one iteration (e.g. the store reads
//! of every request that arrived) cost one task and one wake-up of the runtime, and their commands
//! reach the Redis connection together (one write to the socket, one read of the replies).
//!
//! Requests: Rust code that needs JS (a custom provider's method, an update function, a defaults
//! factory) queues a request the same way and awaits the reply JS sends with `reply()` (JSON
//! text) or `replyError()` (a code and a message).
//!
//! An outcome reaches JS as the result's JSON text, or as a `SessionError` object built by
//! errors.rs; failures never travel as text to re-parse.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::task::{Context, Poll};

use futures_util::stream::{FuturesUnordered, StreamExt};
use napi::bindgen_prelude::{FnArgs, Function, ToNapiValue, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{sys, JsValue, Status};
use poto_sessions::{runtime, Result, SessionError};
use tokio::sync::oneshot;

use crate::errors;

pub type Outcome = Result<String>;

/// An outcome as JS receives it: the JSON text of the result, or a `SessionError` object.
pub struct JsOutcome(pub Outcome);

impl ToNapiValue for JsOutcome {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            Ok(text) => unsafe { String::to_napi_value(env, text) },
            Err(e) => unsafe { errors::to_js(env, &e) },
        }
    }
}

type CompletionArgs = FnArgs<(Vec<u32>, Vec<JsOutcome>)>;
type RequestArgs = FnArgs<(Vec<u32>, Vec<u32>, Vec<u32>, Vec<String>, Vec<String>)>;
/// A call into JS: (request id, operation it serves, target, method, arguments as JSON).
type Request = (u32, u32, u32, &'static str, String);
type Tsfn<Args> = ThreadsafeFunction<(), Unknown<'static>, Args, Status, false, true, 0>;
type OpFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;

struct Bridge {
    /// The JS thread the bridge delivers to.
    thread: std::thread::ThreadId,
    done: Mutex<Vec<(u32, Outcome)>>,
    /// Operations started but not yet picked up by a runtime task.
    submitted: Mutex<Vec<(u32, OpFuture)>>,
    done_tsfn: Tsfn<CompletionArgs>,
    requests: Mutex<Vec<Request>>,
    request_tsfn: Tsfn<RequestArgs>,
    replies: Mutex<HashMap<u32, oneshot::Sender<Outcome>>>,
    next_request: AtomicU32,
}

static BRIDGE: OnceLock<Bridge> = OnceLock::new();

tokio::task_local! {
    /// The JS operation a future serves (0: none, e.g. a library task).
    static OP: u32;
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Installs the JS ends: `on_complete(ids, outcomes)`,
/// `on_request(ids, operations, targets, methods, args)` and the `SessionError` class.
pub fn init(
    on_complete: Function<'_, Unknown<'static>, Unknown<'static>>,
    on_request: Function<'_, Unknown<'static>, Unknown<'static>>,
    session_error: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<()> {
    if let Some(bridge) = BRIDGE.get() {
        if bridge.thread != std::thread::current().id() {
            return Err(napi::Error::from_reason(
                "poto-sessions is in use by another JS thread of this process: use it from one thread (e.g. the main thread) only",
            ));
        }
        return Ok(());
    }
    errors::init(session_error.value().env, session_error.raw())?;
    let done_tsfn =
        on_complete.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build_callback(
            |_ctx| {
                let batch = std::mem::take(&mut *lock(&BRIDGE.get().expect("bridge").done));
                let (ids, outcomes): (Vec<u32>, Vec<JsOutcome>) =
                    batch.into_iter().map(|(id, outcome)| (id, JsOutcome(outcome))).unzip();
                Ok(FnArgs::from((ids, outcomes)))
            },
        )?;
    let request_tsfn =
        on_request.build_threadsafe_function::<()>().callee_handled::<false>().weak::<true>().build_callback(
            |_ctx| {
                let batch = std::mem::take(&mut *lock(&BRIDGE.get().expect("bridge").requests));
                let mut ids = Vec::with_capacity(batch.len());
                let mut ops = Vec::with_capacity(batch.len());
                let mut targets = Vec::with_capacity(batch.len());
                let mut methods = Vec::with_capacity(batch.len());
                let mut args = Vec::with_capacity(batch.len());
                for (id, op, target, method, arg) in batch {
                    ids.push(id);
                    ops.push(op);
                    targets.push(target);
                    methods.push(method.to_owned());
                    args.push(arg);
                }
                Ok(FnArgs::from((ids, ops, targets, methods, args)))
            },
        )?;
    let _ = BRIDGE.set(Bridge {
        thread: std::thread::current().id(),
        done: Mutex::new(Vec::new()),
        submitted: Mutex::new(Vec::new()),
        done_tsfn,
        requests: Mutex::new(Vec::new()),
        request_tsfn,
        replies: Mutex::new(HashMap::new()),
        next_request: AtomicU32::new(1),
    });
    Ok(())
}

fn bridge() -> Result<&'static Bridge> {
    BRIDGE.get().ok_or_else(|| SessionError::Internal("the native bridge is not initialised".into()))
}

fn complete(id: u32, outcome: Outcome) {
    let Ok(bridge) = bridge() else { return };
    let first = {
        let mut queue = lock(&bridge.done);
        queue.push((id, outcome));
        queue.len() == 1
    };
    if first {
        bridge.done_tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
    }
}

/// Completes operation `id` with an internal error if its task ends without an outcome (the
/// runtime dropped it; a panic is already an outcome, see [`start_with`]).
struct Completion {
    id: u32,
    done: bool,
}

impl Drop for Completion {
    fn drop(&mut self) {
        if !self.done {
            complete(self.id, Err(SessionError::Internal("operation ended without an outcome".into())));
        }
    }
}

/// Starts operation `id`: polls it once here (on the JS thread, inside the hidden runtime's
/// context); a ready outcome is returned at once, otherwise (`None`, null in JS) it finishes on
/// the hidden runtime and is delivered through the completion queue.
pub fn start<F>(id: u32, future: F) -> Option<JsOutcome>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    start_with(id, true, future)
}

/// [`start`]; with `inline` false the first poll happens on the runtime too (for backends whose
/// calls are never ready at once, so the JS thread does not do their work).
pub fn start_with<F>(id: u32, inline: bool, future: F) -> Option<JsOutcome>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    // A panic inside the operation (here or on the runtime, in it or in a task it waits on)
    // ends it with the internal error: core's one guard.
    let future = OP.scope(id, runtime::guard(future));
    if !inline {
        spawn_op(id, future);
        return None;
    }
    let mut future = Box::pin(future);
    let polled = {
        let _enter = runtime::runtime().enter();
        let waker = futures_task::noop_waker();
        future.as_mut().poll(&mut Context::from_waker(&waker))
    };
    match polled {
        Poll::Ready(outcome) => Some(JsOutcome(outcome)),
        Poll::Pending => {
            spawn_op(id, future);
            None
        }
    }
}

/// Queues operation `id` for the runtime; the next [`flush`] hands it over.
fn spawn_op<F>(id: u32, future: F)
where
    F: Future<Output = Outcome> + Send + 'static,
{
    let Ok(bridge) = bridge() else { return };
    lock(&bridge.submitted).push((id, Box::pin(future)));
}

/// Hands every queued operation to one runtime task.
pub fn flush() {
    let Ok(bridge) = bridge() else { return };
    if !lock(&bridge.submitted).is_empty() {
        runtime::spawn(drive_batch(bridge));
    }
}

/// Drives every operation queued so far to its end, in one task: each is polled in turn, so the
/// commands they send are all queued on the connection before it next writes.
async fn drive_batch(bridge: &'static Bridge) {
    let batch = std::mem::take(&mut *lock(&bridge.submitted));
    let mut running: FuturesUnordered<_> = batch
        .into_iter()
        .map(|(id, future)| async move {
            let mut guard = Completion { id, done: false };
            let outcome = future.await;
            guard.done = true;
            complete(id, outcome);
        })
        .collect();
    while running.next().await.is_some() {}
}

/// Asks JS to run `method` of callback `target` with `args` (JSON), and awaits its reply.
pub async fn call_js(target: u32, method: &'static str, args: String) -> Outcome {
    let bridge = bridge()?;
    let id = bridge.next_request.fetch_add(1, Ordering::Relaxed);
    let (tx, rx) = oneshot::channel();
    lock(&bridge.replies).insert(id, tx);
    let first = {
        let mut queue = lock(&bridge.requests);
        // The operation this request serves, so JS runs the callback in its caller's async context.
        queue.push((id, OP.try_with(|op| *op).unwrap_or(0), target, method, args));
        queue.len() == 1
    };
    if first {
        let status = bridge.request_tsfn.call((), ThreadsafeFunctionCallMode::NonBlocking);
        if status != Status::Ok {
            lock(&bridge.replies).remove(&id);
            return Err(SessionError::Provider(format!("cannot call into JavaScript: {status}")));
        }
    }
    rx.await.unwrap_or_else(|_| Err(SessionError::Provider(format!("{method} was abandoned by JavaScript"))))
}

/// JS's answer to request `id`.
pub fn reply(id: u32, outcome: Outcome) {
    let Ok(bridge) = bridge() else { return };
    if let Some(tx) = lock(&bridge.replies).remove(&id) {
        let _ = tx.send(outcome);
    }
}
