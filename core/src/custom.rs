//! Rules for providers written outside this crate (in C, Python, JS): the built-ins apply them
//! themselves; [`StampedProvider`] applies them around any other provider, so the application
//! sees the same behaviour whichever store it plugs in.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::data::{
    check_loaded, encode_fields, format_timestamp, now_unix_ms, prepare_session, validate_user_id, SessionData,
    CREATED_AT_KEY, DEFAULT_MAX_SESSION_BYTES, LAST_ACTIVITY_KEY,
};
use crate::error::Result;
use crate::error::SessionError;
use crate::provider::{CasOutcome, SessionProvider, SessionStats, Versioned, VersionedProvider};
use crate::update::RetryPolicy;

/// Wraps a provider that only stores what it is given: validates ids and sessions, fills in
/// `userId`, stamps `createdAt` (kept across writes) and `lastActivity` from this process's
/// clock, enforces the size limit, checks what it reads back, and implements `touch` as a
/// stamped rewrite.
pub struct StampedProvider {
    inner: Arc<dyn SessionProvider>,
    max_session_bytes: usize,
}

impl StampedProvider {
    pub fn new(inner: Arc<dyn SessionProvider>) -> Self {
        StampedProvider { inner, max_session_bytes: DEFAULT_MAX_SESSION_BYTES }
    }

    pub fn with_max_session_bytes(mut self, max: usize) -> Self {
        self.max_session_bytes = max;
        self
    }

    fn stamp(&self, user_id: &str, data: SessionData, created: Option<Value>) -> Result<SessionData> {
        let mut data = prepare_session(user_id, data)?;
        let now = Value::String(format_timestamp(now_unix_ms()));
        if !data.contains_key(CREATED_AT_KEY) {
            data.insert(CREATED_AT_KEY.to_owned(), created.unwrap_or_else(|| now.clone()));
        }
        data.insert(LAST_ACTIVITY_KEY.to_owned(), now);
        encode_fields(&data, self.max_session_bytes)?;
        Ok(data)
    }

    fn inner_versioned(&self) -> Result<&dyn VersionedProvider> {
        self.inner.versioned().ok_or_else(|| SessionError::Internal("the inner store has no compare-and-set".into()))
    }

    fn checked(user_id: &str, data: Option<SessionData>) -> Result<Option<SessionData>> {
        if let Some(data) = &data {
            check_loaded(user_id, data)?;
        }
        Ok(data)
    }
}

#[async_trait]
impl SessionProvider for StampedProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        validate_user_id(user_id)?;
        Self::checked(user_id, self.inner.get_session(user_id).await?)
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        validate_user_id(user_id)?;
        let created = match data.contains_key(CREATED_AT_KEY) {
            true => None,
            false => self.inner.get_session(user_id).await?.and_then(|mut old| old.remove(CREATED_AT_KEY)),
        };
        let data = self.stamp(user_id, data, created)?;
        self.inner.set_session(user_id, data, ttl).await
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        validate_user_id(user_id)?;
        self.inner.delete_session(user_id).await
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        validate_user_id(user_id)?;
        self.inner.has_session(user_id).await
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        self.inner.cleanup_old_sessions(max_age).await
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        self.inner.get_active_sessions().await
    }

    async fn clear(&self) -> Result<u64> {
        self.inner.clear().await
    }

    async fn get_stats(&self) -> Result<SessionStats> {
        self.inner.get_stats().await
    }

    async fn count(&self) -> Result<u64> {
        self.inner.count().await
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        self.inner.versioned().map(|_| self as &dyn VersionedProvider)
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry_policy()
    }
}

/// Present only when the inner store compare-and-sets ([`SessionProvider::versioned`]).
#[async_trait]
impl VersionedProvider for StampedProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        validate_user_id(user_id)?;
        let current = self.inner_versioned()?.get_versioned(user_id).await?;
        if let Some(v) = &current {
            check_loaded(user_id, &v.data)?;
        }
        Ok(current)
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        validate_user_id(user_id)?;
        let data = self.stamp(user_id, data, None)?;
        self.inner_versioned()?.compare_and_set(user_id, expected, data, ttl).await
    }
}
