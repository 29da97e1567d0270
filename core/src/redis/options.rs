//! Configuration of [`super::RedisSessionProvider`].

use std::fmt;
use std::path::PathBuf;
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
    /// `redis://`, `rediss://` (TLS), with `user:password@` if needed; `redis+cluster://`
    /// (see `cluster`); `redis+sentinel://[user:pass@]h1:26379,h2:26379/<service>[/db]` or
    /// `rediss+sentinel://` for the master a Redis Sentinel deployment names, followed through
    /// failovers (the URL's credentials are the data nodes', see `sentinel_username`). `None`:
    /// `REDIS_URL`, else [`DEFAULT_URL`].
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
    /// User name for the Redis Sentinels of a `redis+sentinel://` URL (ACL). The URL's own
    /// credentials are the data nodes'.
    pub sentinel_username: Option<String>,
    /// Password for the Redis Sentinels of a `redis+sentinel://` URL (`requirepass` of the
    /// sentinels, or the ACL user's with `sentinel_username`).
    pub sentinel_password: Option<String>,
    /// TLS: a PEM bundle of CAs to trust, besides the operating system's store.
    pub tls_ca_file: Option<PathBuf>,
    /// TLS: the same as inline PEM text (e.g. a Kubernetes secret in an environment variable).
    pub tls_ca_pem: Option<String>,
    /// TLS: a client certificate (PEM chain, leaf first), for servers that require one; with
    /// [`Self::tls_key_file`].
    pub tls_cert_file: Option<PathBuf>,
    /// TLS: the private key (PEM) of [`Self::tls_cert_file`].
    pub tls_key_file: Option<PathBuf>,
    /// TLS without any verification of the server's certificate: **for development only**
    /// (anyone on the path can read and change the traffic).
    pub tls_insecure: bool,
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
            sentinel_username: None,
            sentinel_password: None,
            tls_ca_file: None,
            tls_ca_pem: None,
            tls_cert_file: None,
            tls_key_file: None,
            tls_insecure: false,
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
    pub fn sentinel_username(mut self, username: impl Into<String>) -> Self {
        self.sentinel_username = Some(username.into());
        self
    }
    pub fn sentinel_password(mut self, password: impl Into<String>) -> Self {
        self.sentinel_password = Some(password.into());
        self
    }

    /// Trusts the CAs of the PEM bundle at `path`, besides the operating system's store.
    pub fn tls_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_ca_file = Some(path.into());
        self
    }
    /// Trusts the CAs of the inline PEM bundle `pem`, besides the operating system's store.
    pub fn tls_ca_pem(mut self, pem: impl Into<String>) -> Self {
        self.tls_ca_pem = Some(pem.into());
        self
    }
    /// Presents the client certificate (PEM chain, leaf first) at `path`; needs
    /// [`Self::tls_key_file`].
    pub fn tls_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_cert_file = Some(path.into());
        self
    }
    /// The private key (PEM) of [`Self::tls_cert_file`].
    pub fn tls_key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.tls_key_file = Some(path.into());
        self
    }
    /// No verification of the server's certificate: **for development only**.
    pub fn tls_insecure(mut self, insecure: bool) -> Self {
        self.tls_insecure = insecure;
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
            .field("sentinel_username", &self.sentinel_username)
            .field("sentinel_password", &self.sentinel_password.as_ref().map(|_| "***"))
            .field("tls_ca_file", &self.tls_ca_file)
            .field("tls_ca_pem", &self.tls_ca_pem.as_ref().map(|pem| format!("<{} bytes>", pem.len())))
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("tls_insecure", &self.tls_insecure)
            .field("wait_replicas", &self.wait_replicas)
            .field("wait_timeout", &self.wait_timeout)
            .finish()
    }
}

impl Options for RedisOptions {
    const SCHEMA: &'static [OptionSpec] = &[
        OptionSpec::new_text(
            "url",
            "redis://, rediss:// (TLS), redis[s]+cluster://, redis[s]+sentinel:// URL (default REDIS_URL, else redis://127.0.0.1:6379)",
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
        OptionSpec::new_text("sentinel_username", "user name for the sentinels of a redis+sentinel:// URL"),
        OptionSpec::new_text("sentinel_password", "password for the sentinels of a redis+sentinel:// URL"),
        OptionSpec::new_text("tls_ca_file", "TLS: PEM bundle of CAs to trust besides the system's store"),
        OptionSpec::new_text("tls_ca_pem", "TLS: the same as inline PEM text (e.g. a Kubernetes secret)"),
        OptionSpec::new_text("tls_cert_file", "TLS: client certificate (PEM), with tls_key_file"),
        OptionSpec::new_text("tls_key_file", "TLS: private key (PEM) of tls_cert_file"),
        OptionSpec::new_bool("tls_insecure", "TLS without verifying the server: for development only"),
        OptionSpec::new_count(
            "wait_replicas",
            "replicas that must acknowledge each write (Redis WAIT), else outcome unknown (default 0: no WAIT)",
        )
        .or_zero(),
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
            "sentinel_username" => self.sentinel_username = Some(value.text()?),
            "sentinel_password" => self.sentinel_password = Some(value.text()?),
            "tls_ca_file" => self.tls_ca_file = Some(value.text()?.into()),
            "tls_ca_pem" => self.tls_ca_pem = Some(value.text()?),
            "tls_cert_file" => self.tls_cert_file = Some(value.text()?.into()),
            "tls_key_file" => self.tls_key_file = Some(value.text()?.into()),
            "tls_insecure" => self.tls_insecure = value.flag()?,
            "wait_replicas" => self.wait_replicas = value.count()?,
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
        let debug = format!("{:?}", RedisOptions::new().sentinel_username("watch").sentinel_password("hunter3"));
        assert!(!debug.contains("hunter3") && debug.contains("watch"), "{debug}");
    }
}
