//! Custom providers of a host language through core's adapter (`host_provider`): the same
//! conformance suite as the built-ins, the checks on the object, and its results read strictly.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use poto_sessions::conformance::{run_conformance_on, ConformanceOptions};
use poto_sessions::data::{now_unix_ms, parse_timestamp};
use poto_sessions::host::{host_provider, HostCall, HostMethod, HostObject};
use poto_sessions::{CustomOptions, ErrorKind, PotoModule, Result, SessionError};
use serde_json::{json, Value};

/// An object as a host language would write one: JSON in, JSON out, versions when asked.
struct MapObject {
    versioned: bool,
    sessions: Mutex<HashMap<String, (Value, u64, Instant)>>,
    next_version: Mutex<u64>,
    /// Replaces every get_session result (to test how results are read).
    get_reply: Option<Value>,
}

impl MapObject {
    fn new(versioned: bool) -> Self {
        MapObject { versioned, sessions: Mutex::default(), next_version: Mutex::new(1), get_reply: None }
    }

    fn store(&self, user_id: String, data: Value, ttl: Option<Duration>) -> u64 {
        // Locks in one order everywhere: sessions, then the version counter.
        let mut sessions = self.sessions.lock().unwrap();
        let mut next = self.next_version.lock().unwrap();
        *next += 1;
        let expires = Instant::now() + ttl.unwrap_or(Duration::from_secs(3600));
        sessions.insert(user_id, (data, *next, expires));
        *next
    }

    fn live(&self, user_id: &str) -> Option<(Value, u64)> {
        let sessions = self.sessions.lock().unwrap();
        sessions.get(user_id).filter(|(_, _, exp)| *exp > Instant::now()).map(|(d, v, _)| (d.clone(), *v))
    }
}

#[async_trait]
impl HostObject for MapObject {
    fn implements(&self, method: HostMethod) -> bool {
        match method {
            HostMethod::GetVersioned | HostMethod::CompareAndSet => self.versioned,
            HostMethod::Count | HostMethod::GetStats => false,
            _ => true,
        }
    }

    async fn call(&self, call: HostCall) -> Result<Value> {
        let now = Instant::now();
        Ok(match call {
            HostCall::GetSession { user_id } => match &self.get_reply {
                Some(reply) => reply.clone(),
                None => self.live(&user_id).map_or(Value::Null, |(d, _)| d),
            },
            HostCall::SetSession { user_id, data, ttl } => {
                self.store(user_id, Value::Object(data), ttl);
                Value::Null
            }
            HostCall::DeleteSession { user_id } => {
                self.sessions.lock().unwrap().remove(&user_id);
                Value::Null
            }
            HostCall::HasSession { user_id } => json!(self.live(&user_id).is_some()),
            HostCall::CleanupOldSessions { max_age } => {
                let oldest = now_unix_ms() - max_age.as_millis() as i64;
                let mut sessions = self.sessions.lock().unwrap();
                let before = sessions.len();
                sessions.retain(|_, (d, _, exp)| {
                    *exp > now && d["lastActivity"].as_str().and_then(parse_timestamp).is_none_or(|t| t >= oldest)
                });
                json!(before - sessions.len())
            }
            HostCall::GetActiveSessions => {
                let sessions = self.sessions.lock().unwrap();
                json!(sessions.iter().filter(|(_, (_, _, e))| *e > now).map(|(k, _)| k).collect::<Vec<_>>())
            }
            HostCall::Clear => {
                let mut sessions = self.sessions.lock().unwrap();
                let n = sessions.values().filter(|(_, _, e)| *e > now).count();
                sessions.clear();
                json!(n)
            }
            HostCall::GetVersioned { user_id } => match self.live(&user_id) {
                Some((data, version)) => json!([data, version]),
                None => Value::Null,
            },
            HostCall::CompareAndSet { user_id, expected, data, ttl } => {
                // Check and store under one lock: compare-and-set must be atomic.
                let mut sessions = self.sessions.lock().unwrap();
                let current = sessions.get(&user_id).filter(|(_, _, e)| *e > now).map(|(_, v, _)| *v);
                if current != expected {
                    return Ok(Value::Null);
                }
                let mut next = self.next_version.lock().unwrap();
                *next += 1;
                let expires = now + ttl.unwrap_or(Duration::from_secs(3600));
                sessions.insert(user_id, (Value::Object(data), *next, expires));
                json!(*next)
            }
            HostCall::Count | HostCall::GetStats => {
                return Err(SessionError::Internal("not implemented".into()));
            }
        })
    }
}

fn options() -> ConformanceOptions {
    ConformanceOptions { max_session_bytes: Some(1 << 20), ..ConformanceOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_objects_with_and_without_versions_conform() {
    for versioned in [false, true] {
        let object = Arc::new(MapObject::new(versioned));
        let provider = host_provider(object, &CustomOptions::default(), HostMethod::snake_name).unwrap();
        let report = run_conformance_on(provider, None, options()).await;
        assert!(report.is_ok(), "versioned={versioned}: {report}");
        assert_eq!(report.skipped.len(), usize::from(!versioned), "{report}");
    }
}

#[tokio::test]
async fn objects_lacking_methods_are_refused_by_name() {
    struct Half;
    #[async_trait]
    impl HostObject for Half {
        fn implements(&self, method: HostMethod) -> bool {
            matches!(method, HostMethod::GetSession | HostMethod::SetSession | HostMethod::GetVersioned)
        }
        async fn call(&self, _: HostCall) -> Result<Value> {
            Ok(Value::Null)
        }
    }
    let err = host_provider(Arc::new(Half), &CustomOptions::default(), HostMethod::camel_name).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("deleteSession, hasSession"), "{err}");
}

#[tokio::test]
async fn results_of_the_wrong_shape_are_provider_errors_naming_the_method() {
    for reply in [json!([1, 2]), json!("text"), json!(3)] {
        let mut object = MapObject::new(false);
        object.get_reply = Some(reply);
        let provider = host_provider(Arc::new(object), &CustomOptions::default(), HostMethod::snake_name).unwrap();
        let err = provider.get_session("u").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Provider);
        assert!(err.to_string().contains("get_session returned"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn modules_over_one_adapter_share_its_update_lock() {
    let provider =
        host_provider(Arc::new(MapObject::new(false)), &CustomOptions::default(), HostMethod::snake_name).unwrap();
    let modules = [PotoModule::new().with_provider(provider.clone()), PotoModule::new().with_provider(provider)];
    let mut tasks = Vec::new();
    for i in 0..200 {
        let module = modules[i % 2].clone();
        tasks.push(tokio::spawn(async move {
            module
                .update_user_session_for("hot", |s| {
                    let n = s.get("n").and_then(Value::as_u64).unwrap_or(0);
                    s.insert("n".into(), json!(n + 1));
                    Ok(())
                })
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let session = modules[0].get_user_session_for("hot").await.unwrap();
    assert_eq!(session["n"], 200);
}
