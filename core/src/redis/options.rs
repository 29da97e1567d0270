//! Configuration of [`super::RedisSessionProvider`].

use std::fmt;
use std::time::Duration;

use crate::data::DEFAULT_MAX_SESSION_BYTES;
use crate::error::Result;
use crate::memory::DEFAULT_TTL;
use crate::options::{self, OptionSpec, OptionValue, Options};
use crate::update::RetryPolicy;

/// Used when neither an URL nor `REDIS_URL` is given.
pub const DEFAULT_URL: &str = "redis://127.0.0.1:6379";
pub const DEFAULT_PREFIX: &str = "poto:";

/// Options with the documented defaults; builder methods override them.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// `redis://`, `rediss://` (TLS), with `user:password@` if needed. `None`: `REDIS_URL`,
    /// else [`DEFAULT_URL`].
    pub url: Option<String>,
    /// Namespace of every key; two prefixes on one Redis never see each other.
    pub prefix: String,
    /// Lifetime of a session after its last write or touch (default 24 h).
    pub ttl: Duration,
    /// Time allowed to open a connection (default 5 s).
    pub connect_timeout: Duration,
    /// Time allowed for one reply (default 2 s); past it a read is "unavailable" and a write
    /// "outcome unknown".
    pub command_timeout: Duration,
    /// Budget for compare-and-set retries of atomic updates.
    pub retry: RetryPolicy,
    /// Largest session accepted (default 1 MiB).
    pub max_session_bytes: usize,
    /// Redis Cluster: `url` lists seed nodes, comma-separated. A `redis+cluster://` or
    /// `rediss+cluster://` URL selects cluster mode on its own (so `REDIS_URL` can).
    pub cluster: bool,
    /// Ids per shard in one listing reply (default 2000): listing pages through the index so
    /// that no reply grows with the number of sessions.
    pub list_page_size: usize,
    /// Durability: after each write, Redis `WAIT`s until this many replicas have it (on the
    /// write's node, in a cluster). Fewer within `wait_timeout` is "outcome unknown": the write
    /// ran on the master but a failover may lose it. 0 (the default): no `WAIT`.
    pub wait_replicas: usize,
    /// How long a write's `WAIT` may wait for `wait_replicas` (default 1 s); at most
    /// `command_timeout`, which bounds the write and its `WAIT` together.
    pub wait_timeout: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            url: None,
            prefix: DEFAULT_PREFIX.to_owned(),
            ttl: DEFAULT_TTL,
            connect_timeout: Duration::from_secs(5),
            command_timeout: Duration::from_secs(2),
            retry: RetryPolicy::default(),
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            cluster: false,
            list_page_size: 2000,
            wait_replicas: 0,
            wait_timeout: Duration::from_secs(1),
        }
    }
}

impl RedisOptions {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }
    pub fn max_session_bytes(mut self, max: usize) -> Self {
        self.max_session_bytes = max;
        self
    }
    pub fn cluster(mut self, cluster: bool) -> Self {
        self.cluster = cluster;
        self
    }
    pub fn list_page_size(mut self, ids: usize) -> Self {
        self.list_page_size = ids.max(1);
        self
    }
    pub fn wait_replicas(mut self, replicas: usize) -> Self {
        self.wait_replicas = replicas;
        self
    }
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout;
        self
    }

    /// The URL in effect: explicit, else `REDIS_URL`, else [`DEFAULT_URL`].
    pub fn resolved_url(&self) -> String {
        self.url
            .clone()
            .or_else(|| std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| DEFAULT_URL.to_owned())
    }
}

impl fmt::Debug for RedisOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisOptions")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("prefix", &self.prefix)
            .field("ttl", &self.ttl)
            .field("connect_timeout", &self.connect_timeout)
            .field("command_timeout", &self.command_timeout)
            .field("retry", &self.retry)
            .field("max_session_bytes", &self.max_session_bytes)
            .field("cluster", &self.cluster)
            .field("list_page_size", &self.list_page_size)
            .field("wait_replicas", &self.wait_replicas)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl Options for RedisOptions {
    const SCHEMA: &'static [OptionSpec] = &[
        OptionSpec::new_text(
            "url",
            "redis://, rediss://, redis+cluster:// URL (default REDIS_URL, else redis://127.0.0.1:6379)",
        ),
        OptionSpec::new_text("prefix", "namespace of every key (default \"poto:\")"),
        options::TTL,
        OptionSpec::new_duration("connect_timeout", "time allowed to open a connection (default 5 s)"),
        OptionSpec::new_duration("command_timeout", "time allowed for one reply (default 2 s)"),
        options::RETRY_BUDGET,
        options::RETRY_BASE_DELAY,
        options::RETRY_MAX_DELAY,
        options::MAX_SESSION_BYTES,
        OptionSpec::new_bool("cluster", "Redis Cluster: url lists seed nodes, comma-separated"),
        OptionSpec::new_count("list_page_size", "ids per shard in one listing reply (default 2000)"),
        OptionSpec::new_count(
            "wait_replicas",
            "replicas that must acknowledge each write (Redis WAIT), else outcome unknown (default 0: no WAIT)",
        ),
        OptionSpec::new_duration(
            "wait_timeout",
            "how long a write's WAIT waits for wait_replicas, at most command_timeout (default 1 s)",
        ),
    ];

    fn set(&mut self, name: &str, value: OptionValue) -> Result<()> {
        let value = options::typed::<Self>(name, value)?;
        let spec = value.0;
        match spec.name {
            "url" => self.url = Some(value.text()?),
            "prefix" => self.prefix = value.text()?,
            "ttl" => self.ttl = value.duration()?,
            "connect_timeout" => self.connect_timeout = value.duration()?,
            "command_timeout" => self.command_timeout = value.duration()?,
            "max_session_bytes" => self.max_session_bytes = value.count()?,
            "cluster" => self.cluster = value.flag()?,
            "list_page_size" => self.list_page_size = value.count()?,
            "wait_replicas" => self.wait_replicas = value.count_or_zero()?,
            "wait_timeout" => self.wait_timeout = value.duration()?,
            _ => {
                let delay = value.duration()?;
                options::set_retry(&mut self.retry, spec, delay);
            }
        }
        Ok(())
    }
}

/// The URL with any password replaced by `***`, for logs and errors.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else { return url.to_owned() };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            let masked = if userinfo.contains(':') { format!("{user}:***") } else { "***".to_owned() };
            format!("{}{masked}{}", &url[..scheme_end], &rest[at..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact_url("redis://:secret@h:6379/0"), "redis://:***@h:6379/0");
        assert_eq!(redact_url("rediss://bob:pw@h"), "rediss://bob:***@h");
        assert_eq!(redact_url("redis://h:6379"), "redis://h:6379");
        let debug = format!("{:?}", RedisOptions::new().url("redis://u:hunter2@x"));
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
