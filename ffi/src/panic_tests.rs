//! No panic leaves a C call waiting: with a failpoint armed (core/src/failpoint.rs, compiled into
//! `cargo test` builds only), the blocking form returns `POTO_ERR_INTERNAL`, the `_async` form
//! calls `done` exactly once with it, and the next call succeeds. Driven through the exported
//! `poto_` functions, as a C host calls them (a test binary cannot link the cdylib itself).
//! A lost `done` shows as the receive's generous timeout expiring, never as a timed assertion.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Duration;

use poto_sessions::failpoint::arm;

use crate::call::poto_last_error_message;
use crate::callbacks::{poto_done_fn, poto_update_fn};
use crate::custom::{poto_custom_provider_new, poto_provider_callbacks};
use crate::handles::{poto_module, poto_module_free, poto_provider, poto_provider_free};
use crate::memory_options::poto_memory_provider_new;
use crate::module_ops::{poto_module_update_user_session, poto_module_update_user_session_async};
use crate::module_options::{
    poto_module_new, poto_module_options_free, poto_module_options_new, poto_module_options_set_provider,
};
use crate::provider_sessions::{
    poto_provider_get_session, poto_provider_get_session_async, poto_provider_set_session,
    poto_provider_set_session_async,
};
use crate::redis_options::{
    poto_redis_options_free, poto_redis_options_new, poto_redis_options_set_url, poto_redis_provider_new,
};
use crate::status::poto_status::{self, POTO_ERR_INTERNAL, POTO_OK};
use crate::strings::poto_string_free;

/// Far beyond any call here: reaching it means a call was left waiting.
const LOST: Duration = Duration::from_secs(120);

fn last_error() -> String {
    unsafe { CStr::from_ptr(poto_last_error_message()) }.to_string_lossy().into_owned()
}

/// What `done` receives, with how many times it was called for this completion.
struct Completion {
    tx: Sender<(poto_status, String)>,
    calls: AtomicUsize,
}

unsafe extern "C" fn done(user_data: *mut c_void, status: poto_status, result: *const c_char) {
    let completion = &*(user_data as *const Completion);
    completion.calls.fetch_add(1, Ordering::SeqCst);
    let _ = completion.tx.send((status, CStr::from_ptr(result).to_string_lossy().into_owned()));
}

/// Starts an `_async` call with a fresh completion and waits for its `done`. The completion is
/// leaked: `done` may still be returning from `send` when the receiver wakes.
fn completed(
    start: impl FnOnce(poto_done_fn, *mut c_void) -> poto_status,
) -> (poto_status, String, &'static Completion) {
    let (tx, rx): (_, Receiver<_>) = channel();
    let completion: &'static Completion = Box::leak(Box::new(Completion { tx, calls: AtomicUsize::new(0) }));
    let started = start(Some(done), completion as *const Completion as *mut c_void);
    assert_eq!(started, POTO_OK, "{}", last_error());
    let (status, text) = rx.recv_timeout(LOST).expect("done was never called: the call was left waiting");
    (status, text, completion)
}

fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

fn memory_provider() -> *mut poto_provider {
    let mut provider = null_mut();
    assert_eq!(unsafe { poto_memory_provider_new(null(), &mut provider) }, POTO_OK);
    provider
}

fn module_on(provider: *const poto_provider) -> *mut poto_module {
    let (mut options, mut module) = (null_mut(), null_mut());
    unsafe {
        assert_eq!(poto_module_options_new(&mut options), POTO_OK);
        assert_eq!(poto_module_options_set_provider(options, provider), POTO_OK);
        assert_eq!(poto_module_new(options, &mut module), POTO_OK);
        poto_module_options_free(options);
    }
    module
}

/// A blocking get: its status, freeing what it returned.
fn get(provider: *const poto_provider, user: &str) -> poto_status {
    let (user, mut out) = (c(user), null_mut());
    let status = unsafe { poto_provider_get_session(provider, user.as_ptr(), &mut out) };
    unsafe { poto_string_free(out) };
    status
}

fn set(provider: *const poto_provider, user: &str) -> poto_status {
    let (user, json) = (c(user), c(r#"{"theme":"dark"}"#));
    unsafe { poto_provider_set_session(provider, user.as_ptr(), json.as_ptr(), 0) }
}

/// A blocking failure then a success, through `call`, with `point` armed for one hit.
fn blocking_case(point: &str, call: impl Fn() -> poto_status) {
    arm(point, Some(1));
    let status = call();
    assert_eq!(status, POTO_ERR_INTERNAL, "{point}: {}", last_error());
    assert!(last_error().contains("panicked") && last_error().contains(point), "{point}: {}", last_error());
    assert_eq!(call(), POTO_OK, "{point}, next call: {}", last_error());
}

/// The same through an `_async` form: `done` once with `POTO_ERR_INTERNAL`, then a success.
fn async_case(point: &str, start: impl Fn(poto_done_fn, *mut c_void) -> poto_status) {
    arm(point, Some(1));
    let (status, text, failed) = completed(&start);
    assert_eq!(status, POTO_ERR_INTERNAL, "{point}: {text}");
    assert!(text.contains("panicked") && text.contains(point), "{point}: {text}");
    let (status, text, _) = completed(&start);
    assert_eq!(status, POTO_OK, "{point}, next call: {text}");
    // The failed call's done ran before the next call began and was not repeated since.
    assert_eq!(failed.calls.load(Ordering::SeqCst), 1, "{point}: done called more than once");
}

unsafe extern "C" fn update(_: *mut c_void, _: *const c_char, out: *mut *mut c_char) -> c_int {
    let json = c(r#"{"n":1}"#);
    *out = libc::strdup(json.as_ptr());
    0
}

const UPDATE: poto_update_fn = Some(update);

// A C store that keeps nothing: enough for calls to succeed when nothing panics.
unsafe extern "C" fn c_get(_: *mut c_void, _: *const c_char, out: *mut *mut c_char) -> c_int {
    *out = null_mut();
    0
}
unsafe extern "C" fn c_set(_: *mut c_void, _: *const c_char, _: *const c_char, _: u64) -> c_int {
    0
}
unsafe extern "C" fn c_delete(_: *mut c_void, _: *const c_char) -> c_int {
    0
}
unsafe extern "C" fn c_has(_: *mut c_void, _: *const c_char, out: *mut bool) -> c_int {
    *out = false;
    0
}
unsafe extern "C" fn c_cleanup(_: *mut c_void, _: u64, out: *mut u64) -> c_int {
    *out = 0;
    0
}
unsafe extern "C" fn c_list(_: *mut c_void, out: *mut *mut c_char) -> c_int {
    *out = libc::strdup(c"[]".as_ptr());
    0
}
unsafe extern "C" fn c_clear(_: *mut c_void, out: *mut u64) -> c_int {
    *out = 0;
    0
}

fn c_provider() -> *mut poto_provider {
    let callbacks = poto_provider_callbacks {
        struct_size: std::mem::size_of::<poto_provider_callbacks>(),
        user_data: null_mut(),
        free_user_data: None,
        get_session: Some(c_get),
        set_session: Some(c_set),
        delete_session: Some(c_delete),
        has_session: Some(c_has),
        cleanup_old_sessions: Some(c_cleanup),
        get_active_sessions: Some(c_list),
        clear: Some(c_clear),
        count: None,
        get_versioned: None,
        compare_and_set: None,
    };
    let mut provider = null_mut();
    assert_eq!(unsafe { poto_custom_provider_new(&callbacks, null(), &mut provider) }, POTO_OK, "{}", last_error());
    provider
}

/// Failpoints are process-wide: one test runs every case in turn.
#[test]
fn a_panic_ends_the_call_with_the_internal_error_and_the_next_call_works() {
    let user = c("ada");
    // In-memory provider: the read and write paths, blocking and _async.
    let memory = memory_provider();
    assert_eq!(set(memory, "ada"), POTO_OK);
    blocking_case("memory.get", || get(memory, "ada"));
    blocking_case("memory.set", || set(memory, "ada"));
    let json = c(r#"{"theme":"light"}"#);
    async_case("memory.get", |d, u| unsafe { poto_provider_get_session_async(memory, user.as_ptr(), d, u) });
    async_case("memory.set", |d, u| unsafe {
        poto_provider_set_session_async(memory, user.as_ptr(), json.as_ptr(), 0, d, u)
    });

    // The module's update path (a C update function on the blocking pool), both forms.
    let module = module_on(memory);
    blocking_case("module.update", || unsafe {
        let mut out = null_mut();
        let status = poto_module_update_user_session(module, user.as_ptr(), UPDATE, null_mut(), &mut out);
        poto_string_free(out);
        status
    });
    async_case("module.update", |d, u| unsafe {
        poto_module_update_user_session_async(module, user.as_ptr(), UPDATE, null_mut(), d, u)
    });

    // A C custom provider: in the awaited host call, and inside the blocking-pool task running
    // the C function, which the operation waits on.
    let custom = c_provider();
    for point in ["host.call", "host.task"] {
        blocking_case(point, || get(custom, "ada"));
        async_case(point, |d, u| unsafe { poto_provider_get_session_async(custom, user.as_ptr(), d, u) });
    }

    // Redis: a command of each access, on a private server.
    let server = support::RedisServer::start();
    let (mut options, mut redis) = (null_mut(), null_mut());
    let url = c(&server.url());
    unsafe {
        assert_eq!(poto_redis_options_new(&mut options), POTO_OK);
        assert_eq!(poto_redis_options_set_url(options, url.as_ptr()), POTO_OK);
        assert_eq!(poto_redis_provider_new(options, &mut redis), POTO_OK, "{}", last_error());
        poto_redis_options_free(options);
    }
    assert_eq!(set(redis, "ada"), POTO_OK, "{}", last_error());
    blocking_case("redis.read", || get(redis, "ada"));
    blocking_case("redis.write", || set(redis, "ada"));
    async_case("redis.read", |d, u| unsafe { poto_provider_get_session_async(redis, user.as_ptr(), d, u) });
    async_case("redis.write", |d, u| unsafe {
        poto_provider_set_session_async(redis, user.as_ptr(), json.as_ptr(), 0, d, u)
    });

    unsafe {
        poto_module_free(module);
        for provider in [memory, custom, redis] {
            poto_provider_free(provider);
        }
    }
}
