//! `NativeModule`: the module layer (`PotoModule` / `LLMPotoModule`) with the user id explicit
//! (lib/module.js reads the current user from its AsyncLocalStorage), and default data from a
//! JS `createDefaultSessionData`.

use std::sync::Arc;

use napi::Env;
use napi_derive::napi;
use poto_sessions::llm::DEFAULT_MODEL;
use poto_sessions::{LLMPotoModule, PotoModule, Result, SessionData, SessionDefaults, SessionProvider};
use serde_json::{json, Value};

use crate::bridge::{call_js, start, JsOutcome};
use crate::convert::{json_text, parse_session, session_text, stats_text};
use crate::errors::{invalid, throw};
use crate::options::{millis, retry_policy};
use crate::providers::NativeProvider;

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

/// A PotoModule (or LLMPotoModule) with explicit user ids; lib/module.js adds the current user.
#[napi]
pub struct NativeModule {
    module: PotoModule,
    llm: Option<LLMPotoModule>,
}

impl NativeModule {
    fn build(
        provider: Option<Arc<dyn SessionProvider>>,
        llm: bool,
        default_model: Option<String>,
        ttl_ms: Option<f64>,
        defaults_target: Option<u32>,
        retry_json: Option<String>,
    ) -> Result<Self> {
        let ttl = millis("ttlMs", ttl_ms)?;
        let defaults = defaults_target.map(|target| Arc::new(JsDefaults { target }) as Arc<dyn SessionDefaults>);
        let retry = match retry_json {
            Some(text) => {
                let v: Value = serde_json::from_str(&text).map_err(|e| invalid(format!("retry: {e}")))?;
                Some(retry_policy(&v)?)
            }
            None => None,
        };
        let configure = |mut module: PotoModule| {
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
            module
        };
        if !llm {
            return Ok(NativeModule { module: configure(PotoModule::new()), llm: None });
        }
        let model = default_model.as_deref().unwrap_or(DEFAULT_MODEL);
        let llm = LLMPotoModule::new().with_default_model(model)?.map_module(configure);
        Ok(NativeModule { module: (*llm).clone(), llm: Some(llm) })
    }
}

#[napi]
impl NativeModule {
    #[napi(constructor)]
    pub fn new(
        env: Env,
        provider: Option<&NativeProvider>,
        llm: bool,
        default_model: Option<String>,
        ttl_ms: Option<f64>,
        defaults_target: Option<u32>,
        retry_json: Option<String>,
    ) -> napi::Result<Self> {
        let provider = provider.map(|p| p.inner.clone());
        Self::build(provider, llm, default_model, ttl_ms, defaults_target, retry_json).map_err(|e| throw(&env, e))
    }

    /// JSON of what the module puts in a new session before any extension (the base of
    /// `createDefaultSessionData`).
    #[napi]
    pub fn base_session_data(&self, user_id: String) -> String {
        session_text(Some(self.module.base_session_data(&user_id)))
    }

    #[napi]
    pub fn get_user_session(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let m = self.module.clone();
        start(op, async move { m.get_user_session_for(&user_id).await.map(|d| session_text(Some(d))) })
    }

    /// `target`: the JS update function, called with the session's JSON; replies the JSON to write.
    #[napi]
    pub fn update_user_session(&self, op: u32, user_id: String, target: u32) -> Option<JsOutcome> {
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
    pub fn delete_user_session(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let m = self.module.clone();
        start(op, async move { m.delete_user_session_for(&user_id).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn get_session_stats(&self, op: u32) -> Option<JsOutcome> {
        let m = self.module.clone();
        start(op, async move { m.get_session_stats().await.map(stats_text) })
    }

    /// `value`: JSON text of the value.
    #[napi]
    pub fn set_session_value(&self, op: u32, user_id: String, key: String, value: String) -> Option<JsOutcome> {
        let m = self.module.clone();
        start(op, async move {
            let value = poto_sessions::value::parse_value(&value, "value")?;
            m.set_session_value_for(&user_id, &key, value).await.map(|_| "null".into())
        })
    }

    /// The value's JSON text, or `""` when the key is unset.
    #[napi]
    pub fn get_session_value(&self, op: u32, user_id: String, key: String) -> Option<JsOutcome> {
        let m = self.module.clone();
        start(op, async move {
            Ok(m.get_session_value_for(&user_id, &key).await?.map(|v| v.to_string()).unwrap_or_default())
        })
    }

    #[napi]
    pub fn update_user_model(&self, op: u32, user_id: String, model: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.update_user_model_for(&user_id, &model).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn get_user_model(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.get_user_model_for(&user_id).await.map(json_text) })
    }

    #[napi]
    pub fn set_system_prompt(&self, op: u32, user_id: String, prompt: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.set_system_prompt_for(&user_id, &prompt).await.map(|_| "null".into()) })
    }

    /// The prompt's JSON text, or `""` when none is set.
    #[napi]
    pub fn get_system_prompt(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.get_system_prompt_for(&user_id).await.map(optional_text) })
    }

    #[napi]
    pub fn set_current_conversation_id(&self, op: u32, user_id: String, id: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.set_current_conversation_id_for(&user_id, &id).await.map(|_| "null".into()) })
    }

    /// The conversation id's JSON text, or `""` when none is set.
    #[napi]
    pub fn get_current_conversation_id(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        let m = self.llm.clone();
        start(op, async move { llm(m)?.get_current_conversation_id_for(&user_id).await.map(optional_text) })
    }
}

/// The model of new LLM sessions unless configured otherwise (`poto_sessions::llm::DEFAULT_MODEL`).
#[napi]
pub fn default_model() -> &'static str {
    DEFAULT_MODEL
}

/// The LLM module of an LLM `NativeModule`; any other is the caller's invalid argument (as in
/// Python and C).
fn llm(module: Option<LLMPotoModule>) -> Result<LLMPotoModule> {
    module.ok_or_else(|| invalid("not an LLM module"))
}

/// A string's JSON text, `""` when absent (as `get_session_value`).
fn optional_text(value: Option<String>) -> String {
    value.map(json_text).unwrap_or_default()
}
