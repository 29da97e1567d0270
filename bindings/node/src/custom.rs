//! A provider written in JS: each method is a request to the JS object registered as `target`
//! (lib/custom.js calls the method, awaits it and replies with its result as JSON). Wrapped in the
//! core's `StampedProvider`, which validates, stamps and checks what it stores and reads.

use std::time::Duration;

use async_trait::async_trait;
use poto_sessions::{
    CasOutcome, Result, SessionData, SessionError, SessionProvider, SessionStats, Versioned, VersionedProvider,
};
use serde_json::{json, Value};

use crate::bridge::call_js;

pub struct JsProvider {
    pub target: u32,
    pub versioned: bool,
    pub has_stats: bool,
    pub has_count: bool,
}

fn ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_millis() as u64))
}

fn bad(method: &str, what: impl std::fmt::Display) -> SessionError {
    SessionError::Provider(format!("{method} returned {what}"))
}

fn parse(method: &str, text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| bad(method, format!("unreadable JSON: {e}")))
}

fn session(method: &str, v: Value) -> Result<Option<SessionData>> {
    match v {
        Value::Null => Ok(None),
        Value::Object(map) => Ok(Some(map)),
        other => Err(bad(method, format!("{other}, not a session object or null"))),
    }
}

fn number(method: &str, v: Value) -> Result<u64> {
    match &v {
        Value::Null => Some(0),
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        _ => None,
    }
    .ok_or_else(|| bad(method, format!("{v}, not a count")))
}

fn ids(method: &str, v: Value) -> Result<Vec<String>> {
    match v {
        Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Value::String(s) => Ok(s),
                other => Err(bad(method, format!("a non-string id {other}"))),
            })
            .collect(),
        other => Err(bad(method, format!("{other}, not an array of ids"))),
    }
}

impl JsProvider {
    async fn call(&self, method: &'static str, args: Value) -> Result<Value> {
        let text = call_js(self.target, method, args.to_string()).await?;
        parse(method, &text)
    }
}

#[async_trait]
impl SessionProvider for JsProvider {
    async fn get_session(&self, user_id: &str) -> Result<Option<SessionData>> {
        session("getSession", self.call("getSession", json!([user_id])).await?)
    }

    async fn set_session(&self, user_id: &str, data: SessionData, ttl: Option<Duration>) -> Result<()> {
        self.call("setSession", json!([user_id, data, ms(ttl)])).await.map(|_| ())
    }

    async fn delete_session(&self, user_id: &str) -> Result<()> {
        self.call("deleteSession", json!([user_id])).await.map(|_| ())
    }

    async fn has_session(&self, user_id: &str) -> Result<bool> {
        Ok(self.call("hasSession", json!([user_id])).await?.as_bool().unwrap_or(false))
    }

    async fn cleanup_old_sessions(&self, max_age: Duration) -> Result<u64> {
        number("cleanupOldSessions", self.call("cleanupOldSessions", json!([max_age.as_millis() as u64])).await?)
    }

    async fn get_active_sessions(&self) -> Result<Vec<String>> {
        ids("getActiveSessions", self.call("getActiveSessions", json!([])).await?)
    }

    async fn clear(&self) -> Result<u64> {
        number("clear", self.call("clear", json!([])).await?)
    }

    async fn get_stats(&self) -> Result<SessionStats> {
        if !self.has_stats {
            let user_ids = self.get_active_sessions().await?;
            return Ok(SessionStats { active_sessions: user_ids.len() as u64, user_ids });
        }
        let v = self.call("getStats", json!([])).await?;
        let user_ids = ids("getStats", v.get("userIds").cloned().unwrap_or(Value::Null))?;
        let active = match v.get("activeSessions") {
            Some(n) => number("getStats", n.clone())?,
            None => user_ids.len() as u64,
        };
        Ok(SessionStats { active_sessions: active, user_ids })
    }

    async fn count(&self) -> Result<u64> {
        if self.has_count {
            number("count", self.call("count", json!([])).await?)
        } else {
            Ok(self.get_active_sessions().await?.len() as u64)
        }
    }

    fn versioned(&self) -> Option<&dyn VersionedProvider> {
        self.versioned.then_some(self as &dyn VersionedProvider)
    }
}

#[async_trait]
impl VersionedProvider for JsProvider {
    async fn get_versioned(&self, user_id: &str) -> Result<Option<Versioned>> {
        let v = self.call("getVersioned", json!([user_id])).await?;
        if v.is_null() {
            return Ok(None);
        }
        let version = number("getVersioned", v.get("version").cloned().unwrap_or(Value::Null))?;
        let data = session("getVersioned", v.get("data").cloned().unwrap_or(Value::Null))?
            .ok_or_else(|| bad("getVersioned", "a version without data"))?;
        Ok(Some(Versioned { data, version }))
    }

    async fn compare_and_set(
        &self,
        user_id: &str,
        expected: Option<u64>,
        data: SessionData,
        ttl: Option<Duration>,
    ) -> Result<CasOutcome> {
        let v = self.call("compareAndSet", json!([user_id, expected, data, ms(ttl)])).await?;
        Ok(match v {
            Value::Bool(false) | Value::Null => CasOutcome::Stale,
            Value::Number(_) => match number("compareAndSet", v)? {
                0 => CasOutcome::Stale,
                n => CasOutcome::Applied(n),
            },
            other => return Err(bad("compareAndSet", format!("{other}, not a new version or null"))),
        })
    }
}
