//! The conformance suite against every built-in provider, on a real redis-server.

mod support;

use std::sync::Arc;

use async_trait::async_trait;
use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::data::DEFAULT_MAX_SESSION_BYTES;
use poto_sessions::{InMemorySessionProvider, RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use support::RedisServer;

fn options() -> ConformanceOptions {
    ConformanceOptions { max_session_bytes: Some(DEFAULT_MAX_SESSION_BYTES), ..ConformanceOptions::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_provider_conforms() {
    let store: Arc<dyn SessionProvider> = Arc::new(InMemorySessionProvider::new());
    let report = run_conformance(|| std::future::ready(Ok(store.clone())), options()).await;
    assert!(report.is_ok(), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_provider_conforms() {
    let server = RedisServer::start();
    let url = server.url();
    let report = run_conformance(
        || {
            let url = url.clone();
            async move {
                let p = RedisSessionProvider::connect(RedisOptions::new().url(url).prefix("conf:")).await?;
                Ok(Arc::new(p) as Arc<dyn SessionProvider>)
            }
        },
        options(),
    )
    .await;
    assert!(report.is_ok(), "{report}");
}

/// A custom provider with only the required methods: the module layer falls back to a
/// per-process lock, which the same suite must accept.
struct Minimal(InMemorySessionProvider);

#[async_trait]
impl SessionProvider for Minimal {
    async fn get_session(&self, id: &str) -> poto_sessions::Result<Option<SessionData>> {
        self.0.get_session(id).await
    }
    async fn set_session(
        &self,
        id: &str,
        data: SessionData,
        ttl: Option<std::time::Duration>,
    ) -> poto_sessions::Result<()> {
        self.0.set_session(id, data, ttl).await
    }
    async fn delete_session(&self, id: &str) -> poto_sessions::Result<()> {
        self.0.delete_session(id).await
    }
    async fn has_session(&self, id: &str) -> poto_sessions::Result<bool> {
        self.0.has_session(id).await
    }
    async fn cleanup_old_sessions(&self, max_age: std::time::Duration) -> poto_sessions::Result<u64> {
        self.0.cleanup_old_sessions(max_age).await
    }
    async fn get_active_sessions(&self) -> poto_sessions::Result<Vec<String>> {
        self.0.get_active_sessions().await
    }
    async fn clear(&self) -> poto_sessions::Result<u64> {
        self.0.clear().await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_without_optional_capabilities_conforms() {
    let store: Arc<dyn SessionProvider> = Arc::new(Minimal(InMemorySessionProvider::new()));
    let report = run_conformance(|| std::future::ready(Ok(store.clone())), options()).await;
    assert!(report.is_ok(), "{report}");
}
