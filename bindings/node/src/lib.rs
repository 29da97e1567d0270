//! Node.js binding of poto-sessions (napi-rs). A thin layer: JS values cross as JSON text
//! (JSON.stringify / JSON.parse run in the package's index.js), every future runs on the core's
//! hidden runtime, and JS callbacks run on the JS thread through the bridge (bridge.rs). The
//! class API (AsyncLocalStorage current user, subclassing, express-session store) is index.js.

mod bridge;
mod js_provider;

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;
use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::custom::StampedProvider;
use poto_sessions::{
    InMemorySessionProvider, LLMPotoModule, PotoModule, RedisOptions, RedisSessionProvider, Result, RetryPolicy,
    SessionData, SessionDefaults, SessionError, SessionProvider, SessionStats,
};
use serde_json::{json, Value};

use bridge::{call_js, encode_error, start, start_with};

/// Installs the JS ends of the bridge (called once by index.js).
#[napi]
pub fn init(
    on_complete: Function<'_, Unknown<'static>, Unknown<'static>>,
    on_request: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<()> {
    bridge::init(on_complete, on_request)
}

/// Reply of JS to a callback request: JSON text, or `!CODE\u{1}message`.
#[napi]
pub fn reply(id: u32, text: String) {
    bridge::reply(id, text)
}

fn throw(e: SessionError) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, encode_error(&e))
}

fn invalid(msg: impl Into<String>) -> SessionError {
    SessionError::InvalidArgument(msg.into())
}

/// A duration in milliseconds from JS: finite and at least 1 ms.
fn millis(what: &str, ms: Option<f64>) -> Result<Option<Duration>> {
    match ms {
        None => Ok(None),
        Some(ms) if (1.0..=1e15).contains(&ms) => Ok(Some(Duration::from_millis(ms as u64))),
        Some(ms) => Err(invalid(format!("{what} must be a number of milliseconds >= 1, got {ms}"))),
    }
}

fn count_arg(what: &str, n: Option<f64>) -> Result<Option<usize>> {
    match n {
        None => Ok(None),
        Some(n) if (1.0..=9e15).contains(&n) => Ok(Some(n as usize)),
        Some(n) => Err(invalid(format!("{what} must be a positive integer, got {n}"))),
    }
}

pub(crate) use poto_sessions::value::parse_session;

fn session_text(data: Option<SessionData>) -> String {
    data.map_or_else(|| "null".to_owned(), |d| Value::Object(d).to_string())
}

fn stats_text(stats: SessionStats) -> String {
    json!({"activeSessions": stats.active_sessions, "userIds": stats.user_ids}).to_string()
}

fn json_text(value: impl Into<Value>) -> String {
    value.into().to_string()
}

/// A session store: built-in (memory, Redis) or written in JS.
#[napi]
pub struct NativeProvider {
    inner: Arc<dyn SessionProvider>,
    /// Calls are usually ready at once (in-memory): poll them on the JS thread first.
    inline: bool,
    /// The in-memory provider, for its synchronous text read.
    memory: Option<Arc<InMemorySessionProvider>>,
}

#[napi]
impl NativeProvider {
    #[napi(factory)]
    pub fn memory(ttl_ms: Option<f64>, max_session_bytes: Option<f64>) -> napi::Result<Self> {
        let mut p = InMemorySessionProvider::new();
        if let Some(ttl) = millis("ttlMs", ttl_ms).map_err(throw)? {
            p = p.with_ttl(ttl).map_err(throw)?;
        }
        if let Some(max) = count_arg("maxSessionBytes", max_session_bytes).map_err(throw)? {
            p = p.with_max_session_bytes(max);
        }
        let p = Arc::new(p);
        Ok(NativeProvider { inner: p.clone(), inline: true, memory: Some(p) })
    }

    /// `options`: JSON `{url, prefix, ttlMs, connectTimeoutMs, commandTimeoutMs, maxSessionBytes,
    /// retry: {budgetMs, baseDelayMs, maxDelayMs}}`, every field optional. Connects lazily.
    #[napi(factory)]
    pub fn redis(options: String) -> napi::Result<Self> {
        redis_options(&options).and_then(RedisSessionProvider::new).map_err(throw).map(|p| NativeProvider {
            inner: Arc::new(p),
            inline: false,
            memory: None,
        })
    }

    /// A provider whose methods are those of JS object `target` (see js_provider.rs).
    #[napi(factory)]
    pub fn custom(
        target: u32,
        versioned: bool,
        has_stats: bool,
        has_count: bool,
        max_session_bytes: Option<f64>,
    ) -> napi::Result<Self> {
        let js = js_provider::JsProvider { target, versioned, has_stats, has_count };
        let mut stamped = StampedProvider::new(Arc::new(js));
        if let Some(max) = count_arg("maxSessionBytes", max_session_bytes).map_err(throw)? {
            stamped = stamped.with_max_session_bytes(max);
        }
        Ok(NativeProvider { inner: Arc::new(stamped), inline: true, memory: None })
    }

    /// In-memory only: the session's JSON text (or `null`, or `!CODE...`), read on the JS thread
    /// straight from the text cached by the provider.
    #[napi]
    pub fn get_session_now<'env>(&self, env: &'env napi::Env, user_id: String) -> napi::Result<napi::JsString<'env>> {
        let Some(memory) = &self.memory else {
            return Err(napi::Error::from_reason("getSessionNow is for the in-memory provider"));
        };
        match memory.get_session_text(&user_id) {
            // ASCII text (the usual case) becomes a one-byte V8 string without UTF-8 decoding.
            Ok(Some(text)) if text.is_ascii() => env.create_string_latin1(text.as_bytes()),
            Ok(Some(text)) => env.create_string(&*text),
            Ok(None) => env.create_string("null"),
            Err(e) => env.create_string(encode_error(&e)),
        }
    }

    #[napi(getter)]
    pub fn is_memory(&self) -> bool {
        self.memory.is_some()
    }

    #[napi]
    pub fn get_session(&self, op: u32, user_id: String) -> Option<String> {
        if let Some(memory) = &self.memory {
            // Ready at once, and already serialised: no trip through the runtime.
            return Some(match memory.get_session_text(&user_id) {
                Ok(Some(text)) => String::from(&*text),
                Ok(None) => "null".to_owned(),
                Err(e) => encode_error(&e),
            });
        }
        let p = self.inner.clone();
        start_with(
            op,
            self.inline,
            async move { Ok(p.get_session_json(&user_id).await?.unwrap_or_else(|| "null".into())) },
        )
    }

    #[napi]
    pub fn set_session(&self, op: u32, user_id: String, data: String, ttl_ms: Option<f64>) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            let ttl = millis("ttlMs", ttl_ms)?;
            let data = parse_session(&data, "session")?;
            p.set_session(&user_id, data, ttl).await.map(|_| "null".into())
        })
    }

    #[napi]
    pub fn delete_session(&self, op: u32, user_id: String) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.delete_session(&user_id).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn has_session(&self, op: u32, user_id: String) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.has_session(&user_id).await.map(json_text) })
    }

    /// Restarts the TTL (`ttlMs` absent: the provider's); `false` when absent.
    #[napi]
    pub fn touch(&self, op: u32, user_id: String, ttl_ms: Option<f64>) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            let ttl = millis("ttlMs", ttl_ms)?;
            if p.capabilities().touch {
                return p.touch(&user_id, ttl).await.map(json_text);
            }
            match p.get_session(&user_id).await? {
                Some(data) => p.set_session(&user_id, data, ttl).await.map(|_| "true".into()),
                None => Ok("false".into()),
            }
        })
    }

    #[napi]
    pub fn cleanup_old_sessions(&self, op: u32, max_age_ms: f64) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            if !max_age_ms.is_finite() || max_age_ms < 0.0 {
                return Err(invalid(format!("maxAgeMs must be a number of milliseconds >= 0, got {max_age_ms}")));
            }
            p.cleanup_old_sessions(Duration::from_millis(max_age_ms.min(1e15) as u64)).await.map(json_text)
        })
    }

    #[napi]
    pub fn get_active_sessions(&self, op: u32) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.get_active_sessions().await.map(json_text) })
    }

    #[napi]
    pub fn get_stats(&self, op: u32) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.get_stats().await.map(stats_text) })
    }

    #[napi]
    pub fn count(&self, op: u32) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.count().await.map(json_text) })
    }

    #[napi]
    pub fn clear(&self, op: u32) -> Option<String> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.clear().await.map(json_text) })
    }
}

fn redis_options(text: &str) -> Result<RedisOptions> {
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

fn retry_policy(v: &Value) -> Result<RetryPolicy> {
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

/// Sets the provider of every module without its own.
#[napi]
pub fn set_session_provider(provider: &NativeProvider) {
    poto_sessions::set_session_provider(provider.inner.clone());
}

/// Default data of a new session from the JS module's `createDefaultSessionData(userId)`.
struct JsDefaults {
    target: u32,
}

#[async_trait::async_trait]
impl SessionDefaults for JsDefaults {
    async fn create_default_session_data(&self, user_id: &str, _base: SessionData) -> Result<SessionData> {
        let text = call_js(self.target, "defaults", json!([user_id]).to_string()).await?;
        parse_session(&text, "createDefaultSessionData result")
    }
}

/// A PotoModule (or LLMPotoModule) with explicit user ids; index.js adds the current user.
#[napi]
pub struct NativeModule {
    module: PotoModule,
    llm: Option<LLMPotoModule>,
}

#[napi]
impl NativeModule {
    #[napi(constructor)]
    pub fn new(
        provider: Option<&NativeProvider>,
        llm: bool,
        default_model: Option<String>,
        ttl_ms: Option<f64>,
        defaults_target: Option<u32>,
        retry_json: Option<String>,
    ) -> napi::Result<Self> {
        let ttl = millis("ttlMs", ttl_ms).map_err(throw)?;
        let defaults = defaults_target.map(|target| Arc::new(JsDefaults { target }) as Arc<dyn SessionDefaults>);
        let retry = match retry_json {
            Some(text) => {
                let v: Value = serde_json::from_str(&text).map_err(|e| throw(invalid(format!("retry: {e}"))))?;
                Some(retry_policy(&v).map_err(throw)?)
            }
            None => None,
        };
        let provider = provider.map(|p| p.inner.clone());
        if llm {
            let mut m = LLMPotoModule::new();
            if let Some(model) = default_model {
                m = m.with_default_model(&model).map_err(throw)?;
            }
            if let Some(p) = provider {
                m = m.with_provider(p);
            }
            if let Some(ttl) = ttl {
                m = m.with_ttl(ttl);
            }
            if let Some(d) = defaults {
                m = m.with_defaults(d);
            }
            let mut module = (*m).clone();
            if let Some(r) = retry {
                module = module.with_retry(r);
            }
            Ok(NativeModule { module, llm: Some(m) })
        } else {
            let mut module = PotoModule::new();
            if let Some(p) = provider {
                module = module.with_provider(p);
            }
            if let Some(ttl) = ttl {
                module = module.with_ttl(ttl);
            }
            if let Some(d) = defaults {
                module = module.with_defaults(d);
            }
            if let Some(r) = retry {
                module = module.with_retry(r);
            }
            Ok(NativeModule { module, llm: None })
        }
    }

    /// JSON of what the module puts in a new session before any extension (the base of
    /// `createDefaultSessionData`).
    #[napi]
    pub fn base_session_data(&self, user_id: String) -> String {
        session_text(Some(self.module.base_session_data(&user_id)))
    }

    #[napi]
    pub fn get_user_session(&self, op: u32, user_id: String) -> Option<String> {
        let m = self.module.clone();
        start(op, async move { m.get_user_session_for(&user_id).await.map(|d| session_text(Some(d))) })
    }

    /// `target`: the JS update function, called with the session's JSON; replies the JSON to write.
    #[napi]
    pub fn update_user_session(&self, op: u32, user_id: String, target: u32) -> Option<String> {
        let m = self.module.clone();
        start(op, async move {
            let written = m
                .update_user_session_with(&user_id, poto_sessions::NumberModel::Doubles, |data| {
                    let text = Value::Object(data).to_string();
                    async move {
                        let out = call_js(target, "update", text).await?;
                        parse_session(&out, "the update function's result")
                    }
                })
                .await?;
            Ok(session_text(Some(written)))
        })
    }

    #[napi]
    pub fn delete_user_session(&self, op: u32, user_id: String) -> Option<String> {
        let m = self.module.clone();
        start(op, async move { m.delete_user_session_for(&user_id).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn get_session_stats(&self, op: u32) -> Option<String> {
        let m = self.module.clone();
        start(op, async move { m.get_session_stats().await.map(stats_text) })
    }

    /// `value`: JSON text of the value.
    #[napi]
    pub fn set_session_value(&self, op: u32, user_id: String, key: String, value: String) -> Option<String> {
        let m = self.module.clone();
        start(op, async move {
            let value = poto_sessions::value::parse_value(&value, "value")?;
            m.set_session_value_for(&user_id, &key, value).await.map(|_| "null".into())
        })
    }

    /// The value's JSON text, or `""` when the key is unset.
    #[napi]
    pub fn get_session_value(&self, op: u32, user_id: String, key: String) -> Option<String> {
        let m = self.module.clone();
        start(op, async move {
            Ok(m.get_session_value_for(&user_id, &key).await?.map(|v| v.to_string()).unwrap_or_default())
        })
    }

    #[napi]
    pub fn update_user_model(&self, op: u32, user_id: String, model: String) -> Option<String> {
        let m = self.llm.clone();
        start(op, async move {
            let m = m.ok_or_else(|| SessionError::Internal("not an LLM module".into()))?;
            m.update_user_model_for(&user_id, &model).await.map(|_| "null".into())
        })
    }

    #[napi]
    pub fn get_user_model(&self, op: u32, user_id: String) -> Option<String> {
        let m = self.llm.clone();
        start(op, async move {
            let m = m.ok_or_else(|| SessionError::Internal("not an LLM module".into()))?;
            m.get_user_model_for(&user_id).await.map(json_text)
        })
    }
}

/// Runs the conformance suite on `a` (and `b`, a second handle on the same store, else `a`
/// twice). Resolves with `{passed: string[], failed: [{name, reason}]}`.
#[napi]
pub fn run_conformance_native(
    op: u32,
    a: &NativeProvider,
    b: Option<&NativeProvider>,
    ttl_unit_ms: Option<f64>,
    max_session_bytes: Option<f64>,
    doubles_only: bool,
) -> Option<String> {
    let a = a.inner.clone();
    let b = b.map_or_else(|| a.clone(), |b| b.inner.clone());
    start(op, async move {
        let options = ConformanceOptions {
            max_session_bytes: count_arg("maxSessionBytes", max_session_bytes)?,
            ttl_unit: millis("ttlUnitMs", ttl_unit_ms)?.unwrap_or(Duration::from_millis(200)),
            doubles_only,
        };
        let handles = [a, b];
        let next = std::sync::atomic::AtomicUsize::new(0);
        let report = run_conformance(
            || {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
                std::future::ready(Ok(handles[i].clone()))
            },
            options,
        )
        .await;
        let failed: Vec<Value> = report.failed.iter().map(|(name, why)| json!({"name": name, "reason": why})).collect();
        Ok(json!({"passed": report.passed, "failed": failed}).to_string())
    })
}
