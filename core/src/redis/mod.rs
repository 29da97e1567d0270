//! The production provider: sessions in Redis, shared by every instance and language
//! (format: docs/redis-format.md).

mod codec;
mod connection;
mod errors;
mod keys;
mod options;
mod scripts;
mod tls;

use std::sync::RwLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, FromRedisValue, Value as Reply};
use serde_json::Value;

pub use keys::{shard_of, FORMAT, SHARDS};
pub use options::{redact_url, RedisOptions, DEFAULT_PREFIX, DEFAULT_URL};

use crate::data::{
    encode_fields, prepare_session, validate_field, validate_ttl, validate_user_id, SessionData, CREATED_AT_KEY,
    LAST_ACTIVITY_KEY,
};
use crate::error::{Result, SessionError};
use crate::provider::{CasOutcome, SessionProvider, Versioned, VersionedProvider};
use crate::runtime::fork_generation;
use crate::update::RetryPolicy;
use connection::{Conn, Target};
use errors::Access;
use keys::Layout;

/// How many sessions one cleanup or clear step removes per shard, keeping each script short.
const MAINTENANCE_BATCH: usize = 1000;

/// [`SessionProvider`] on Redis. Every capability; updates are atomic across processes.
pub struct RedisSessionProvider {
    options: RedisOptions,
    layout: Layout,
    target: Target,
    /// The connection of the current process (keyed by fork generation).
    connection: RwLock<Option<(u64, Conn)>>,
    /// Serialises opening a connection.
    opening: tokio::sync::Mutex<()>,
    /// Set once the prefix's meta key has been checked against this format.
    format_checked: tokio::sync::OnceCell<()>,
}

impl std::fmt::Debug for RedisSessionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSessionProvider")
            .field("url", &redact_url(&self.options.resolved_url()))
            .field("prefix", &self.options.prefix)
            .field("ttl", &self.options.ttl)
            .finish_non_exhaustive()
    }
}

impl RedisSessionProvider {
    /// Checks the options; connects lazily on first use (see [`Self::connect`] to connect now).
    pub fn new(options: RedisOptions) -> Result<Self> {
        validate_ttl(options.ttl)?;
        let layout = Layout::new(&options.prefix)?;
        let target = Target::new(&options)?;
        Ok(RedisSessionProvider {
            options,
            layout,
            target,
            connection: RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
            format_checked: tokio::sync::OnceCell::new(),
        })
    }

    /// Creates the provider and verifies now that Redis answers and uses this format.
    pub async fn connect(options: RedisOptions) -> Result<Self> {
        let provider = Self::new(options)?;
        provider.connection().await?;
        Ok(provider)
    }

    /// The seed's `new RedisSessionProvider(url)`, with default options.
    pub async fn from_url(url: &str) -> Result<Self> {
        Self::connect(RedisOptions::new().url(url)).await
    }

    pub fn options(&self) -> &RedisOptions {
        &self.options
    }

    /// The Redis key holding `user_id`'s session (for operators and tests).
    pub fn session_key(&self, user_id: &str) -> String {
        self.layout.session(user_id).session
    }

    async fn connection(&self) -> Result<Conn> {
        let generation = fork_generation();
        let current = match &*self.connection.read().unwrap_or_else(|p| p.into_inner()) {
            Some((g, conn)) if *g == generation => Some(conn.clone()),
            _ => None,
        };
        let conn = match current {
            Some(conn) => conn,
            None => self.open(generation).await?,
        };
        if !self.format_checked.initialized() {
            self.format_checked.get_or_try_init(|| self.check_format(conn.clone())).await?;
        }
        Ok(conn)
    }

    /// A new connection for this process; one inherited across `fork()` is leaked, not dropped.
    async fn open(&self, generation: u64) -> Result<Conn> {
        let _opening = self.opening.lock().await;
        if let Some((g, conn)) = &*self.connection.read().unwrap_or_else(|p| p.into_inner()) {
            if *g == generation {
                return Ok(conn.clone());
            }
        }
        let conn = self
            .target
            .open(self.options.connect_timeout, self.options.command_timeout)
            .await
            .map_err(|e| errors::map(e, Access::Read, None))?;
        let inherited = self.connection.write().unwrap_or_else(|p| p.into_inner()).replace((generation, conn.clone()));
        if let Some(inherited) = inherited {
            std::mem::forget(inherited);
        }
        Ok(conn)
    }

    async fn check_format(&self, mut conn: Conn) -> Result<()> {
        let expected = keys::meta_description();
        let found: String = scripts::META
            .key(self.layout.meta())
            .arg(&expected)
            .invoke_async(&mut conn)
            .await
            // Idempotent (it only sets the marker when absent), and the caller's own command has
            // not been sent: a lost reply here is "unavailable", never "outcome unknown".
            .map_err(|e| errors::map(e, Access::Read, None))?;
        if found != expected {
            return Err(SessionError::CorruptData {
                user_id: String::new(),
                detail: format!(
                    "prefix {:?} holds sessions of another format ({found:?}); this client writes {expected:?}",
                    self.layout.prefix()
                ),
            });
        }
        Ok(())
    }

    /// Sends `cmd`; reloads the scripts once if the server lost them, and retries a read once
    /// after a dropped connection. A write is never resent after its reply was lost.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd, access: Access, user_id: Option<&str>) -> Result<T> {
        self.send(access, user_id, |mut conn| async move { cmd.query_async::<T>(&mut conn).await }).await
    }

    /// Sends `cmds` in one round trip: a pipeline on a single Redis; on a cluster, concurrent
    /// requests, each routed to the node of its slot.
    async fn query_all<T: FromRedisValue>(&self, cmds: &[Cmd], access: Access) -> Result<Vec<T>> {
        self.send(access, None, |mut conn| async move {
            match &conn {
                Conn::Single(_) => {
                    let mut pipe = redis::pipe();
                    for cmd in cmds {
                        pipe.add_command(cmd.clone());
                    }
                    pipe.query_async::<Vec<T>>(&mut conn).await
                }
                Conn::Cluster(_) => {
                    let requests = cmds.iter().map(|cmd| {
                        let mut conn = conn.clone();
                        async move { cmd.query_async::<T>(&mut conn).await }
                    });
                    futures_util::future::try_join_all(requests).await
                }
            }
        })
        .await
    }

    async fn send<T, F, Fut>(&self, access: Access, user_id: Option<&str>, request: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut conn = self.connection().await?;
        let (mut reloaded, mut retried) = (false, false);
        loop {
            match request(conn.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(e) if !reloaded && e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                    reloaded = true;
                    for script in scripts::all() {
                        script.load_async(&mut conn).await.map_err(|e| errors::map(e, Access::Read, user_id))?;
                    }
                }
                Err(e) if access == Access::Read && !retried && e.is_connection_dropped() => retried = true,
                Err(e) => return Err(errors::map(e, access, user_id)),
            }
        }
    }

    fn ttl_ms(&self, ttl: Option<Duration>) -> Result<u64> {
        let ttl = ttl.unwrap_or(self.options.ttl);
        validate_ttl(ttl)?;
        Ok(ttl.as_millis().min(u128::from(u64::MAX)) as u64)
    }

    fn session_cmd(&self, script: &redis::Script, user_id: &str, ttl_ms: u64) -> Cmd {
        let keys = self.layout.session(user_id);
        let mut cmd =
            scripts::call(script, &[&keys.session, &keys.expiry_index, &keys.activity_index, &keys.version_seq]);
        cmd.arg(user_id).arg(ttl_ms);
        cmd
    }

    /// Appends `has createdAt, size, field/value pairs` of a validated session to `cmd`.
    fn push_session(&self, cmd: &mut Cmd, user_id: &str, data: SessionData) -> Result<()> {
        let data = prepare_session(user_id, data)?;
        let (fields, size) = encode_fields(&data, self.options.max_session_bytes)?;
        cmd.arg(if data.contains_key(CREATED_AT_KEY) { "1" } else { "0" }).arg(size);
        for (name, text) in &fields {
            cmd.arg(*name).arg(text);
        }
        Ok(())
    }

    /// A whole-session write in `mode` (set, cas, nx).
    async fn write(
        &self,
        user_id: &str,
        data: SessionData,
        ttl: Option<Duration>,
        mode: &str,
        expected: Option<u64>,
    ) -> Result<Reply> {
        validate_user_id(user_id)?;
        let mut cmd = self.session_cmd(&scripts::WRITE, user_id, self.ttl_ms(ttl)?);
        cmd.arg(mode).arg(expected.unwrap_or(0));
        self.push_session(&mut cmd, user_id, data)?;
        self.query(&cmd, Access::Write, Some(user_id)).await
    }

    /// Runs the per-shard script in `mode` over every shard, in batches until none has more.
    async fn sweep(&self, mode: &str, max_age_ms: u64) -> Result<u64> {
        let mut pending: Vec<u32> = (0..SHARDS).collect();
        let mut removed = 0;
        while !pending.is_empty() {
            let cmds: Vec<Cmd> = pending
                .iter()
                .map(|&shard| {
                    let (exp, act, base) = self.layout.shard(shard);
                    let mut cmd = scripts::call(&scripts::SHARD, &[&exp, &act]);
                    cmd.arg(mode).arg(base).arg(max_age_ms).arg(MAINTENANCE_BATCH);
                    cmd
                })
                .collect();
            let replies: Vec<(u64, u8)> = self.query_all(&cmds, Access::Write).await?;
            let mut next = Vec::new();
            for (&shard, (count, more)) in pending.iter().zip(replies) {
                removed += count;
                if more == 1 {
                    next.push(shard);
                }
            }
            pending = next;
        }
        Ok(removed)
    }

    fn count_commands(&self) -> Vec<Cmd> {
        (0..SHARDS)
            .map(|shard| {
                let (exp, act, base) = self.layout.shard(shard);
                let mut cmd = scripts::call(&scripts::SHARD, &[&exp, &act]);
                cmd.arg("count").arg(base).arg(0).arg(0);
                cmd
            })
            .collect()
    }
}

fn decode_data(user_id: &str, reply: Reply) -> Result<Option<SessionData>> {
    Ok(codec::decode(user_id, reply)?.map(|v| v.data))
}

#[async_trait]
impl SessionProvider for RedisSessionProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        validate_user_id(user_id)?;
        let cmd = redis::cmd("HGETALL").arg(self.session_key(user_id)).to_owned();
        decode_data(user_id, self.query(&cmd, Access::Read, Some(user_id)).await?)
    }

    async fn get_session_json(&self, user_id: &str) -> Result<Option<String>> {
        validate_user_id(user_id)?;
        let cmd = redis::cmd("HGETALL").arg(self.session_key(user_id)).to_owned();
        codec::decode_text(user_id, self.query(&cmd, Access::Read, Some(user_id)).await?)
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        self.write(user_id, data, ttl, "set", None).await.map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        validate_user_id(user_id)?;
        let keys = self.layout.session(user_id);
        let mut cmd = scripts::call(&scripts::DELETE, &[&keys.session, &keys.expiry_index, &keys.activity_index]);
        cmd.arg(user_id);
        self.query::<i64>(&cmd, Access::Write, Some(user_id)).await.map(|_| ())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        validate_user_id(user_id)?;
        let cmd = redis::cmd("EXISTS").arg(self.session_key(user_id)).to_owned();
        self.query(&cmd, Access::Read, Some(user_id)).await
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        self.sweep("cleanup", max_age.as_millis().min(i64::MAX as u128) as u64).await
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        // Pages per shard, in deadline order, so no reply grows with the number of sessions. A
        // page holds every member at its first deadline and the next `list_page_size` above it;
        // the next page starts at the last deadline seen. Deadlines only grow, so a session
        // touched meanwhile may be met again (dropped here) but none is missed.
        let mut ids = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut pending: Vec<(u32, i64)> = (0..SHARDS).map(|shard| (shard, 0)).collect();
        while !pending.is_empty() {
            let cmds: Vec<Cmd> = pending
                .iter()
                .map(|&(shard, from)| {
                    let (exp, act, base) = self.layout.shard(shard);
                    let mut cmd = scripts::call(&scripts::SHARD, &[&exp, &act]);
                    cmd.arg("list").arg(base).arg(from).arg(self.options.list_page_size);
                    cmd
                })
                .collect();
            let pages: Vec<Vec<(String, i64)>> = self.query_all(&cmds, Access::Read).await?;
            let mut next = Vec::new();
            for (&(shard, from), page) in pending.iter().zip(pages) {
                let above = page.iter().filter(|(_, deadline)| *deadline > from).count();
                let last = page.last().map_or(from, |(_, deadline)| *deadline);
                for (id, _) in page {
                    if seen.insert(id.clone()) {
                        ids.push(id);
                    }
                }
                if above >= self.options.list_page_size {
                    next.push((shard, last));
                }
            }
            pending = next;
        }
        Ok(ids)
    }

    async fn count(&self) -> Result<u64> {
        let counts: Vec<u64> = self.query_all(&self.count_commands(), Access::Read).await?;
        Ok(counts.into_iter().sum())
    }

    async fn clear(&self) -> Result<u64> {
        self.sweep("clear", 0).await
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        Some(self)
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.options.retry.clone()
    }

    async fn touch(&self, user_id: &str, ttl: Option<Duration>) -> Result<bool> {
        validate_user_id(user_id)?;
        let mut cmd = self.session_cmd(&scripts::TOUCH, user_id, self.ttl_ms(ttl)?);
        cmd.arg("touch");
        self.query(&cmd, Access::Write, Some(user_id)).await
    }

    async fn touch_and_get(&self, user_id: &str, ttl: Option<Duration>) -> Result<Option<SessionData>> {
        validate_user_id(user_id)?;
        let mut cmd = self.session_cmd(&scripts::TOUCH, user_id, self.ttl_ms(ttl)?);
        cmd.arg("get");
        decode_data(user_id, self.query(&cmd, Access::Write, Some(user_id)).await?)
    }

    async fn insert_if_absent(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<SessionData> {
        let reply = self.write(user_id, data, ttl, "nx", None).await?;
        let (_, stored) = split_write_reply(user_id, reply)?;
        decode_data(user_id, stored)?
            .ok_or_else(|| SessionError::corrupt(user_id, "session vanished while it was being created"))
    }

    async fn set_field(
        &self,
        user_id: &str,
        key: &str,
        value: Value,
        create_with: Option<SessionData>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        validate_user_id(user_id)?;
        validate_field(key, &value)?;
        let text = value.to_string();
        crate::value::check_size(crate::value::entry_size(key, &text), self.options.max_session_bytes)?;
        let mut cmd = self.session_cmd(&scripts::FIELD, user_id, self.ttl_ms(ttl)?);
        cmd.arg(self.options.max_session_bytes).arg(key).arg(text);
        if let Some(defaults) = create_with {
            self.push_session(&mut cmd, user_id, defaults)?;
        }
        let written: i64 = self.query(&cmd, Access::Write, Some(user_id)).await?;
        Ok(written == 1)
    }
}

#[async_trait]
impl VersionedProvider for RedisSessionProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        validate_user_id(user_id)?;
        let cmd = redis::cmd("HGETALL").arg(self.session_key(user_id)).to_owned();
        codec::decode(user_id, self.query(&cmd, Access::Read, Some(user_id)).await?)
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let reply = self.write(user_id, data, ttl, "cas", expected).await?;
        cas_outcome(user_id, reply)
    }

    /// Sends only the fields that differ from `before` (and the names of those `data` dropped),
    /// sparing Redis the rewrite of the whole hash.
    async fn compare_and_set_changes(
        &self,
        user_id: &str,
        expected: u64,
        before: &SessionData,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let mut cmd = self.session_cmd(&scripts::WRITE, user_id, self.ttl_ms(ttl)?);
        let data = prepare_session(user_id, data)?;
        let (fields, size) = encode_fields(&data, self.options.max_session_bytes)?;
        // As in a whole write, a stored createdAt stays when the new data has none.
        let removed: Vec<&String> = before
            .keys()
            .filter(|k| !data.contains_key(*k) && *k != LAST_ACTIVITY_KEY && *k != CREATED_AT_KEY)
            .collect();
        cmd.arg("delta").arg(expected).arg(removed.len()).arg(size).arg(removed);
        for (name, text) in &fields {
            if !before.get(*name).is_some_and(|old| data.get(*name).is_some_and(|new| old == new)) {
                cmd.arg(*name).arg(text);
            }
        }
        let reply = self.query(&cmd, Access::Write, Some(user_id)).await?;
        cas_outcome(user_id, reply)
    }
}

/// A compare-and-set's reply as its outcome.
fn cas_outcome(user_id: &str, reply: Reply) -> Result<CasOutcome> {
    Ok(match split_write_reply(user_id, reply)? {
        (Some(version), _) => CasOutcome::Applied(version),
        (None, current) => CasOutcome::Conflict(codec::decode(user_id, current)?),
    })
}

/// `{1, version[, HGETALL]}` or `{0[, HGETALL]}` → (version when written, the hash reply or nil).
fn split_write_reply(user_id: &str, reply: Reply) -> Result<(Option<u64>, Reply)> {
    let unexpected = || SessionError::Internal(format!("unexpected write reply for user {user_id:?}"));
    let Reply::Array(items) = reply else { return Err(unexpected()) };
    let mut items = items.into_iter();
    match items.next() {
        Some(Reply::Int(1)) => {
            let version = match items.next() {
                Some(Reply::Int(v)) => v as u64,
                _ => return Err(unexpected()),
            };
            Ok((Some(version), items.next().unwrap_or(Reply::Nil)))
        }
        Some(Reply::Int(0)) => Ok((None, items.next().unwrap_or(Reply::Nil))),
        _ => Err(unexpected()),
    }
}
