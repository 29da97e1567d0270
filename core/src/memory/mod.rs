//! The default provider: a concurrent in-process map with sliding TTL.
//! Not shared across processes and lost on restart (the seed's stated limits).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use dashmap::DashMap;
use serde_json::Value;

use crate::data::{
    encode_fields, format_timestamp, now_unix_ms, prepare_session, validate_field, validate_ttl, validate_user_id,
    SessionData, CREATED_AT_KEY, DEFAULT_MAX_SESSION_BYTES, LAST_ACTIVITY_KEY,
};
use crate::error::Result;
use crate::options::MemoryOptions;
use crate::provider::{CasOutcome, SessionProvider, Versioned, VersionedProvider};
use crate::session_text::SessionText;
use crate::touch;
use crate::value::{check_size, entry_size};

mod entry;
use entry::{Body, Entry};

/// Default time a session lives after its last write or touch.
pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// In-memory [`SessionProvider`]: every capability, updates atomic within this process.
pub struct InMemorySessionProvider {
    sessions: DashMap<String, Entry>,
    ttl: Duration,
    max_session_bytes: usize,
    /// One counter for all users, so a version is never reused after a delete.
    next_version: AtomicU64,
}

impl Default for InMemorySessionProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for InMemorySessionProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InMemorySessionProvider").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

impl InMemorySessionProvider {
    /// A provider with the default TTL (24 h) and size limit (1 MiB).
    pub fn new() -> Self {
        InMemorySessionProvider {
            sessions: DashMap::new(),
            ttl: DEFAULT_TTL,
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            next_version: AtomicU64::new(1),
        }
    }

    /// A provider with `options` (see [`crate::options`]).
    pub fn with_options(options: MemoryOptions) -> Result<Self> {
        Ok(Self::new().with_ttl(options.ttl)?.with_max_session_bytes(options.max_session_bytes))
    }

    /// Sets the default TTL (at least 1 ms).
    pub fn with_ttl(mut self, ttl: Duration) -> Result<Self> {
        validate_ttl(ttl)?;
        self.ttl = ttl;
        Ok(self)
    }

    /// Sets the largest session accepted, in bytes (see [`crate::data::encode_fields`]).
    pub fn with_max_session_bytes(mut self, max: usize) -> Self {
        self.max_session_bytes = max;
        self
    }

    fn ttl_or_default(&self, ttl: Option<Duration>) -> Result<Duration> {
        let ttl = ttl.unwrap_or(self.ttl);
        validate_ttl(ttl)?;
        Ok(ttl)
    }

    fn live_entry(&self, user_id: &str) -> Option<dashmap::mapref::one::Ref<'_, String, Entry>> {
        crate::failpoint!("memory.get");
        let now = Instant::now();
        match self.sessions.get(user_id) {
            Some(entry) if entry.live(now) => Some(entry),
            Some(entry) => {
                drop(entry);
                self.sessions.remove_if(user_id, |_, e| !e.live(now));
                None
            }
            None => None,
        }
    }

    /// Validates and stamps `data`, then stores it unless `expected` names another version
    /// than the live one (`None`: any; `Some(None)`: only if absent); `Err(current)` then.
    fn write(
        &self,
        user_id: &str,
        data: SessionData,
        ttl: Option<Duration>,
        expected: Option<Option<u64>>,
    ) -> Result<std::result::Result<u64, Option<Versioned>>> {
        crate::failpoint!("memory.set");
        let ttl = self.ttl_or_default(ttl)?;
        let mut data = prepare_session(user_id, data)?;
        encode_fields(&data, self.max_session_bytes)?;
        self.put(user_id, ttl, expected, |existing, stamp| {
            if !data.contains_key(CREATED_AT_KEY) {
                let created = existing.map(Entry::created_at).transpose()?.flatten();
                let created = created.unwrap_or_else(|| Value::String(stamp.to_owned()));
                data.insert(CREATED_AT_KEY.to_owned(), created);
            }
            data.insert(LAST_ACTIVITY_KEY.to_owned(), Value::String(stamp.to_owned()));
            Ok(Body::Data(data))
        })
    }

    /// Stores what `make(live entry, stamp)` gives, unless `expected` names another version
    /// than the live one (as [`Self::write`]).
    fn put(
        &self,
        user_id: &str,
        ttl: Duration,
        expected: Option<Option<u64>>,
        make: impl FnOnce(Option<&Entry>, &str) -> Result<Body>,
    ) -> Result<std::result::Result<u64, Option<Versioned>>> {
        let now = Instant::now();
        let mut slot = self.sessions.entry(user_id.to_owned());
        let existing = match &mut slot {
            dashmap::Entry::Occupied(e) if e.get().live(now) => Some(e.get()),
            _ => None,
        };
        if let Some(expected) = expected {
            if existing.map(|e| e.version) != expected {
                return Ok(Err(existing.map(Self::versioned_of).transpose()?));
            }
        }
        let now_ms = now_unix_ms();
        let body = make(existing, &format_timestamp(now_ms))?;
        let version = self.next_version.fetch_add(1, Ordering::Relaxed);
        slot.insert(Entry::new(body, version, now + ttl, now_ms));
        Ok(Ok(version))
    }

    fn versioned_of(entry: &Entry) -> Result<Versioned> {
        Ok(Versioned { data: (**entry.data()?).clone(), version: entry.version })
    }

    fn stamp(entry: &mut Entry, ttl: Duration) -> Result<()> {
        let now_ms = now_unix_ms();
        entry.restamp(&format_timestamp(now_ms))?;
        entry.last_activity_ms = now_ms;
        entry.expires_at = Instant::now() + ttl;
        Ok(())
    }

    /// The session as JSON text, or `None` when absent or expired: what
    /// [`SessionProvider::get_session`] returns, serialised once per change and shared, so a
    /// binding that hands sessions over as text neither clones nor re-serialises them. Synchronous:
    /// the in-memory store never waits.
    pub fn get_session_text(&self, user_id: &str) -> Result<Option<Arc<str>>> {
        validate_user_id(user_id)?;
        self.live_entry(user_id).map(|e| e.text().cloned()).transpose()
    }

    /// Drops expired entries so that memory does not grow with sessions nobody reads again.
    fn purge_expired(&self) {
        let now = Instant::now();
        self.sessions.retain(|_, e| e.live(now));
    }
}

#[async_trait]
impl SessionProvider for InMemorySessionProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        validate_user_id(user_id)?;
        self.live_entry(user_id).map(|e| e.data().map(|d| (**d).clone())).transpose()
    }

    async fn get_session_shared(&self, user_id: &str) -> Result<Option<Arc<SessionData>>> {
        validate_user_id(user_id)?;
        self.live_entry(user_id).map(|e| e.data().cloned()).transpose()
    }

    async fn get_session_json(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self.get_session_text(user_id)?.map(|text| text.to_string()))
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        self.write(user_id, data, ttl, None).map(|_| ())
    }

    /// A plain text is checked from its members and stored as text, with no values built.
    async fn set_session_text(&self, user_id: &str, session: SessionText, ttl: Option<Duration>) -> Result<()> {
        let prepared = match validate_user_id(user_id) {
            Ok(()) => session.prepare(user_id, self.max_session_bytes),
            Err(_) => None,
        };
        let Some(prepared) = prepared else {
            return self.set_session(user_id, session.into_data()?, ttl).await;
        };
        crate::failpoint!("memory.set");
        let ttl = self.ttl_or_default(ttl)?;
        self.put(user_id, ttl, None, |existing, stamp| {
            let stamp = format!("\"{stamp}\"");
            let kept = match (prepared.created_at, existing) {
                (None, Some(e)) => e.created_at_text()?,
                _ => None,
            };
            let created_at: Box<str> = prepared.created_at.or(kept.as_deref()).unwrap_or(&stamp).into();
            let stamps = [(CREATED_AT_KEY, &*created_at), (LAST_ACTIVITY_KEY, stamp.as_str())];
            let (json, last_activity_at) = prepared.members_text('{', &stamps);
            Ok(Body::Text { json, created_at, last_activity_at })
        })
        .map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        validate_user_id(user_id)?;
        self.sessions.remove(user_id);
        Ok(())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        validate_user_id(user_id)?;
        Ok(self.live_entry(user_id).is_some())
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        let cutoff = now_unix_ms().saturating_sub(max_age.as_millis().min(i64::MAX as u128) as i64);
        let now = Instant::now();
        let mut removed = 0;
        self.sessions.retain(|_, e| {
            let keep = e.live(now) && e.last_activity_ms >= cutoff;
            if !keep && e.live(now) {
                removed += 1;
            }
            keep
        });
        Ok(removed)
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        self.purge_expired();
        Ok(self.sessions.iter().map(|e| e.key().clone()).collect())
    }

    async fn count(&self) -> Result<u64> {
        self.purge_expired();
        Ok(self.sessions.len() as u64)
    }

    async fn clear(&self) -> Result<u64> {
        let now = Instant::now();
        let mut removed = 0;
        self.sessions.retain(|_, e| {
            removed += u64::from(e.live(now));
            false
        });
        Ok(removed)
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        Some(self)
    }

    fn completes_inline(&self) -> bool {
        true
    }

    async fn touch(&self, user_id: &str, ttl: Option<Duration>) -> Result<bool> {
        validate_user_id(user_id)?;
        let ttl = self.ttl_or_default(ttl)?;
        match self.sessions.get_mut(user_id) {
            Some(mut entry) if entry.live(Instant::now()) => {
                Self::stamp(&mut entry, ttl)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A fresh session is read without a write, so its cached text stays valid.
    async fn get_and_touch(
        &self,
        user_id: &str,
        ttl: Option<Duration>,
        touch_after: Duration,
    ) -> Result<Option<SessionData>> {
        crate::failpoint!("memory.get");
        validate_user_id(user_id)?;
        let ttl = self.ttl_or_default(ttl)?;
        let touch_after = touch::capped(touch_after, Some(ttl));
        let now = Instant::now();
        if let Some(entry) = self.live_entry(user_id) {
            if !touch::due(Some(entry.last_activity_ms), now_unix_ms(), touch_after) {
                return Ok(Some((**entry.data()?).clone()));
            }
        }
        match self.sessions.get_mut(user_id) {
            Some(mut entry) if entry.live(now) => {
                Self::stamp(&mut entry, ttl)?;
                Ok(Some((**entry.data()?).clone()))
            }
            _ => Ok(None),
        }
    }

    async fn insert_if_absent(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<SessionData> {
        loop {
            match self.write(user_id, data.clone(), ttl, Some(None))? {
                Ok(_) => {}
                Err(Some(current)) => return Ok(current.data),
                Err(None) => continue,
            }
            if let Some(entry) = self.live_entry(user_id) {
                return Ok((**entry.data()?).clone());
            }
        }
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
        crate::failpoint!("memory.set");
        let ttl = self.ttl_or_default(ttl)?;
        loop {
            {
                let now = Instant::now();
                if let Some(mut entry) = self.sessions.get_mut(user_id).filter(|e| e.live(now)) {
                    let others: usize = entry
                        .data()?
                        .iter()
                        .filter(|(k, _)| k.as_str() != key)
                        .map(|(k, v)| entry_size(k, &v.to_string()))
                        .sum();
                    check_size(others + entry_size(key, &value.to_string()), self.max_session_bytes)?;
                    entry.data_mut()?.insert(key.to_owned(), value);
                    entry.version = self.next_version.fetch_add(1, Ordering::Relaxed);
                    Self::stamp(&mut entry, ttl)?;
                    return Ok(true);
                }
            }
            match &create_with {
                Some(defaults) => {
                    self.insert_if_absent(user_id, defaults.clone(), Some(ttl)).await?;
                }
                None => return Ok(false),
            }
        }
    }
}

#[async_trait]
impl VersionedProvider for InMemorySessionProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        validate_user_id(user_id)?;
        self.live_entry(user_id).map(|e| Self::versioned_of(&e)).transpose()
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        Ok(match self.write(user_id, data, ttl, Some(expected))? {
            Ok(version) => CasOutcome::Applied(version),
            Err(current) => CasOutcome::Conflict(current),
        })
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;
    use crate::data::USER_ID_KEY;
    use serde_json::json;

    #[tokio::test]
    async fn session_text_follows_every_change() {
        let p = InMemorySessionProvider::new();
        assert_eq!(p.get_session_text("u").unwrap(), None);
        p.set_session("u", json!({"a": 1}).as_object().unwrap().clone(), None).await.unwrap();
        async fn same(p: &InMemorySessionProvider) {
            let text = p.get_session_text("u").unwrap().unwrap();
            let data = p.get_session("u").await.unwrap().unwrap();
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), Value::Object(data));
        }
        same(&p).await;
        p.set_field("u", "b", json!([2]), None, None).await.unwrap();
        same(&p).await;
        assert!(p.get_session_text("u").unwrap().unwrap().contains("\"b\":[2]"));
        tokio::time::sleep(Duration::from_millis(2)).await;
        p.touch("u", None).await.unwrap();
        same(&p).await;
        assert!(p.get_session_text("").is_err());
    }

    #[tokio::test]
    async fn a_write_from_text_stores_what_a_write_of_values_stores() {
        let p = InMemorySessionProvider::new().with_max_session_bytes(40);
        let from_text = |text: &str| SessionText::parse(text.to_owned(), "session").unwrap();
        let without_activity = |mut data: SessionData| {
            data.remove(LAST_ACTIVITY_KEY);
            data
        };
        let text = r#"{"n":1.50,"m":{"y":[1],"x":null},"createdAt":"c","lastActivity":"l"}"#;
        p.set_session("tree", serde_json::from_str(text).unwrap(), None).await.unwrap();
        p.set_session_text("text", from_text(text), None).await.unwrap();
        let mut tree = without_activity(p.get_session("tree").await.unwrap().unwrap());
        tree.insert(USER_ID_KEY.into(), "text".into());
        assert_eq!(without_activity(p.get_session("text").await.unwrap().unwrap()), tree);
        p.set_session_text("text", from_text(r#"{"a":1}"#), None).await.unwrap();
        assert_eq!(p.get_session("text").await.unwrap().unwrap()["createdAt"], "c", "a stored createdAt is kept");
        for (text, error) in [
            (r#"{"userId":"other"}"#, "belongs to \"text\""),
            (r#"{"a":"0123456789012345678901234567890"}"#, "the limit is 40"),
            (r#"{"a":1e400}"#, "overflows"),
        ] {
            let err = p.set_session_text("text", from_text(text), None).await.unwrap_err();
            assert!(err.to_string().contains(error), "{err}");
        }
        assert_eq!(p.get_session("text").await.unwrap().unwrap()["a"], 1);
    }

    #[tokio::test]
    async fn a_session_written_as_text_reads_back_as_the_tree_path_writes_it() {
        let p = InMemorySessionProvider::new();
        let from_text = |text: &str| SessionText::parse(text.to_owned(), "session").unwrap();
        // The text with the two stamps' digits masked.
        let masked = |p: &InMemorySessionProvider, id: &str| {
            let mut text = p.get_session_text(id).unwrap().unwrap().to_string();
            for name in ["\"createdAt\":\"", "\"lastActivity\":\""] {
                let at = text.find(name).unwrap() + name.len();
                text.replace_range(at..at + 24, &"X".repeat(24));
            }
            text
        };
        // Stamps sort among the members: before, between and after them.
        for text in [r#"{"a":1,"b":{"x":[],"y":"\u0001\n"}}"#, r#"{"d":1,"m":2,"z":{}}"#, r#"{"zz":true}"#, r#"{}"#] {
            p.set_session("tree", serde_json::from_str(text).unwrap(), None).await.unwrap();
            p.set_session_text("text", from_text(text), None).await.unwrap();
            let tree = masked(&p, "tree").replace(r#""userId":"tree""#, r#""userId":"text""#);
            assert_eq!(masked(&p, "text"), tree, "{text}");
        }
        // Nested names keep the writer's order in the text; values read back as the tree.
        p.set_session_text("u", from_text(r#"{"m":{"y":1,"x":2},"createdAt":"c\"q"}"#), None).await.unwrap();
        assert!(p.get_session_text("u").unwrap().unwrap().contains(r#""m":{"y":1,"x":2}"#));
        let data = p.get_session("u").await.unwrap().unwrap();
        assert_eq!((data["m"]["x"].clone(), data["createdAt"].clone()), (json!(2), json!("c\"q")));
        // createdAt is kept across writes of either form, touches and field writes.
        p.set_session("u", json!({"n": 1}).as_object().unwrap().clone(), None).await.unwrap();
        p.set_session_text("u", from_text(r#"{"n":2}"#), None).await.unwrap();
        assert!(p.touch("u", None).await.unwrap());
        p.set_field("u", "k", json!("v"), None, None).await.unwrap();
        p.set_session_text("u", from_text(r#"{"n":3}"#), None).await.unwrap();
        let versioned = p.get_versioned("u").await.unwrap().unwrap();
        assert_eq!((versioned.data["createdAt"].clone(), versioned.data["n"].clone()), (json!("c\"q"), json!(3)));
        assert!(!versioned.data.contains_key("k"));
        let applied = p.compare_and_set("u", Some(versioned.version), versioned.data.clone(), None).await.unwrap();
        assert!(matches!(applied, CasOutcome::Applied(_)));
        let shared = p.get_session_shared("u").await.unwrap().unwrap();
        assert_eq!(shared["createdAt"], "c\"q");
    }

    #[tokio::test]
    async fn a_touch_of_a_session_written_as_text_changes_its_stamp_only() {
        let p = InMemorySessionProvider::new();
        let text = r#"{"m":{"y":1,"x":[2.50]},"z":"\u0001"}"#;
        p.set_session_text("u", SessionText::parse(text.into(), "session").unwrap(), None).await.unwrap();
        let stamp_of = |text: &str| text.split("\"lastActivity\":").nth(1).unwrap()[..26].to_owned();
        let unstamped = |text: &str| text.replace(&format!("\"lastActivity\":{}", stamp_of(text)), "");
        let before = p.get_session_text("u").unwrap().unwrap();
        for read_values_first in [false, true] {
            tokio::time::sleep(Duration::from_millis(3)).await;
            if read_values_first {
                p.get_session_shared("u").await.unwrap();
            }
            let old = p.get_session_text("u").unwrap().unwrap();
            assert!(p.touch("u", None).await.unwrap());
            let after = p.get_session_text("u").unwrap().unwrap();
            assert_ne!(stamp_of(&after), stamp_of(&old));
            assert_eq!(unstamped(&after), unstamped(&before), "only the stamp");
            let data = p.get_session("u").await.unwrap().unwrap();
            assert_eq!(serde_json::to_string(&data["lastActivity"]).unwrap(), stamp_of(&after));
        }
        // A field write rewrites the text from values (nested names sorted), as on Redis.
        p.set_field("u", "k", json!(1), None, None).await.unwrap();
        let text = p.get_session_text("u").unwrap().unwrap();
        assert!(text.contains(r#""m":{"x":[2.50],"y":1}"#) && text.contains(r#""k":1"#), "{text}");
        assert!(p.touch("u", None).await.unwrap());
        assert_eq!(serde_json::from_str::<Value>(&p.get_session_text("u").unwrap().unwrap()).unwrap()["k"], 1);
    }
}
