//! Compare-and-set on Redis: the hash carries a version that every write bumps (format:
//! docs/redis-format.md).

use std::time::Duration;

use async_trait::async_trait;
use redis::Value as Reply;

use super::errors::Access;
use super::{codec, scripts, split_write_reply, write_applied, RedisSessionProvider};
use crate::data::{encode_fields, prepare_session, validate_user_id, SessionData, CREATED_AT_KEY, LAST_ACTIVITY_KEY};
use crate::error::Result;
use crate::provider::{CasOutcome, Versioned, VersionedProvider};

#[async_trait]
impl VersionedProvider for RedisSessionProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        validate_user_id(user_id)?;
        let cmd = redis::cmd("HGETALL").arg(self.session_key(user_id)).to_owned();
        codec::decode(user_id, self.link.query(&cmd, Access::Read, Some(user_id)).await?)
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
        let reply = self.link.write(&cmd, Some(user_id), write_applied).await?;
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
