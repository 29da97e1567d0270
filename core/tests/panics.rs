//! No panic leaves a call waiting (core/src/failpoint.rs, compiled into test builds only): a
//! panic in an operation — in the awaited future, or in a task it waits on — ends the call with
//! `SessionError::Internal`, and the next call works. Failpoints are process-wide, so one test
//! runs every case in turn. A call left waiting shows as the generous timeout expiring.

mod support;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::failpoint::{arm, disarm};
use poto_sessions::host::{host_provider, HostCall, HostMethod, HostObject};
use poto_sessions::{
    runtime, CustomOptions, ErrorKind, InMemorySessionProvider, PotoModule, RedisOptions, RedisSessionProvider, Result,
    SessionData, SessionError, SessionProvider,
};
use serde_json::{json, Value};

const LOST: Duration = Duration::from_secs(120);

async fn ends<T: std::fmt::Debug>(call: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::time::timeout(LOST, runtime::guard(call)).await.expect("the call was left waiting")
}

async fn fails_then_works<T, F, Fut>(point: &str, call: F)
where
    T: std::fmt::Debug,
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    arm(point, Some(1));
    let error = ends(call()).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal, "{point}: {error}");
    assert!(error.to_string().contains(&format!("panicked: poto-sessions failpoint {point}")), "{error}");
    ends(call()).await.unwrap_or_else(|e| panic!("{point}, next call: {e}"));
}

fn session() -> SessionData {
    json!({"theme": "dark"}).as_object().unwrap().clone()
}

/// A host object whose methods run on the blocking pool, as C and sync Python ones do.
struct Blocking;

#[async_trait]
impl HostObject for Blocking {
    fn implements(&self, method: HostMethod) -> bool {
        HostMethod::REQUIRED.contains(&method)
    }
    async fn call(&self, call: HostCall) -> Result<Value> {
        runtime::run_blocking(move || {
            Ok(match call {
                HostCall::HasSession { .. } => json!(false),
                HostCall::GetActiveSessions => json!([]),
                HostCall::CleanupOldSessions { .. } | HostCall::Clear => json!(0),
                _ => Value::Null,
            })
        })
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_ends_the_call_with_the_internal_error() {
    // The module API catches panics itself (no guard needed by a Rust caller).
    let memory = Arc::new(InMemorySessionProvider::new());
    let module = PotoModule::new().with_provider(memory.clone());
    arm("module.update", Some(1));
    let error = module.update_user_session_for("ada", |s| Ok(drop(s.insert("n".into(), json!(1))))).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Internal, "{error}");
    module.update_user_session_for("ada", |s| Ok(drop(s.insert("n".into(), json!(2))))).await.unwrap();
    arm("memory.get", Some(1));
    assert_eq!(module.get_user_session_for("ada").await.unwrap_err().kind(), ErrorKind::Internal);
    assert_eq!(module.get_user_session_for("ada").await.unwrap()["n"], json!(2));

    // Providers, through the guard every binding runs operations in.
    fails_then_works("memory.get", || memory.get_session("ada")).await;
    fails_then_works("memory.set", || memory.set_session("ada", session(), None)).await;

    let server = support::RedisServer::start();
    let redis =
        Arc::new(RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("panics:")).await.unwrap());
    fails_then_works("redis.write", || redis.set_session("ada", session(), None)).await;
    fails_then_works("redis.read", || redis.get_session("ada")).await;
    let on_redis = PotoModule::new().with_provider(redis.clone());
    fails_then_works("module.update", || on_redis.update_user_session_for("ada", |_| Ok(()))).await;

    // A custom provider: in the awaited host call, and inside the blocking task it waits on.
    let custom = host_provider(Arc::new(Blocking), &CustomOptions::default(), HostMethod::snake_name).unwrap();
    fails_then_works("host.call", || custom.get_session("ada")).await;
    fails_then_works("host.task", || custom.get_session("ada")).await;

    // An operation spawned on the hidden runtime, as the bindings start them: its panic is the
    // outcome, for the awaited future and for a panic the guard did not see (the task's own).
    arm("memory.get", Some(1));
    let spawned = {
        let memory = memory.clone();
        runtime::spawn_op(async move { memory.get_session("ada").await })
    };
    assert_eq!(tokio::time::timeout(LOST, spawned).await.unwrap().unwrap_err().kind(), ErrorKind::Internal);
    let task = runtime::spawn(async { panic!("a dependency's task") });
    let joined: SessionError = runtime::join_error(tokio::time::timeout(LOST, task).await.unwrap().unwrap_err());
    assert_eq!(joined, SessionError::Internal("operation panicked: a dependency's task".into()));

    // Armed for every hit until disarmed.
    arm("memory.get", None);
    for _ in 0..3 {
        assert_eq!(ends(memory.get_session("ada")).await.unwrap_err().kind(), ErrorKind::Internal);
    }
    disarm("memory.get");
    assert!(ends(memory.get_session("ada")).await.unwrap().is_some());
}

#[test]
fn an_unknown_point_is_refused() {
    let refused = std::panic::catch_unwind(|| arm("no.such.point", Some(1)));
    assert!(refused.is_err());
}
