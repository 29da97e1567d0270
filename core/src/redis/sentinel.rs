//! Redis Sentinel: `redis+sentinel://[user:pass@]h1:26379,h2:26379/<service>[/db]` and
//! `rediss+sentinel://` (TLS to the sentinels and to the data nodes).
//!
//! The URL's credentials and database are the data nodes'; `sentinel_username` /
//! `sentinel_password` are the sentinels'. [`SentinelTarget::master`] asks every sentinel at
//! once which node is the master of the service now, trusts the newest configuration epoch
//! among the answers (the sentinel that ran a failover knows first; the others hear of it up to
//! seconds later), and checks with `ROLE` that the node is a master; all of it bounded by the
//! connect and command timeouts, so no call waits on a sentinel that does not answer. The
//! provider's link asks again whenever it lost its master (a dropped connection, a timeout, or
//! a `READONLY` reply from a demoted master) and, in the background, about once a second while
//! it is used: that is how a failover is followed without recreating the provider.
//!
//! redis-rs's own `sentinel` module is not used: its lookup takes the first sentinel's view,
//! which after a `SENTINEL FAILOVER` still names the old master (which still says `ROLE` master
//! until the sentinels reconfigure it), and it keeps no timeouts of ours.
//!
//! Each lookup opens its own short-lived connections: no sentinel connection outlives a lookup,
//! so nothing is shared across `fork()` and a broken sentinel connection is never reused.

use std::collections::HashMap;
use std::time::Duration;

use redis::{
    AsyncConnectionConfig, Client, ConnectionAddr, IntoConnectionInfo, RedisConnectionInfo, TlsCertificates, TlsMode,
};

use super::options::{redact_url, RedisOptions};
use crate::error::{Result, SessionError};

/// TLS of a `rediss+sentinel://` deployment, used for the sentinels and the data nodes alike:
/// the mode (verify or not) and the certificates to trust and present (`None`: redis-rs's
/// defaults). Built by `connection::sentinel_tls`, the one place that turns the TLS options
/// into these.
#[derive(Clone)]
pub struct SentinelTls {
    pub mode: TlsMode,
    pub certificates: Option<TlsCertificates>,
}

/// A parsed `redis+sentinel://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentinelUrl {
    /// `rediss+sentinel://`.
    pub tls: bool,
    /// The sentinels' `host:port`s (port 26379 when not given).
    pub sentinels: Vec<(String, u16)>,
    /// The service (the master's name in the sentinels' configuration).
    pub service: String,
    /// The data nodes' database.
    pub db: i64,
    /// The data nodes' credentials (percent-decoded).
    pub username: Option<String>,
    pub password: Option<String>,
    /// A `#insecure` fragment: TLS without verification.
    pub insecure: bool,
}

pub const DEFAULT_SENTINEL_PORT: u16 = 26379;

fn invalid(url: &str, why: impl std::fmt::Display) -> SessionError {
    SessionError::InvalidArgument(format!("invalid redis url {}: {why}", redact_url(url)))
}

/// Whether `url` names a Sentinel deployment (`redis+sentinel://`, `rediss+sentinel://`).
pub fn is_sentinel_url(url: &str) -> bool {
    url.starts_with("redis+sentinel://") || url.starts_with("rediss+sentinel://")
}

impl SentinelUrl {
    /// `None` when `url` is not a sentinel URL; else the URL's parts, or an invalid argument
    /// saying what is wrong.
    pub fn parse(url: &str) -> Option<Result<SentinelUrl>> {
        let (tls, rest) = if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            (false, rest)
        } else {
            (true, url.strip_prefix("rediss+sentinel://")?)
        };
        Some(Self::parse_rest(url, tls, rest))
    }

    fn parse_rest(url: &str, tls: bool, rest: &str) -> Result<SentinelUrl> {
        let (rest, insecure) = match rest.split_once('#') {
            Some((rest, "insecure")) if tls => (rest, true),
            Some(_) => return Err(invalid(url, "the only fragment is #insecure, on rediss+sentinel://")),
            None => (rest, false),
        };
        if rest.contains('?') {
            return Err(invalid(url, "a sentinel url takes no query parameters: use the options"));
        }
        // Credentials end at the last '@' before the path (a password's own '@' or '/' must be
        // percent-encoded, as in any URL).
        let (userinfo, rest) = match rest.split('/').next().and_then(|authority| authority.rfind('@')) {
            Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
            None => (None, rest),
        };
        let (hosts, path) = rest.split_once('/').unwrap_or((rest, ""));
        let mut sentinels = Vec::new();
        for host in hosts.split(',') {
            if host.is_empty() {
                return Err(invalid(url, "an empty sentinel address"));
            }
            sentinels.push(parse_host(url, host)?);
        }
        let mut segments = path.split('/');
        let service = decode(url, segments.next().unwrap_or_default())?;
        if service.is_empty() {
            return Err(invalid(url, "no service name: redis+sentinel://host:26379/<service>[/db]"));
        }
        let db = match segments.next() {
            None | Some("") => 0,
            Some(db) => db
                .parse::<i64>()
                .ok()
                .filter(|db| *db >= 0)
                .ok_or_else(|| invalid(url, "the database is not a number"))?,
        };
        if segments.any(|s| !s.is_empty()) {
            return Err(invalid(url, "too many path segments: redis+sentinel://host:26379/<service>[/db]"));
        }
        let (username, password) = match userinfo {
            None => (None, None),
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(decode(url, password)?)),
                    None => (userinfo, None),
                };
                let user = decode(url, user)?;
                ((!user.is_empty()).then_some(user), password.filter(|p| !p.is_empty()))
            }
        };
        Ok(SentinelUrl { tls, sentinels, service, db, username, password, insecure })
    }

    fn addresses(&self, insecure: bool) -> Vec<ConnectionAddr> {
        self.sentinels
            .iter()
            .map(|(host, port)| match self.tls {
                false => ConnectionAddr::Tcp(host.clone(), *port),
                true => ConnectionAddr::TcpTls { host: host.clone(), port: *port, insecure, tls_params: None },
            })
            .collect()
    }
}

/// `host[:port]`, `[v6][:port]`.
fn parse_host(url: &str, host: &str) -> Result<(String, u16)> {
    // Let redis-rs's own URL parser judge the host (IPv6 brackets included).
    let info = format!("redis://{host}")
        .as_str()
        .into_connection_info()
        .map_err(|_| invalid(url, format!("bad sentinel address {host:?}")))?;
    match info.addr() {
        ConnectionAddr::Tcp(name, port) => {
            let port = if host.ends_with(']') || !host.contains(':') { DEFAULT_SENTINEL_PORT } else { *port };
            Ok((name.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
        }
        _ => Err(invalid(url, format!("bad sentinel address {host:?}"))),
    }
}

/// Percent-decoding of one URL component.
fn decode(url: &str, text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or_else(|| invalid(url, "a bad percent-encoding"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(url, "percent-encoding that is not UTF-8"))
}

/// Where a `redis+sentinel://` provider finds its master.
pub struct SentinelTarget {
    url: SentinelUrl,
    /// The URL without credentials, for messages.
    shown: String,
    sentinel_username: Option<String>,
    sentinel_password: Option<String>,
    tls: Option<SentinelTls>,
}

impl SentinelTarget {
    /// `None` when `url` is not a sentinel URL. `tls` is required with `rediss+sentinel://`
    /// and refused without it.
    pub fn new(url: &str, options: &RedisOptions, tls: Option<SentinelTls>) -> Option<Result<SentinelTarget>> {
        let parsed = match SentinelUrl::parse(url)? {
            Ok(parsed) => parsed,
            Err(e) => return Some(Err(e)),
        };
        let shown = format!(
            "{}://{}/{}",
            if parsed.tls { "rediss+sentinel" } else { "redis+sentinel" },
            parsed.sentinels.iter().map(|(h, p)| format!("{h}:{p}")).collect::<Vec<_>>().join(","),
            parsed.service
        );
        Some(Ok(SentinelTarget {
            url: parsed,
            shown,
            sentinel_username: options.sentinel_username.clone(),
            sentinel_password: options.sentinel_password.clone(),
            tls,
        }))
    }

    /// No certificate verification: `#insecure` on the URL, or the TLS options say so.
    fn insecure(&self) -> bool {
        self.url.insecure || self.tls.as_ref().is_some_and(|tls| matches!(tls.mode, TlsMode::Insecure))
    }

    /// A client of sentinel `addr`, with the sentinels' credentials and TLS.
    fn sentinel_client(&self, addr: ConnectionAddr) -> redis::RedisResult<Client> {
        let mut redis = RedisConnectionInfo::default();
        if let Some(user) = &self.sentinel_username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &self.sentinel_password {
            redis = redis.set_password(password);
        }
        self.client(addr, redis)
    }

    /// A client of the data node at `host:port`, with the URL's credentials and database.
    fn node_client(&self, host: &str, port: u16) -> redis::RedisResult<Client> {
        let url = &self.url;
        let addr = match url.tls {
            false => ConnectionAddr::Tcp(host.to_owned(), port),
            true => ConnectionAddr::TcpTls { host: host.to_owned(), port, insecure: self.insecure(), tls_params: None },
        };
        let mut redis = RedisConnectionInfo::default().set_db(url.db);
        if let Some(user) = &url.username {
            redis = redis.set_username(user);
        }
        if let Some(password) = &url.password {
            redis = redis.set_password(password);
        }
        self.client(addr, redis)
    }

    fn client(&self, addr: ConnectionAddr, redis: RedisConnectionInfo) -> redis::RedisResult<Client> {
        let info = addr.into_connection_info()?.set_redis_settings(redis);
        match self.tls.as_ref().and_then(|tls| tls.certificates.clone()) {
            Some(certificates) => Client::build_with_tls(info, certificates),
            None => Client::open(info),
        }
    }

    /// What one sentinel says: the master's address (`GET-MASTER-ADDR-BY-NAME`, which names
    /// the promoted replica as soon as a failover has promoted it), the configuration epoch of
    /// that view and the master's flags (`SENTINEL MASTER`), in one round trip.
    async fn ask(&self, addr: ConnectionAddr, config: &AsyncConnectionConfig) -> redis::RedisResult<Named> {
        let client = self.sentinel_client(addr)?;
        let mut conn = client.get_multiplexed_async_connection_with_config(config).await?;
        let (address, master): (Option<(String, u16)>, HashMap<String, String>) = redis::pipe()
            .cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.url.service)
            .cmd("SENTINEL")
            .arg("MASTER")
            .arg(&self.url.service)
            .query_async(&mut conn)
            .await?;
        let (host, port) = address.ok_or_else(|| {
            redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "the sentinel does not know this service"))
        })?;
        let epoch = master.get("config-epoch").and_then(|e| e.parse().ok()).unwrap_or(0);
        let flags = master.get("flags").cloned().unwrap_or_default();
        // The flags are the configured master's: they say nothing of a promoted replica.
        let moved = master.get("ip") != Some(&host) || master.get("port") != Some(&port.to_string());
        let down = !moved && (flags.contains("s_down") || flags.contains("o_down"));
        Ok(Named { host, port, epoch, down })
    }

    /// The master in the newest configuration any sentinel answering within the timeouts
    /// holds: every sentinel is asked at once, and the highest configuration epoch wins, so a
    /// failover one sentinel performed is followed before the others have heard of it.
    async fn newest(&self, connect_timeout: Duration, command_timeout: Duration) -> Result<Named> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout));
        let budget = connect_timeout + command_timeout;
        let asks = self.url.addresses(self.insecure()).into_iter().map(|addr| {
            let config = &config;
            async move {
                match tokio::time::timeout(budget, self.ask(addr, config)).await {
                    Ok(answer) => answer.map_err(|e| describe(&e)),
                    Err(_) => Err(format!("no answer within {budget:?}")),
                }
            }
        });
        let answers = futures_util::future::join_all(asks).await;
        let mut newest: Option<Named> = None;
        let mut why = Vec::new();
        for answer in answers {
            match answer {
                Ok(named) if newest.as_ref().is_none_or(|n| named.epoch > n.epoch) => newest = Some(named),
                Ok(_) => {}
                // The same reason from every sentinel (a CA they all fail) is said once.
                Err(e) if !why.contains(&e) => why.push(e),
                Err(_) => {}
            }
        }
        newest.ok_or_else(|| self.unavailable(format!("no sentinel answered ({})", why.join("; "))))
    }

    fn unavailable(&self, why: String) -> SessionError {
        SessionError::Unavailable(format!(
            "no master for service {:?} from the Redis Sentinels of {}: {why}",
            self.url.service, self.shown
        ))
    }

    /// A client of the service's master as the sentinels name it now, checked with `ROLE`.
    /// Fails with "unavailable" within the timeouts when no sentinel answers, the master they
    /// name is down (a failover is under way) or is not a master (yet).
    pub async fn master(&self, connect_timeout: Duration, command_timeout: Duration) -> Result<Client> {
        let named = self.newest(connect_timeout, command_timeout).await?;
        let node = format!("{}:{}", named.host, named.port);
        if named.down {
            return Err(self.unavailable(format!("master {node} is down, a failover is under way")));
        }
        let client = self
            .node_client(&named.host, named.port)
            .map_err(|e| SessionError::InvalidArgument(format!("invalid redis url {}: {e}", self.shown)))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(connect_timeout))
            .set_response_timeout(Some(command_timeout));
        let role = async {
            let mut conn = client.get_multiplexed_async_connection_with_config(&config).await?;
            redis::cmd("ROLE").query_async::<redis::Value>(&mut conn).await
        };
        let role = match tokio::time::timeout(connect_timeout + command_timeout, role).await {
            Ok(Ok(redis::Value::Array(items))) => match items.first() {
                Some(redis::Value::BulkString(role)) => String::from_utf8_lossy(role).into_owned(),
                _ => String::new(),
            },
            Ok(Ok(_)) => String::new(),
            Ok(Err(e)) => return Err(self.unavailable(format!("master {node}: {}", describe(&e)))),
            Err(_) => return Err(self.unavailable(format!("master {node} did not answer"))),
        };
        if role != "master" {
            return Err(self.unavailable(format!("{node} is not a master yet (role {role:?})")));
        }
        Ok(client)
    }

    /// `host:port` of the master in the newest configuration of the sentinels that answer; `None`
    /// when none does. A cheap check that the connected master is still the one (no `ROLE`).
    pub async fn named_master(&self, connect_timeout: Duration, command_timeout: Duration) -> Option<String> {
        let named = self.newest(connect_timeout, command_timeout).await.ok()?;
        Some(format!("{}:{}", named.host, named.port))
    }
}

/// `err` in words: what failed in a TLS handshake (a certificate refused, a client certificate
/// required, ...), else redis-rs's message.
fn describe(err: &redis::RedisError) -> String {
    super::tls::failure(err).unwrap_or_else(|| err.to_string())
}

/// One sentinel's view of the master.
struct Named {
    host: String,
    port: u16,
    epoch: u64,
    /// The sentinel deems this master down.
    down: bool,
}

/// `host:port` of a client's node, as [`SentinelTarget::named_master`] spells it.
pub fn node_of(client: &Client) -> String {
    client.get_connection_info().addr().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> SentinelUrl {
        SentinelUrl::parse(url).expect("a sentinel url").expect("valid")
    }

    #[test]
    fn sentinel_urls() {
        let url = parse("redis+sentinel://u:p%40ss@h1:26380,h2,[::1]:26381/mymaster/2");
        assert!(!url.tls);
        assert_eq!(url.sentinels, vec![("h1".to_owned(), 26380), ("h2".to_owned(), 26379), ("::1".to_owned(), 26381)]);
        assert_eq!((url.service.as_str(), url.db), ("mymaster", 2));
        assert_eq!((url.username.as_deref(), url.password.as_deref()), (Some("u"), Some("p@ss")));
        let url = parse("rediss+sentinel://:pw@h:1/svc#insecure");
        assert!(url.tls && url.insecure);
        assert_eq!((url.username, url.password.as_deref(), url.db), (None, Some("pw"), 0));
        assert!(SentinelUrl::parse("redis://h:6379").is_none());
        assert!(SentinelUrl::parse("redis+cluster://h:6379").is_none());
        for bad in [
            "redis+sentinel://h:26379",
            "redis+sentinel://h:26379/",
            "redis+sentinel://h:26379/svc/x",
            "redis+sentinel://h:26379/svc/0/extra",
            "redis+sentinel://h1,,h2/svc",
            "redis+sentinel://h:notaport/svc",
            "redis+sentinel://h/svc?x=1",
            "redis+sentinel://h/svc#insecure",
        ] {
            assert!(matches!(SentinelUrl::parse(bad), Some(Err(SessionError::InvalidArgument(_)))), "{bad}");
        }
        let Some(Err(e)) = SentinelUrl::parse("redis+sentinel://:hunter2@h:x/svc") else { panic!() };
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
