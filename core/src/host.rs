//! Custom providers written in a host language (C, Python, JavaScript), adapted once for every
//! binding. A binding only implements [`HostObject`]: which of the seed's methods the object has,
//! and how to call one with its arguments and hand back the result as JSON. This module checks
//! the object, reads the results, supplies what an object may leave out (count, stats) and wraps
//! it in [`StampedProvider`], which validates, stamps and checks what is stored.
//!
//! One adapter per host object: the per-user lock of providers without compare-and-set belongs
//! to the adapter, so a binding must reuse it for every module that wraps the same object.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::custom::StampedProvider;
use crate::data::SessionData;
use crate::error::{Result, SessionError};
use crate::options::CustomOptions;
use crate::provider::{CasOutcome, SessionProvider, SessionStats, Versioned, VersionedProvider};
use crate::value::kind_name;

/// A method of the seed's provider interface, as a host object implements it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostMethod {
    GetSession,
    SetSession,
    DeleteSession,
    HasSession,
    CleanupOldSessions,
    GetActiveSessions,
    Clear,
    Count,
    GetStats,
    GetVersioned,
    CompareAndSet,
}

impl HostMethod {
    /// What every custom provider implements.
    pub const REQUIRED: [HostMethod; 7] = [
        HostMethod::GetSession,
        HostMethod::SetSession,
        HostMethod::DeleteSession,
        HostMethod::HasSession,
        HostMethod::CleanupOldSessions,
        HostMethod::GetActiveSessions,
        HostMethod::Clear,
    ];
    /// Optional methods; `GetVersioned` and `CompareAndSet` come together.
    pub const OPTIONAL: [HostMethod; 4] =
        [HostMethod::Count, HostMethod::GetStats, HostMethod::GetVersioned, HostMethod::CompareAndSet];

    /// The name in Python and C (`get_session`).
    pub fn snake_name(self) -> &'static str {
        match self {
            HostMethod::GetSession => "get_session",
            HostMethod::SetSession => "set_session",
            HostMethod::DeleteSession => "delete_session",
            HostMethod::HasSession => "has_session",
            HostMethod::CleanupOldSessions => "cleanup_old_sessions",
            HostMethod::GetActiveSessions => "get_active_sessions",
            HostMethod::Clear => "clear",
            HostMethod::Count => "count",
            HostMethod::GetStats => "get_stats",
            HostMethod::GetVersioned => "get_versioned",
            HostMethod::CompareAndSet => "compare_and_set",
        }
    }

    /// The name in JavaScript (`getSession`).
    pub fn camel_name(self) -> &'static str {
        match self {
            HostMethod::GetSession => "getSession",
            HostMethod::SetSession => "setSession",
            HostMethod::DeleteSession => "deleteSession",
            HostMethod::HasSession => "hasSession",
            HostMethod::CleanupOldSessions => "cleanupOldSessions",
            HostMethod::GetActiveSessions => "getActiveSessions",
            HostMethod::Clear => "clear",
            HostMethod::Count => "count",
            HostMethod::GetStats => "getStats",
            HostMethod::GetVersioned => "getVersioned",
            HostMethod::CompareAndSet => "compareAndSet",
        }
    }
}

/// One call of a host object's method with its arguments (`ttl: None`: the store's default).
#[derive(Debug, Clone)]
pub enum HostCall {
    GetSession {
        user_id: String,
    },
    SetSession {
        user_id: String,
        data: SessionData,
        ttl: Option<Duration>,
    },
    DeleteSession {
        user_id: String,
    },
    HasSession {
        user_id: String,
    },
    CleanupOldSessions {
        max_age: Duration,
    },
    GetActiveSessions,
    Clear,
    Count,
    GetStats,
    GetVersioned {
        user_id: String,
    },
    /// `expected: None`: store only if absent.
    CompareAndSet {
        user_id: String,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    },
}

impl HostCall {
    pub fn method(&self) -> HostMethod {
        match self {
            HostCall::GetSession { .. } => HostMethod::GetSession,
            HostCall::SetSession { .. } => HostMethod::SetSession,
            HostCall::DeleteSession { .. } => HostMethod::DeleteSession,
            HostCall::HasSession { .. } => HostMethod::HasSession,
            HostCall::CleanupOldSessions { .. } => HostMethod::CleanupOldSessions,
            HostCall::GetActiveSessions => HostMethod::GetActiveSessions,
            HostCall::Clear => HostMethod::Clear,
            HostCall::Count => HostMethod::Count,
            HostCall::GetStats => HostMethod::GetStats,
            HostCall::GetVersioned { .. } => HostMethod::GetVersioned,
            HostCall::CompareAndSet { .. } => HostMethod::CompareAndSet,
        }
    }
}

/// What a binding implements for an object of its language.
///
/// [`HostObject::call`] returns the method's result as JSON: a session object or `null`
/// (`get_session`); a boolean (`has_session`); a count (`cleanup_old_sessions`, `clear`,
/// `count`); an array of ids (`get_active_sessions`); `{activeSessions, userIds}`
/// (`get_stats`); `null`, `{data, version}` or `[data, version]` (`get_versioned`); the new
/// version, or `null`/`false`/`0` when not stored (`compare_and_set`). The results of
/// `set_session` and `delete_session` are ignored. A failure of the object itself is
/// [`SessionError::Provider`] with its message.
#[async_trait]
pub trait HostObject: Send + Sync + 'static {
    /// Whether the object has `method`.
    fn implements(&self, method: HostMethod) -> bool;
    /// Calls the method `call` names.
    async fn call(&self, call: HostCall) -> Result<Value>;
}

/// The provider for `object`: an invalid argument when it lacks a required method or has only
/// one of `get_versioned` / `compare_and_set`. `names` spells methods in the host's case.
pub fn host_provider(
    object: Arc<dyn HostObject>,
    options: &CustomOptions,
    names: fn(HostMethod) -> &'static str,
) -> Result<Arc<dyn SessionProvider>> {
    let missing: Vec<&str> = HostMethod::REQUIRED.into_iter().filter(|m| !object.implements(*m)).map(names).collect();
    if !missing.is_empty() {
        return Err(SessionError::InvalidArgument(format!("custom provider lacks {}", missing.join(", "))));
    }
    let versioned = object.implements(HostMethod::GetVersioned);
    if versioned != object.implements(HostMethod::CompareAndSet) {
        return Err(SessionError::InvalidArgument(format!(
            "{} and {} go together",
            names(HostMethod::GetVersioned),
            names(HostMethod::CompareAndSet)
        )));
    }
    let adapter = HostProvider {
        count: object.implements(HostMethod::Count),
        stats: object.implements(HostMethod::GetStats),
        versioned,
        names,
        object,
    };
    Ok(Arc::new(StampedProvider::new(Arc::new(adapter)).with_max_session_bytes(options.max_session_bytes)))
}

struct HostProvider {
    object: Arc<dyn HostObject>,
    names: fn(HostMethod) -> &'static str,
    count: bool,
    stats: bool,
    versioned: bool,
}

impl HostProvider {
    async fn call(&self, call: HostCall) -> Result<(Value, Reader)> {
        let method = call.method();
        crate::failpoint!("host.call");
        let value = self.object.call(call).await?;
        Ok((value, Reader { method: (self.names)(method) }))
    }
}

/// Reads one method's result, naming the method in every complaint.
struct Reader {
    method: &'static str,
}

impl Reader {
    fn bad(&self, value: &Value, expected: &str) -> SessionError {
        SessionError::Provider(format!("{} returned {}, not {expected}", self.method, kind_name(value)))
    }

    fn session(&self, value: Value) -> Result<Option<SessionData>> {
        match value {
            Value::Null => Ok(None),
            Value::Object(map) => Ok(Some(map)),
            other => Err(self.bad(&other, "a session object or null")),
        }
    }

    fn count(&self, value: &Value) -> Result<u64> {
        match value {
            Value::Null => Ok(0),
            Value::Number(n) => n
                .as_u64()
                .or_else(|| n.as_f64().filter(|f| *f >= 0.0 && f.fract() == 0.0).map(|f| f as u64))
                .ok_or_else(|| self.bad(value, "a count")),
            other => Err(self.bad(other, "a count")),
        }
    }

    fn ids(&self, value: Value) -> Result<Vec<String>> {
        let Value::Array(items) = value else { return Err(self.bad(&value, "an array of user ids")) };
        items
            .into_iter()
            .map(|item| match item {
                Value::String(id) => Ok(id),
                other => Err(self.bad(&other, "a user id (string)")),
            })
            .collect()
    }

    fn versioned(&self, value: Value) -> Result<Option<Versioned>> {
        let (data, version) = match value {
            Value::Null => return Ok(None),
            Value::Object(mut pair) if pair.contains_key("version") => {
                (pair.remove("data").unwrap_or(Value::Null), pair.remove("version").unwrap_or(Value::Null))
            }
            Value::Array(pair) if pair.len() == 2 => {
                let mut pair = pair.into_iter();
                (pair.next().unwrap_or_default(), pair.next().unwrap_or_default())
            }
            other => return Err(self.bad(&other, "null or a session with its version")),
        };
        let version = self.count(&version)?;
        let data = self.session(data)?.ok_or_else(|| self.bad(&Value::Null, "a session with its version"))?;
        Ok(Some(Versioned { data, version }))
    }

    fn cas(&self, value: Value) -> Result<CasOutcome> {
        match value {
            Value::Null | Value::Bool(false) => Ok(CasOutcome::Stale),
            Value::Number(_) => match self.count(&value)? {
                0 => Ok(CasOutcome::Stale),
                version => Ok(CasOutcome::Applied(version)),
            },
            other => Err(self.bad(&other, "the new version, or null when not stored")),
        }
    }
}

#[async_trait]
impl SessionProvider for HostProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        let (value, read) = self.call(HostCall::GetSession { user_id: user_id.to_owned() }).await?;
        read.session(value)
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        self.call(HostCall::SetSession { user_id: user_id.to_owned(), data, ttl }).await.map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        self.call(HostCall::DeleteSession { user_id: user_id.to_owned() }).await.map(|_| ())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        match self.call(HostCall::HasSession { user_id: user_id.to_owned() }).await? {
            (Value::Bool(has), _) => Ok(has),
            (other, read) => Err(read.bad(&other, "a boolean")),
        }
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        let (value, read) = self.call(HostCall::CleanupOldSessions { max_age }).await?;
        read.count(&value)
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        let (value, read) = self.call(HostCall::GetActiveSessions).await?;
        read.ids(value)
    }

    async fn clear(&self) -> Result<u64> {
        let (value, read) = self.call(HostCall::Clear).await?;
        read.count(&value)
    }

    async fn get_stats(&self) -> Result<SessionStats> {
        if !self.stats {
            let user_ids = self.get_active_sessions().await?;
            return Ok(SessionStats { active_sessions: user_ids.len() as u64, user_ids });
        }
        let (mut value, read) = self.call(HostCall::GetStats).await?;
        let Some(stats) = value.as_object_mut() else { return Err(read.bad(&value, "{activeSessions, userIds}")) };
        let user_ids = read.ids(stats.remove("userIds").unwrap_or(Value::Array(vec![])))?;
        let active_sessions = match stats.get("activeSessions") {
            Some(n) => read.count(n)?,
            None => user_ids.len() as u64,
        };
        Ok(SessionStats { active_sessions, user_ids })
    }

    async fn count(&self) -> Result<u64> {
        if !self.count {
            return Ok(self.get_active_sessions().await?.len() as u64);
        }
        let (value, read) = self.call(HostCall::Count).await?;
        read.count(&value)
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        self.versioned.then_some(self as &dyn VersionedProvider)
    }
}

#[async_trait]
impl VersionedProvider for HostProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        let (value, read) = self.call(HostCall::GetVersioned { user_id: user_id.to_owned() }).await?;
        read.versioned(value)
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let call = HostCall::CompareAndSet { user_id: user_id.to_owned(), expected, data, ttl };
        let (value, read) = self.call(call).await?;
        read.cas(value)
    }
}
