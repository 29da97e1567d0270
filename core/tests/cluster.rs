//! The same conformance suite on a local Redis Cluster (3 masters): every script stays in one
//! slot, and count, listing and cleanup see every master.

mod support;

use std::sync::Arc;

use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::data::DEFAULT_MAX_SESSION_BYTES;
use poto_sessions::{RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use support::RedisCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_conforms_and_spreads_over_every_master() {
    let cluster = RedisCluster::start(3);
    let url = cluster.url();
    let options = ConformanceOptions { max_session_bytes: Some(DEFAULT_MAX_SESSION_BYTES), ..Default::default() };
    let report = run_conformance(
        || {
            let url = url.clone();
            async move {
                let p = RedisSessionProvider::connect(RedisOptions::new().url(url).prefix("cl:")).await?;
                Ok(Arc::new(p) as Arc<dyn SessionProvider>)
            }
        },
        options,
    )
    .await;
    assert!(report.is_ok(), "{report}");

    // Sessions land on every master, and the cluster-wide count and listing see them all.
    let p = RedisSessionProvider::connect(RedisOptions::new().url(cluster.url()).prefix("spread:")).await.unwrap();
    for i in 0..300 {
        p.set_session(&format!("user-{i}"), SessionData::new(), None).await.unwrap();
    }
    for node in &cluster.nodes {
        let keys: usize = node.cli(&["DBSIZE"]).trim().parse().unwrap();
        assert!(keys > 0, "a master holds no keys");
    }
    assert_eq!(p.count().await.unwrap(), 300);
    assert_eq!(p.get_active_sessions().await.unwrap().len(), 300);
    assert_eq!(p.cleanup_old_sessions(std::time::Duration::ZERO).await.unwrap(), 300);
    assert_eq!(p.count().await.unwrap(), 0);

    // The explicit option selects cluster mode for a plain URL too.
    let seed = format!("redis://127.0.0.1:{}", cluster.nodes[0].port);
    let explicit =
        RedisSessionProvider::connect(RedisOptions::new().url(seed).cluster(true).prefix("spread:")).await.unwrap();
    explicit.set_session("x", SessionData::new(), None).await.unwrap();
    assert!(p.has_session("x").await.unwrap());
}
