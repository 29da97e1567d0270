//! One connection type over a single Redis (auto-reconnecting, multiplexed) and a Redis Cluster
//! (slot-aware). Cluster mode comes from `RedisOptions::cluster` or the URL scheme
//! `redis+cluster://` / `rediss+cluster://` with comma-separated seed nodes, so `REDIS_URL`
//! alone can select it. A `redis+sentinel://` / `rediss+sentinel://` URL connects to the master
//! its sentinels name (sentinel.rs); the link asks them again when it loses that master.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Client, Cmd, Pipeline, RedisFuture, RedisResult, Value};

use super::errors::{self, Access};
use super::options::{redact_url, RedisOptions};
use super::sentinel::{self, SentinelTarget, SentinelTls};
use super::tls::TlsConfig;
use crate::error::{Result, SessionError};

/// Longest pause between two tries of a request a cluster node turned away.
const MAX_REDIRECT_PAUSE: Duration = Duration::from_millis(100);

#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(Cluster),
}

/// A slot-aware connection whose requests are sent again only when a node turned them away
/// without running them (MOVED, ASK, TRYAGAIN, CLUSTERDOWN), for up to the command timeout.
/// redis-rs's own retries are off: they also resend a request after a dropped connection or an
/// I/O error, when it may already have run (DESIGN §4.9). The command timeout bounds the whole
/// call, tries and pauses together: a node that died or hangs costs a call at most that.
///
/// A pipeline here is one keyed command followed by keyless ones (a write and its `WAIT`):
/// redis-rs reports the first reply that asks for a redirect, which can only be the keyed
/// command's, refused before it ran, so the pipeline is sent again whole.
#[derive(Clone)]
pub struct Cluster {
    conn: ClusterConnection,
    budget: Duration,
}

impl Cluster {
    async fn send<T, F, Fut>(&self, request: F) -> RedisResult<T>
    where
        F: Fn(ClusterConnection) -> Fut,
        Fut: std::future::Future<Output = RedisResult<T>>,
    {
        let deadline = Instant::now() + self.budget;
        let mut pause = Duration::from_millis(5);
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let reply = match tokio::time::timeout(remaining, request(self.conn.clone())).await {
                Ok(reply) => reply,
                Err(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no reply from the cluster within {:?}", self.budget),
                    )
                    .into())
                }
            };
            match reply {
                // The node refused before running it, and redis-rs is refreshing its slot map.
                Err(e) if e.is_cluster_error() && Instant::now() + pause < deadline => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_REDIRECT_PAUSE);
                }
                reply => return reply,
            }
        }
    }
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => Box::pin(c.send(move |mut conn| async move { conn.req_packed_command(cmd).await })),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => {
                Box::pin(c.send(move |mut conn| async move { conn.req_packed_commands(pipeline, offset, count).await }))
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.conn.get_db(),
        }
    }
}

/// Where to connect: checked once, when the provider is created.
#[allow(clippy::large_enum_variant)] // one per provider, never moved in a hot path
pub enum Target {
    Single(Client),
    Cluster(ClusterClient),
    /// The master of a Sentinel deployment, resolved on each [`Target::open`].
    Sentinel(Arc<SentinelTarget>),
}

/// TLS for a `rediss+sentinel://` URL, from the provider's TLS options (the same trust for the
/// sentinels and the data nodes).
pub fn sentinel_tls(options: &RedisOptions, url: &str) -> Result<Option<SentinelTls>> {
    Ok(TlsConfig::from_options(options, url)?
        .map(|tls| SentinelTls { mode: tls.mode(), certificates: Some(tls.certificates()) }))
}

fn invalid_url(url: &str, why: impl std::fmt::Debug) -> SessionError {
    SessionError::InvalidArgument(format!("invalid redis url {}: {why:?}", redact_url(url)))
}

/// Seed node URLs of `scheme+cluster://[user:pass@]host:port,host:port[/db]`, or `None` when
/// the URL names no cluster.
fn cluster_seeds(url: &str) -> Option<Vec<String>> {
    let (scheme, rest) = url.split_once("+cluster://")?;
    let (userinfo, hosts) = match rest.rfind('@') {
        Some(at) => (&rest[..=at], &rest[at + 1..]),
        None => ("", rest),
    };
    let hosts = hosts.split('/').next().unwrap_or_default();
    Some(hosts.split(',').filter(|h| !h.is_empty()).map(|host| format!("{scheme}://{userinfo}{host}")).collect())
}

fn with_tls(
    builder: redis::cluster::ClusterClientBuilder,
    tls: Option<&TlsConfig>,
) -> redis::cluster::ClusterClientBuilder {
    match tls {
        Some(tls) => tls.cluster(builder),
        None => builder,
    }
}

impl Target {
    pub fn new(options: &RedisOptions) -> Result<Self> {
        let url = options.resolved_url();
        if sentinel::is_sentinel_url(&url) {
            let tls = sentinel_tls(options, &url)?;
            return match SentinelTarget::new(&url, options, tls) {
                Some(target) => target.map(|t| Target::Sentinel(Arc::new(t))),
                None => Err(invalid_url(&url, "not a sentinel url")),
            };
        }
        // As TLS options on a plain-text URL: an option that would be ignored is a mistake.
        let sentinel_set: Vec<&str> = [
            ("sentinel_username", options.sentinel_username.is_some()),
            ("sentinel_password", options.sentinel_password.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        if !sentinel_set.is_empty() {
            return Err(SessionError::InvalidArgument(format!(
                "{} given, but the url {} is not a Sentinel url: use redis+sentinel:// (or rediss+sentinel://)",
                sentinel_set.join(", "),
                redact_url(&url)
            )));
        }
        let seeds = match (cluster_seeds(&url), options.cluster) {
            (Some(seeds), _) => Some(seeds),
            (None, true) => Some(url.split(',').map(str::to_owned).collect()),
            (None, false) => None,
        };
        let tls = TlsConfig::from_options(options, seeds.as_ref().and_then(|s| s.first()).unwrap_or(&url))?;
        match seeds {
            None => match &tls {
                Some(tls) => tls.client(&url).map(Target::Single),
                None => Client::open(url.as_str()).map(Target::Single).map_err(|e| invalid_url(&url, e.kind())),
            },
            Some(seeds) if seeds.is_empty() => Err(invalid_url(&url, "no cluster seed nodes")),
            Some(seeds) => with_tls(ClusterClient::builder(seeds), tls.as_ref())
                .connection_timeout(options.connect_timeout)
                .response_timeout(options.command_timeout)
                .retries(0)
                .build()
                .map(Target::Cluster)
                .map_err(|e| invalid_url(&url, e.kind())),
        }
    }

    /// Whether this target's node can change under the provider (Sentinel): then the link
    /// opens a new connection, asking the sentinels again, after it lost the current one.
    pub fn follows_failover(&self) -> bool {
        matches!(self, Target::Sentinel(_))
    }

    pub fn sentinel(&self) -> Option<&Arc<SentinelTarget>> {
        match self {
            Target::Sentinel(sentinel) => Some(sentinel),
            _ => None,
        }
    }

    /// A connection for this process, and under Sentinel the `host:port` of the master it
    /// reaches. A single Redis connects lazily; a cluster reads its topology now; Sentinel asks
    /// the sentinels for the master and connects to it now.
    pub async fn open(&self, connect_timeout: Duration, command_timeout: Duration) -> Result<(Conn, Option<String>)> {
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let unreachable = |e| errors::map(e, Access::Read, None);
        match self {
            // TLS connects now, within the connect timeout, so that a server that never completes
            // the handshake is named as such.
            Target::Single(client) if super::tls::is_tls_client(client) => {
                super::tls::connect(client.clone(), config, connect_timeout)
                    .await
                    .map(|conn| (Conn::Single(conn), None))
                    .map_err(unreachable)
            }
            Target::Single(client) => ConnectionManager::new_lazy_with_config(client.clone(), config)
                .map(|conn| (Conn::Single(conn), None))
                .map_err(unreachable),
            Target::Cluster(client) => {
                let conn = client.get_async_connection().await.map_err(unreachable)?;
                Ok((Conn::Cluster(Cluster { conn, budget: command_timeout }), None))
            }
            Target::Sentinel(sentinel) => {
                let master = sentinel.master(connect_timeout, command_timeout).await?;
                let node = sentinel::node_of(&master);
                // Connected now, so a master that is already gone fails this call, not the next.
                let connect = ConnectionManager::new_with_config(master, config);
                match tokio::time::timeout(connect_timeout + command_timeout, connect).await {
                    Ok(conn) => conn.map(|conn| (Conn::Single(conn), Some(node))).map_err(unreachable),
                    Err(_) => Err(SessionError::Unavailable(format!(
                        "the master the Redis Sentinels named did not answer within {:?}",
                        connect_timeout + command_timeout
                    ))),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_urls() {
        assert_eq!(
            cluster_seeds("redis+cluster://:pw@a:1,b:2/0"),
            Some(vec!["redis://:pw@a:1".to_owned(), "redis://:pw@b:2".to_owned()])
        );
        assert_eq!(cluster_seeds("rediss+cluster://h:7000"), Some(vec!["rediss://h:7000".to_owned()]));
        assert_eq!(cluster_seeds("redis://h:6379"), None);
    }
}
