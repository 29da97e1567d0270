//! The provider contract every store implements (DESIGN §3).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::carry::NumberModel;
use crate::data::SessionData;
use crate::error::Result;
use crate::session_text::SessionText;
use crate::touch;
use crate::update::{self, Change, RetryPolicy};

/// A session with the version a compare-and-set must name to replace it.
#[derive(Debug, Clone, PartialEq)]
pub struct Versioned {
    pub data: SessionData,
    /// Changes on every write; never reused for one user id, even after a delete.
    pub version: u64,
}

/// Result of [`SessionProvider::compare_and_set`].
#[derive(Debug, Clone, PartialEq)]
pub enum CasOutcome {
    /// Written; the session now has this version.
    Applied(u64),
    /// Not written: the session changed. The caller must read it again.
    Stale,
    /// Not written: the session changed, and this is what it holds now (`None`: absent).
    Conflict(Option<Versioned>),
}

/// `{activeSessions, userIds}` of the seed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    pub active_sessions: u64,
    pub user_ids: Vec<String>,
}

impl SessionStats {
    /// `{"activeSessions": n, "userIds": [...]}`: the one shape C and Node hand out.
    pub fn to_json(&self) -> Value {
        serde_json::json!({"activeSessions": self.active_sessions, "userIds": self.user_ids})
    }
}

/// A session store. Implementations must be cheap to share (`Arc<dyn SessionProvider>`).
///
/// Seven methods are required (the seed's); everything else has a default that is correct for
/// any store. `ttl: None` means the provider's own default. Every write and touch stamps
/// `lastActivity` (and `createdAt` when the session has none) from the provider's clock: a
/// store that only keeps what it is given gets that from [`crate::custom::StampedProvider`].
#[async_trait]
pub trait SessionProvider: Send + Sync + 'static {
    /// The session, or `None` when absent or expired. Does not extend its life.
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>>;
    /// Stores the whole object; the TTL restarts.
    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()>;
    /// Removes the session; no error when absent.
    async fn delete_session(&self, user_id: &str) -> Result<()>;
    /// Whether a live session exists.
    async fn has_session(&self, user_id: &str) -> Result<bool>;
    /// Removes sessions whose `lastActivity` is strictly older than `max_age`; returns how many.
    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64>;
    /// Ids of the live sessions.
    async fn get_active_sessions(&self) -> Result<Vec<String>>;
    /// Removes every session of this provider (its own namespace only); returns how many.
    async fn clear(&self) -> Result<u64>;

    /// Count and ids of the live sessions.
    async fn get_stats(&self) -> Result<SessionStats> {
        let user_ids = self.get_active_sessions().await?;
        Ok(SessionStats { active_sessions: user_ids.len() as u64, user_ids })
    }

    /// Number of live sessions, without listing them where the provider can.
    async fn count(&self) -> Result<u64> {
        Ok(self.get_active_sessions().await?.len() as u64)
    }

    /// Restarts the TTL and stamps `lastActivity`; `false` when absent. By default the stored
    /// session is written again unchanged (which restamps it), atomically as any update.
    async fn touch(&self, user_id: &str, ttl: Option<Duration>) -> Result<bool> {
        let policy = self.retry_policy();
        let written = update::update_session(self, user_id, ttl, &policy, NumberModel::Exact, |current| {
            std::future::ready(Ok(current.map_or(Change::Keep, Change::Write)))
        })
        .await?;
        Ok(written.is_some())
    }

    /// Compare-and-set, where the store offers it. Without it, atomic updates are serialised by
    /// a per-process lock: such a provider is atomic only within one process.
    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        None
    }

    /// Retry budget of atomic updates on this provider (modules may override it).
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::default()
    }

    /// Whether this provider's operations finish without waiting for I/O or other threads, so
    /// a binding may poll them once on the caller's thread instead of handing them to the
    /// runtime (polling a Redis call there would wake a runtime thread per call).
    fn completes_inline(&self) -> bool {
        false
    }

    // Fast paths: stores override them where one step or no copy pays (BENCHMARKS.md).

    /// [`Self::get_session`] without copying where the provider holds sessions in memory: the
    /// in-memory provider hands out its own snapshot (writes never change a snapshot in place).
    async fn get_session_shared(&self, user_id: &str) -> Result<Option<Arc<SessionData>>> {
        Ok(self.get_session(user_id).await?.map(Arc::new))
    }

    /// [`Self::get_session`] as JSON object text, for callers that hand sessions over as text
    /// (C, Node); providers that hold text return it without re-serialising.
    async fn get_session_json(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self.get_session(user_id).await?.map(|data| Value::Object(data).to_string()))
    }

    /// [`Self::set_session`] of a session handed over as JSON text (C, Node): providers that
    /// store text write it without building values.
    async fn set_session_text(&self, user_id: &str, session: SessionText, ttl: Option<Duration>) -> Result<()> {
        self.set_session(user_id, session.into_data()?, ttl).await
    }

    /// The session, touched only when its `lastActivity` is older than `touch_after` (capped at
    /// half the TTL; `ZERO`: always) by the store's clock: what module reads and session-store
    /// adapters use (DESIGN §4.10). Returns the session as read; a failed touch never fails it.
    async fn get_and_touch(
        &self,
        user_id: &str,
        ttl: Option<Duration>,
        touch_after: Duration,
    ) -> Result<Option<SessionData>> {
        let Some(data) = self.get_session(user_id).await? else { return Ok(None) };
        let touch_after = touch::capped(touch_after, ttl);
        if touch::due(touch::last_activity_ms(&data), crate::data::now_unix_ms(), touch_after) {
            let _ = self.touch(user_id, ttl).await;
        }
        Ok(Some(data))
    }

    /// Writes `data` unless a session exists; returns the session as stored either way
    /// (the existing one when another writer won).
    async fn insert_if_absent(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<SessionData> {
        update::insert_if_absent(self, user_id, data, ttl, &self.retry_policy()).await
    }

    /// Sets one top-level key without touching the others. When the session is absent it is
    /// first created from `create_with`, or nothing is written and `false` returned.
    async fn set_field(
        &self,
        user_id: &str,
        key: &str,
        value: Value,
        create_with: Option<SessionData>,
        ttl: Option<Duration>,
    ) -> Result<bool> {
        update::set_field(self, user_id, key, value, create_with, ttl, &self.retry_policy()).await
    }
}

/// The ability to compare-and-set, which makes atomic updates safe across processes.
#[async_trait]
pub trait VersionedProvider: SessionProvider {
    /// The session with its version, or `None` when absent.
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>>;

    /// Writes `data` only if the session still has `expected` (`None`: only if absent).
    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome>;

    /// [`Self::compare_and_set`] by a caller that still holds `before`, the session it read at
    /// version `expected`: a provider may send only the fields that differ (a fast path).
    async fn compare_and_set_changes(
        &self,
        user_id: &str,
        expected: u64,
        _before: &SessionData,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        self.compare_and_set(user_id, Some(expected), data, ttl).await
    }
}
