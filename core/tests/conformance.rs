//! The conformance suite against every built-in provider, on a real redis-server.

#[path = "support/bare.rs"]
mod bare;
mod support;

use std::sync::Arc;

use bare::BareStore;
use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::custom::StampedProvider;
use poto_sessions::data::DEFAULT_MAX_SESSION_BYTES;
use poto_sessions::{InMemorySessionProvider, RedisOptions, RedisSessionProvider, SessionProvider};
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

/// A custom provider with only the required methods (support/bare.rs) behind
/// `StampedProvider`: the module layer falls back to a per-process lock, and the suite must
/// pass with what `StampedProvider` adds, not with a built-in underneath.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_custom_provider_conforms() {
    let store: Arc<dyn SessionProvider> = Arc::new(StampedProvider::new(Arc::new(BareStore::default())));
    let report = run_conformance(|| std::future::ready(Ok(store.clone())), options()).await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(report.skipped.len(), 1, "only compare-and-set is skipped: {report}");
}
