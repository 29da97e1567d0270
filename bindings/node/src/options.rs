//! Options of the providers and modules as JS passes them (camelCase, milliseconds), mapped onto
//! the core's option types: durations, counts, the Redis options object and the retry policy.

use std::time::Duration;

use poto_sessions::{RedisOptions, Result, RetryPolicy};
use serde_json::Value;

use crate::errors::invalid;

/// A duration in milliseconds from JS: finite and at least 1 ms.
pub fn millis(what: &str, ms: Option<f64>) -> Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if (1.0..=1e15).contains(&ms) => Ok(Some(Duration::from_millis(ms as u64))),
        Some(ms) => Err(invalid(format!("{what} must be a number of milliseconds >= 1, got {ms}"))),
    }
}

/// A positive count from JS (a byte limit).
pub fn count_arg(what: &str, n: Option<f64>) -> Result<Option<usize>> {
    match n {
        None => Ok(None),
        Some(n) if (1.0..=9e15).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(invalid(format!("{what} must be a positive integer, got {n}"))),
    }
}

/// `text`: JSON `{url, prefix, cluster, ttlMs, connectTimeoutMs, commandTimeoutMs,
/// maxSessionBytes, retry: {budgetMs, baseDelayMs, maxDelayMs}}`, every field optional.
pub fn redis_options(text: &str) -> Result<RedisOptions> {
    let v: Value = serde_json::from_str(text).map_err(|e| invalid(format!("redis options: {e}")))?;
    let o = v.as_object().ok_or_else(|| invalid("redis options must be an object"))?;
    let num = |key: &str| -> Result<Option<f64>> {
        match o.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(invalid(format!("redis option {key} must be a number, got {other}"))),
        }
    };
    let mut options = RedisOptions::new();
    match o.get("url") {
        None | Some(Value::Null) => {}
        Some(Value::String(url)) => options = options.url(url.clone()),
        Some(_) => return Err(invalid("redis option url must be a string")),
    }
    match o.get("prefix") {
        None | Some(Value::Null) => {}
        Some(Value::String(prefix)) => options = options.prefix(prefix.clone()),
        Some(_) => return Err(invalid("redis option prefix must be a string")),
    }
    match o.get("cluster") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(cluster)) => options = options.cluster(*cluster),
        Some(_) => return Err(invalid("redis option cluster must be a boolean")),
    }
    if let Some(ttl) = millis("ttlMs", num("ttlMs")?)? {
        options = options.ttl(ttl);
    }
    if let Some(t) = millis("connectTimeoutMs", num("connectTimeoutMs")?)? {
        options = options.connect_timeout(t);
    }
    if let Some(t) = millis("commandTimeoutMs", num("commandTimeoutMs")?)? {
        options = options.command_timeout(t);
    }
    if let Some(max) = count_arg("maxSessionBytes", num("maxSessionBytes")?)? {
        options = options.max_session_bytes(max);
    }
    if let Some(retry) = o.get("retry").filter(|r| !r.is_null()) {
        options = options.retry(retry_policy(retry)?);
    }
    Ok(options)
}

/// `{budgetMs, baseDelayMs, maxDelayMs}`, every field optional.
pub fn retry_policy(v: &Value) -> Result<RetryPolicy> {
    let o = v.as_object().ok_or_else(|| invalid("retry must be an object"))?;
    let mut policy = RetryPolicy::default();
    for (key, slot) in [
        ("budgetMs", &mut policy.budget),
        ("baseDelayMs", &mut policy.base_delay),
        ("maxDelayMs", &mut policy.max_delay),
    ] {
        if let Some(d) = millis(key, o.get(key).and_then(Value::as_f64))? {
            *slot = d;
        }
    }
    Ok(policy)
}
