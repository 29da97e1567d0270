//! `NativeModule`: the module layer (`PotoModule` / `LLMPotoModule`) with the user id explicit
//! (lib/module.js reads the current user from its AsyncLocalStorage), and default data from a
//! JS `createDefaultSessionData`.

use std::future::Future;
use std::sync::Arc;

use napi::Env;
use napi_derive::napi;
use poto_sessions::{LLMPotoModule, ModuleOptions, PotoModule, Result, SessionData, SessionDefaults};
use serde_json::{json, Value};

use crate::bridge::{call_js, start, JsOutcome, Outcome};
use crate::convert::{json_text, parse_session, session_text, stats_text};
use crate::errors::throw;
use crate::options::{from_js, node_terms};
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

/// A PotoModule (an LLMPotoModule when made as one) with explicit user ids; lib/module.js adds
/// the current user. One module type: the LLM methods reach the LLM view through
/// `LLMPotoModule::of`, whose error is the one "not an LLM module" of every language.
#[napi]
pub struct NativeModule {
    module: PotoModule,
}

#[napi]
impl NativeModule {
    /// `options`: JSON of the core's `ModuleOptions` in JS's spelling (`ttlMs`, `retryBudgetMs`,
    /// `defaultModel`, ...); `defaults_target`: the JS `createDefaultSessionData`, when overridden.
    #[napi(constructor)]
    pub fn new(
        env: Env,
        provider: Option<&NativeProvider>,
        llm: bool,
        defaults_target: Option<u32>,
        options: Option<String>,
    ) -> napi::Result<Self> {
        let provider = provider.map(|p| p.inner.clone());
        let defaults = defaults_target.map(|target| Arc::new(JsDefaults { target }) as Arc<dyn SessionDefaults>);
        let module = from_js::<ModuleOptions>(options.as_deref()).and_then(|options| {
            PotoModule::from_options(llm, provider, defaults, options).map_err(node_terms::<ModuleOptions>)
        });
        Ok(NativeModule { module: module.map_err(|e| throw(&env, e))? })
    }

    /// The model of new sessions of an LLM module (`undefined` for a generic one).
    #[napi(getter)]
    pub fn default_model(&self) -> Option<String> {
        LLMPotoModule::of(&self.module).ok().map(|m| m.default_model().to_owned())
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
        self.llm_op(op, |m| async move { m.update_user_model_for(&user_id, &model).await.map(|_| "null".into()) })
    }

    #[napi]
    pub fn get_user_model(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        self.llm_op(op, |m| async move { m.get_user_model_for(&user_id).await.map(json_text) })
    }

    #[napi]
    pub fn set_system_prompt(&self, op: u32, user_id: String, prompt: String) -> Option<JsOutcome> {
        self.llm_op(op, |m| async move { m.set_system_prompt_for(&user_id, &prompt).await.map(|_| "null".into()) })
    }

    /// The prompt's JSON text, or `""` when none is set.
    #[napi]
    pub fn get_system_prompt(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        self.llm_op(op, |m| async move { m.get_system_prompt_for(&user_id).await.map(optional_text) })
    }

    #[napi]
    pub fn set_current_conversation_id(&self, op: u32, user_id: String, id: String) -> Option<JsOutcome> {
        self.llm_op(
            op,
            |m| async move { m.set_current_conversation_id_for(&user_id, &id).await.map(|_| "null".into()) },
        )
    }

    /// The conversation id's JSON text, or `""` when none is set.
    #[napi]
    pub fn get_current_conversation_id(&self, op: u32, user_id: String) -> Option<JsOutcome> {
        self.llm_op(op, |m| async move { m.get_current_conversation_id_for(&user_id).await.map(optional_text) })
    }
}

impl NativeModule {
    /// Starts `f` on the LLM view of this module, or fails at once when it is not an LLM module.
    fn llm_op<F, Fut>(&self, op: u32, f: F) -> Option<JsOutcome>
    where
        F: FnOnce(LLMPotoModule) -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        match LLMPotoModule::of(&self.module) {
            Ok(m) => start(op, f(m)),
            Err(e) => Some(JsOutcome(Err(e))),
        }
    }
}

/// A string's JSON text, `""` when absent (as `get_session_value`).
fn optional_text(value: Option<String>) -> String {
    value.map(json_text).unwrap_or_default()
}
