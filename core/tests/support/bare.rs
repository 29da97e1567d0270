//! The smallest custom provider a user could write: only the seed's required methods, over a
//! map with expiry. Everything else (stamping, sizes, owner checks, touch, the update lock)
//! comes from `StampedProvider` around it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use poto_sessions::data::{now_unix_ms, parse_timestamp, LAST_ACTIVITY_KEY};
use poto_sessions::{Result, SessionData, SessionProvider};

#[derive(Default)]
pub struct BareStore(Mutex<HashMap<String, (SessionData, Instant)>>);

impl BareStore {
    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, (SessionData, Instant)>> {
        let mut map = self.0.lock().unwrap();
        let now = Instant::now();
        map.retain(|_, (_, expires)| *expires > now);
        map
    }
}

#[async_trait]
impl SessionProvider for BareStore {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        Ok(self.live().get(user_id).map(|(data, _)| data.clone()))
    }
    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        let expires = Instant::now() + ttl.unwrap_or(Duration::from_secs(24 * 3600));
        self.live().insert(user_id.to_owned(), (data, expires));
        Ok(())
    }
    async fn delete_session(&self, user_id: &str) -> Result<()> {
        self.live().remove(user_id);
        Ok(())
    }
    async fn has_session(&self, user_id: &str) -> Result<bool> {
        Ok(self.live().contains_key(user_id))
    }
    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        let oldest = now_unix_ms() - max_age.as_millis() as i64;
        let mut map = self.live();
        let before = map.len();
        map.retain(|_, (data, _)| {
            let last = data.get(LAST_ACTIVITY_KEY).and_then(|v| v.as_str()).and_then(parse_timestamp);
            last.is_none_or(|ms| ms >= oldest)
        });
        Ok((before - map.len()) as u64)
    }
    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        Ok(self.live().keys().cloned().collect())
    }
    async fn clear(&self) -> Result<u64> {
        let mut map = self.live();
        let n = map.len() as u64;
        map.clear();
        Ok(n)
    }
}
