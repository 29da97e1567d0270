//! `NativeProvider`: the built-in providers (in-memory, Redis) and custom providers written in
//! JS, behind one class whose methods start operations (bridge.rs) and answer JSON text.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Unknown;
use napi::{Env, JsValue};
use napi_derive::napi;
use poto_sessions::{
    CustomOptions, InMemorySessionProvider, MemoryOptions, RedisOptions, RedisSessionProvider, SessionProvider,
    SessionText,
};

use crate::bridge::{start_with, JsOutcome};
use crate::convert::{json_text, millis_arg, stats_text};
use crate::custom::js_provider;
use crate::errors::{invalid, throw, to_js};
use crate::options::{from_js, node_terms};

/// A session store: built-in (memory, Redis) or written in JS.
#[napi]
pub struct NativeProvider {
    pub(crate) inner: Arc<dyn SessionProvider>,
    /// Calls are usually ready at once (in-memory): poll them on the JS thread first.
    inline: bool,
    /// The in-memory provider, for its synchronous text read.
    memory: Option<Arc<InMemorySessionProvider>>,
}

#[napi]
impl NativeProvider {
    /// `options`: JSON of `{ttlMs, maxSessionBytes}` (the core's `MemoryOptions`).
    #[napi(factory)]
    pub fn memory(env: Env, options: Option<String>) -> napi::Result<Self> {
        let made = from_js::<MemoryOptions>(options.as_deref()).and_then(InMemorySessionProvider::with_options);
        let p = Arc::new(made.map_err(|e| throw(&env, e))?);
        Ok(NativeProvider { inner: p.clone(), inline: true, memory: Some(p) })
    }

    /// `options`: JSON of the core's `RedisOptions` in JS's spelling (`url`, `prefix`, `ttlMs`,
    /// `retryBudgetMs`, `listPageSize`, ...). Connects lazily.
    #[napi(factory)]
    pub fn redis(env: Env, options: Option<String>) -> napi::Result<Self> {
        let p = from_js::<RedisOptions>(options.as_deref())
            .and_then(|o| RedisSessionProvider::new(o).map_err(node_terms::<RedisOptions>));
        Ok(NativeProvider { inner: Arc::new(p.map_err(|e| throw(&env, e))?), inline: false, memory: None })
    }

    /// A provider whose methods are those of JS object `target`, which has `methods` (see
    /// custom.rs); `options`: JSON of `{maxSessionBytes}` (the core's `CustomOptions`).
    #[napi(factory)]
    pub fn custom(env: Env, target: u32, methods: Vec<String>, options: Option<String>) -> napi::Result<Self> {
        let p = from_js::<CustomOptions>(options.as_deref()).and_then(|o| js_provider(target, &methods, &o));
        Ok(NativeProvider { inner: p.map_err(|e| throw(&env, e))?, inline: true, memory: None })
    }

    /// In-memory only: the session's JSON text (or `null`), read on the JS thread straight from
    /// the text cached by the provider; a failure is returned as its `SessionError`.
    #[napi]
    pub fn get_session_now<'env>(&self, env: &'env Env, user_id: String) -> napi::Result<Unknown<'env>> {
        let Some(memory) = &self.memory else {
            return Err(napi::Error::from_reason("getSessionNow is for the in-memory provider"));
        };
        match poto_sessions::runtime::guard_sync(|| memory.get_session_text(&user_id)) {
            // ASCII text (the usual case) becomes a one-byte V8 string without UTF-8 decoding.
            Ok(Some(text)) if text.is_ascii() => env.create_string_latin1(text.as_bytes()).map(|s| s.to_unknown()),
            Ok(Some(text)) => env.create_string(&*text).map(|s| s.to_unknown()),
            Ok(None) => env.create_string("null").map(|s| s.to_unknown()),
            Err(e) => Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), to_js(env.raw(), &e)?) }),
        }
    }

    #[napi(getter)]
    pub fn is_memory(&self) -> bool {
        self.memory.is_some()
    }

    #[napi]
    pub fn get_session(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        if let Some(memory) = &self.memory {
            // Ready at once, and already serialised: no trip through the runtime.
            return Some(JsOutcome(
                poto_sessions::runtime::guard_sync(|| memory.get_session_text(&user_id))
                    .map(|text| text.map_or_else(|| "null".to_owned(), |t| String::from(&*t))),
            ));
        }
        let p = self.inner.clone();
        start_with(
            op,
            self.inline,
            async move { Ok(p.get_session_json(&user_id).await?.unwrap_or_else(|| "null".into())) },
        )
    }

    #[napi]
    pub fn set_session(&self, op: u32, user_id: String, data: String, ttl_ms: Option<f64>) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            let ttl = millis_arg("ttlMs", ttl_ms)?;
            let session = SessionText::parse(data, "session")?;
            p.set_session_text(&user_id, session, ttl).await.map(|_| "null".into())
        })
    }

    #[napi]
    pub fn delete_session(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.delete_session(&user_id).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn has_session(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.has_session(&user_id).await.map(json_text) })
    }

    /// Restarts the TTL (`ttlMs` absent: the provider's); `false` when absent.
    #[napi]
    pub fn touch(&self, op: u32, user_id: String, ttl_ms: Option<f64>) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            let ttl = millis_arg("ttlMs", ttl_ms)?;
            p.touch(&user_id, ttl).await.map(json_text)
        })
    }

    #[napi]
    pub fn cleanup_old_sessions(&self, op: u32, max_age_ms: f64) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move {
            if !max_age_ms.is_finite() || max_age_ms < 0.0 {
                return Err(invalid(format!("maxAgeMs must be a number of milliseconds >= 0, got {max_age_ms}")));
            }
            p.cleanup_old_sessions(Duration::from_millis(max_age_ms.min(1e15) as u64)).await.map(json_text)
        })
    }

    #[napi]
    pub fn get_active_sessions(&self, op: u32) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.get_active_sessions().await.map(json_text) })
    }

    #[napi]
    pub fn get_stats(&self, op: u32) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.get_stats().await.map(stats_text) })
    }

    #[napi]
    pub fn count(&self, op: u32) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.count().await.map(json_text) })
    }

    #[napi]
    pub fn clear(&self, op: u32) -> Option<JsOutcome> {
        let p = self.inner.clone();
        start_with(op, self.inline, async move { p.clear().await.map(json_text) })
    }
}
