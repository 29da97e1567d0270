//! The production provider: sessions in Redis, shared by every instance and language
//! (format: docs/redis-format.md).

pub mod acl;
mod codec;
mod connection;
mod errors;
mod keys;
mod link;
pub mod migrate;
mod options;
mod scripts;
mod sentinel;
mod tls;
mod versioned;

use std::time::Duration;

use async_trait::async_trait;
use redis::{Cmd, Value as Reply};

pub use keys::{shard_of, FORMAT, SHARDS};
pub use options::{redact_url, RedisOptions, DEFAULT_PREFIX, DEFAULT_URL};

use crate::data::{prepare_session, validate_ttl, validate_user_id, SessionData};
use crate::error::{Result, SessionError};
use crate::provider::{SessionProvider, VersionedProvider};
use crate::session_text::SessionText;
use crate::touch;
use crate::update::RetryPolicy;
use errors::Access;
use keys::Layout;
use link::Link;

/// How many sessions one cleanup or clear step removes per shard, keeping each script short.
const MAINTENANCE_BATCH: usize = 1000;

/// [`SessionProvider`] on Redis. Every capability; updates are atomic across processes.
pub struct RedisSessionProvider {
    options: RedisOptions,
    layout: Layout,
    link: Link,
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
        let link = Link::new(&options, &layout)?;
        Ok(RedisSessionProvider { options, layout, link })
    }

    /// Creates the provider and verifies now that Redis answers and uses this format.
    pub async fn connect(options: RedisOptions) -> Result<Self> {
        let provider = Self::new(options)?;
        provider.link.connection().await?;
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
        self.layout.session_key(user_id)
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

    /// `GET` of the session's value (the one read of format 2).
    async fn read(&self, user_id: &str) -> Result<Reply> {
        validate_user_id(user_id)?;
        let mut cmd = redis::cmd("GET");
        cmd.arg(self.session_key(user_id));
        self.link.query(&cmd, Access::Read, Some(user_id)).await
    }

    /// The session's JSON text with the stored lastActivity (Unix ms, the server's clock), from
    /// the one `GET`: what a lazy touch decides on.
    pub async fn get_session_json_with_activity(&self, user_id: &str) -> Result<Option<(String, i64)>> {
        let reply = self.read(user_id).await?;
        let Some(stored) = codec::split(user_id, reply)? else { return Ok(None) };
        codec::validate(user_id, stored.json())?;
        let last_activity = stored.last_activity_ms;
        Ok(Some((stored.into_json_string(), last_activity)))
    }

    /// Touches only when the stored lastActivity is at least `touch_after` old by the Redis
    /// server's clock (`0`: always): `None` absent, `Some(true)` touched, `Some(false)` fresh.
    pub async fn touch_if_older(
        &self,
        user_id: &str,
        ttl: Option<Duration>,
        touch_after: Duration,
    ) -> Result<Option<bool>> {
        validate_user_id(user_id)?;
        let cmd = self.touch_cmd(user_id, ttl, touch_after)?;
        let done: i64 = self.link.query(&cmd, Access::Write, Some(user_id)).await?;
        Ok(match done {
            0 => None,
            1 => Some(true),
            _ => Some(false),
        })
    }

    /// `touch.lua` for `user_id`, touching only a session at least `touch_after` old.
    fn touch_cmd(&self, user_id: &str, ttl: Option<Duration>, touch_after: Duration) -> Result<Cmd> {
        let mut cmd = self.session_cmd(&scripts::TOUCH, user_id, self.ttl_ms(ttl)?);
        cmd.arg("touch").arg(touch_after.as_millis().min(u128::from(u64::MAX)) as u64).arg(self.clock_hint());
        Ok(cmd)
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
        let ttl_ms = self.ttl_ms(ttl)?;
        let data = prepare_session(user_id, data)?;
        let members = codec::encode_members(&data, self.options.max_session_bytes)?;
        self.send_write(user_id, ttl_ms, mode, expected, members).await
    }

    /// Runs the write script in `mode` with `members`: the createdAt text (empty: none) and the
    /// tail (the other members and `}`) of a validated session.
    async fn send_write(
        &self,
        user_id: &str,
        ttl_ms: u64,
        mode: &str,
        expected: Option<u64>,
        (created, tail): (String, String),
    ) -> Result<Reply> {
        let mut cmd = self.session_cmd(&scripts::WRITE, user_id, ttl_ms);
        cmd.arg(mode).arg(expected.unwrap_or(0)).arg(created).arg(tail).arg(self.clock_hint());
        self.link.write(&cmd, Some(user_id), write_applied).await
    }

    /// The second the server's clock is estimated to be in, as `<unix seconds> <ISO text to the
    /// second>`: the scripts stamp lastActivity from it when their `TIME` falls in that second,
    /// instead of doing the calendar arithmetic in Lua (docs/redis-format.md §4).
    fn clock_hint(&self) -> String {
        let secs = self.link.server_now_ms().div_euclid(1000);
        let iso = crate::data::format_timestamp(secs * 1000);
        format!("{secs} {}", &iso[..iso.len().min(19)])
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
            let replies: Vec<(u64, u8)> = self.link.write_all(&cmds, removed_any).await?;
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
        decode_data(user_id, self.read(user_id).await?)
    }

    async fn get_session_json(&self, user_id: &str) -> Result<Option<String>> {
        codec::decode_text(user_id, self.read(user_id).await?)
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        self.write(user_id, data, ttl, "set", None).await.map(|_| ())
    }

    /// From the text's members, never built into values when the text is plain.
    async fn set_session_text(&self, user_id: &str, session: SessionText, ttl: Option<Duration>) -> Result<()> {
        validate_user_id(user_id)?;
        let ttl_ms = self.ttl_ms(ttl)?;
        let members = codec::encode_text(user_id, session, self.options.max_session_bytes)?;
        self.send_write(user_id, ttl_ms, "set", None, members).await.map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        validate_user_id(user_id)?;
        let keys = self.layout.session(user_id);
        let mut cmd = scripts::call(&scripts::DELETE, &[&keys.session, &keys.expiry_index, &keys.activity_index]);
        cmd.arg(user_id);
        self.link.write::<i64>(&cmd, Some(user_id), |reply| matches!(reply, Reply::Int(n) if *n > 0)).await.map(|_| ())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        validate_user_id(user_id)?;
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.session_key(user_id));
        self.link.query(&cmd, Access::Read, Some(user_id)).await
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
            let pages: Vec<Vec<(String, i64)>> = self.link.query_all(&cmds, Access::Read).await?;
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
        let counts: Vec<u64> = self.link.query_all(&self.count_commands(), Access::Read).await?;
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
        cmd.arg("touch").arg(0).arg(self.clock_hint());
        let touched: i64 = self.link.write(&cmd, Some(user_id), |reply| matches!(reply, Reply::Int(1))).await?;
        Ok(touched != 0)
    }

    /// One `GET`; then, only when the server's clock (as estimated at connect) says the session
    /// is due, a touch that checks again on the server, so a wrong estimate costs at most a
    /// touch that does nothing. No `WAIT`: `wait_replicas` is about the caller's writes, and a
    /// lost touch only leaves lastActivity older.
    async fn get_and_touch(
        &self,
        user_id: &str,
        ttl: Option<Duration>,
        touch_after: Duration,
    ) -> Result<Option<SessionData>> {
        let Some(data) = self.get_session(user_id).await? else { return Ok(None) };
        let touch_after = touch::capped(touch_after, Some(Duration::from_millis(self.ttl_ms(ttl)?)));
        if touch::due(touch::last_activity_ms(&data), self.link.server_now_ms(), touch_after) {
            // Queued, not awaited: a stale read costs the reader one round trip, like a fresh one.
            let _ = self.link.send_unawaited(self.touch_cmd(user_id, ttl, touch_after)?).await;
        }
        Ok(Some(data))
    }

    async fn insert_if_absent(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<SessionData> {
        let reply = self.write(user_id, data, ttl, "nx", None).await?;
        let (_, stored) = split_write_reply(user_id, reply)?;
        decode_data(user_id, stored)?
            .ok_or_else(|| SessionError::corrupt(user_id, "session vanished while it was being created"))
    }
}

/// Whether a write script's reply says it wrote (`{1, ...}`), not that it found another version or
/// an existing session.
pub(super) fn write_applied(reply: &Reply) -> bool {
    matches!(reply, Reply::Array(items) if matches!(items.first(), Some(Reply::Int(1))))
}

/// Whether a cleanup or clear step's `{removed, more}` removed a session.
fn removed_any(reply: &Reply) -> bool {
    matches!(reply, Reply::Array(items) if matches!(items.first(), Some(Reply::Int(n)) if *n > 0))
}

/// `{1, version[, value]}` or `{0[, value]}` → (version when written, the stored value or nil).
pub(super) fn split_write_reply(user_id: &str, reply: Reply) -> Result<(Option<u64>, Reply)> {
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
