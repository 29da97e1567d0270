//! The module and LLM API of the seed, on both providers.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use poto_sessions::{
    defaults_fn, with_user, ErrorKind, InMemorySessionProvider, LLMPotoModule, PeriodicCleanup, PotoModule,
    RedisOptions, RedisSessionProvider, SessionProvider,
};
use serde_json::json;
use support::RedisServer;

fn memory() -> Arc<dyn SessionProvider> {
    Arc::new(InMemorySessionProvider::new())
}

#[tokio::test]
async fn no_current_user_is_not_authenticated() {
    let module = PotoModule::new().with_provider(memory());
    assert_eq!(module.get_user_session().await.unwrap_err().kind(), ErrorKind::NotAuthenticated);
    assert_eq!(module.set_session_value("k", 1).await.unwrap_err().kind(), ErrorKind::NotAuthenticated);
}

#[tokio::test]
async fn seed_module_flow() {
    let module = PotoModule::new().with_provider(memory());
    with_user("alice", async {
        let session = module.get_user_session().await.unwrap();
        assert_eq!(session["userId"], "alice");
        assert!(session.contains_key("createdAt") && session.contains_key("lastActivity"));
        let updated = module
            .update_user_session(|s| {
                s.insert("someField".into(), json!("value"));
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(updated["someField"], "value");
        assert_eq!(module.get_session_value("someField").await.unwrap(), Some(json!("value")));
        module.set_session_value("other", json!([1, 2])).await.unwrap();
        assert_eq!(module.get_user_session().await.unwrap()["someField"], "value");
        let stats = module.get_session_stats().await.unwrap();
        assert_eq!((stats.active_sessions, stats.user_ids), (1, vec!["alice".to_string()]));
        module.delete_user_session().await.unwrap();
        assert_eq!(module.get_session_stats().await.unwrap().active_sessions, 0);
    })
    .await;
}

#[tokio::test]
async fn failing_update_changes_nothing() {
    let module = PotoModule::new().with_provider(memory());
    module.set_session_value_for("bob", "n", 1).await.unwrap();
    let before = module.provider().get_session("bob").await.unwrap();
    let err = module
        .update_user_session_for("bob", |s| {
            s.insert("n".into(), json!(2));
            Err(poto_sessions::SessionError::Provider("nope".into()))
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(module.provider().get_session("bob").await.unwrap(), before);
    let reserved = module.set_session_value_for("bob", "userId", "mallory").await.unwrap_err();
    assert_eq!(reserved.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn default_data_can_be_extended() {
    // The seed's MyModule extends LLMPotoModule and adds fields to the defaults.
    let module = LLMPotoModule::new().with_provider(memory()).with_defaults(defaults_fn(|_, mut base| {
        base.insert("customField".into(), json!("default"));
        base.insert("anotherField".into(), json!(0));
        Ok(base)
    }));
    let session = module.get_user_session_for("carol").await.unwrap();
    assert_eq!(session["customField"], "default");
    assert_eq!(session["anotherField"], 0);
    assert_eq!(session["currentModelName"], "llm1");
}

#[tokio::test]
async fn defaults_are_never_rewritten_over_existing_data() {
    let provider = memory();
    let calls = Arc::new(Mutex::new(0));
    let counted = calls.clone();
    let module = PotoModule::new().with_provider(provider.clone()).with_defaults(defaults_fn(move |_, mut base| {
        *counted.lock().unwrap() += 1;
        base.insert("fresh".into(), json!(true));
        Ok(base)
    }));
    provider.set_session("dave", json!({"fresh": false}).as_object().unwrap().clone(), None).await.unwrap();
    assert_eq!(module.get_user_session_for("dave").await.unwrap()["fresh"], false);
    assert_eq!(*calls.lock().unwrap(), 0, "factory ran for an existing session");
}

#[tokio::test]
async fn llm_model_preference_crosses_instances_on_redis() {
    let server = RedisServer::start();
    let connect = || async {
        let p = RedisSessionProvider::connect(RedisOptions::new().url(server.url())).await.unwrap();
        Arc::new(p) as Arc<dyn SessionProvider>
    };
    let server1 = LLMPotoModule::new().with_provider(connect().await);
    let server2 = LLMPotoModule::new().with_default_model("gpt-x").unwrap().with_provider(connect().await);
    assert_eq!(server2.get_user_model_for("erin").await.unwrap(), "gpt-x");
    server1.update_user_model_for("erin", "llm2").await.unwrap();
    assert_eq!(server2.get_user_model_for("erin").await.unwrap(), "llm2");
    server2.set_system_prompt_for("erin", "be brief").await.unwrap();
    server2.set_current_conversation_id_for("erin", "c-1").await.unwrap();
    assert_eq!(server1.get_system_prompt_for("erin").await.unwrap().as_deref(), Some("be brief"));
    assert_eq!(server1.get_current_conversation_id_for("erin").await.unwrap().as_deref(), Some("c-1"));
    assert_eq!(server1.get_user_model_for("erin").await.unwrap(), "llm2");
    assert_eq!(server1.update_user_model_for("erin", "").await.unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(server1.update_user_model_for("erin", "a\0b").await.unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn module_counter_under_contention_is_exact() {
    let server = RedisServer::start();
    let mut modules = Vec::new();
    for _ in 0..2 {
        let p = RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("cnt:")).await.unwrap();
        modules.push(PotoModule::new().with_provider(Arc::new(p)));
    }
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let module = modules[i % 2].clone();
            tokio::spawn(with_user("frank", async move {
                module
                    .update_user_session(|s| {
                        let n = s.get("n").and_then(|v| v.as_u64()).unwrap_or(0);
                        s.insert("n".into(), json!(n + 1));
                        Ok(())
                    })
                    .await
            }))
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(modules[0].get_user_session_for("frank").await.unwrap()["n"], 64);
}

#[test]
fn global_provider_and_periodic_cleanup() {
    let store = Arc::new(InMemorySessionProvider::new());
    poto_sessions::set_session_provider(store.clone());
    let module = PotoModule::new();
    poto_sessions::runtime::block_on(module.set_session_value_for("gina", "k", 1)).unwrap().unwrap();
    assert!(poto_sessions::runtime::block_on(store.has_session("gina")).unwrap().unwrap());

    let reports = Arc::new(Mutex::new(Vec::new()));
    let seen = reports.clone();
    let cleanup =
        PeriodicCleanup::start(store.clone(), Duration::from_millis(100), Duration::from_millis(50), move |r| {
            seen.lock().unwrap().push(r)
        })
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while reports.lock().unwrap().iter().all(|r| r.total_removed == 0) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    cleanup.stop();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.last().map(|r| r.total_removed), Some(1), "{reports:?}");
    assert!(!poto_sessions::runtime::block_on(store.has_session("gina")).unwrap().unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflict_after_the_retry_budget_applies_nothing() {
    let store = Arc::new(InMemorySessionProvider::new());
    let policy = poto_sessions::RetryPolicy { budget: Duration::from_millis(50), ..Default::default() };
    let module = PotoModule::new().with_provider(store.clone()).with_retry(policy);
    module.set_session_value_for("hal", "rival", 0).await.unwrap();
    let mut attempts = 0;
    let err = module
        .update_user_session_for("hal", |session| {
            attempts += 1;
            session.insert("mine".into(), json!(true));
            // Another server wins the race every time.
            let rival = store.clone();
            std::thread::spawn(move || {
                poto_sessions::runtime::block_on(rival.set_field("hal", "rival", json!(attempts), None, None))
            })
            .join()
            .unwrap()
            .unwrap()
            .unwrap();
            Ok(())
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let session = store.get_session("hal").await.unwrap().unwrap();
    assert!(!session.contains_key("mine"), "a conflicting update was applied");
    assert_eq!(session["rival"], json!(attempts));
}

/// DESIGN §4.10 through the module: a read of a fresh session writes nothing (on Redis: no
/// script runs), a read with `touch_after = 0` stamps `lastActivity` every time.
#[tokio::test]
async fn module_reads_touch_lazily() {
    let server = RedisServer::start();
    let redis: Arc<dyn SessionProvider> =
        Arc::new(RedisSessionProvider::new(RedisOptions::new().url(server.url())).unwrap());
    for provider in [memory(), redis] {
        let lazy = PotoModule::new().with_provider(provider.clone());
        let eager = PotoModule::new().with_provider(provider.clone()).with_touch_after(Duration::ZERO);
        let first = lazy.get_user_session_for("reader").await.unwrap();
        let scripts_before = server.cli(&["INFO", "commandstats"]);
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(3)).await;
            assert_eq!(lazy.get_user_session_for("reader").await.unwrap(), first);
        }
        let stored = provider.get_session("reader").await.unwrap().unwrap();
        assert_eq!(stored["lastActivity"], first["lastActivity"], "a fresh read wrote the session");
        let evalsha = |stats: &str| stats.lines().find(|l| l.starts_with("cmdstat_evalsha:")).map(str::to_owned);
        assert_eq!(
            evalsha(&scripts_before),
            evalsha(&server.cli(&["INFO", "commandstats"])),
            "a fresh read ran a script"
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
        eager.get_user_session_for("reader").await.unwrap();
        let touched = provider.get_session("reader").await.unwrap().unwrap();
        assert_ne!(touched["lastActivity"], first["lastActivity"], "touch_after = 0 did not touch");
    }
}

/// Updates of one user from one process queue before they compare-and-set: 8 threads' 2,000
/// updates all apply, and Redis runs one write script per update (none lost to a conflict).
#[test]
fn one_process_hot_user_updates_queue_instead_of_conflicting() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(8).enable_all().build().unwrap();
    let provider =
        runtime.block_on(RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("hot:"))).unwrap();
    let module = PotoModule::new().with_provider(Arc::new(provider));
    runtime.block_on(module.get_user_session_for("hot")).unwrap();
    let calls = |server: &RedisServer| -> u64 {
        let stats = server.cli(&["INFO", "commandstats"]);
        let line = stats.lines().find(|l| l.starts_with("cmdstat_evalsha:")).unwrap_or("calls=0,").to_owned();
        line.split("calls=").nth(1).and_then(|r| r.split(',').next()).unwrap().parse().unwrap()
    };
    let before = calls(&server);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let module = module.clone();
            runtime.spawn(async move {
                for _ in 0..250 {
                    module
                        .update_user_session_for("hot", |s| {
                            let n = s.get("n").and_then(|v| v.as_u64()).unwrap_or(0);
                            s.insert("n".into(), json!(n + 1));
                            Ok(())
                        })
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        runtime.block_on(task).unwrap();
    }
    assert_eq!(runtime.block_on(module.get_user_session_for("hot")).unwrap()["n"], 2000);
    assert_eq!(calls(&server) - before, 2000, "updates of one process conflicted with each other");
}

/// An update function that updates its own user again cannot wait for itself forever: the
/// inner update gives up with `Conflict` after the retry budget.
#[tokio::test]
async fn a_nested_update_of_the_same_user_ends_in_conflict() {
    let module = PotoModule::new()
        .with_provider(memory())
        .with_retry(poto_sessions::RetryPolicy { budget: Duration::from_millis(200), ..Default::default() });
    let inner = module.clone();
    let err = module
        .update_user_session_with("nested", poto_sessions::NumberModel::Exact, move |data| {
            let inner = inner.clone();
            async move {
                inner.update_user_session_for("nested", |_| Ok(())).await?;
                Ok(data)
            }
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict);
}
