//! `LLMPotoModule`: sessions that remember each user's model preference.

use std::ops::Deref;
use std::sync::Arc;

use serde_json::Value;

use crate::context::current_user;
use crate::error::{Result, SessionError};
use crate::module::{PotoModule, SessionDefaults};
use crate::provider::SessionProvider;

/// Session key of the user's chosen model.
pub const CURRENT_MODEL_KEY: &str = "currentModelName";
/// Session key of an optional system prompt.
pub const SYSTEM_PROMPT_KEY: &str = "systemPrompt";
/// Session key of the optional current conversation.
pub const CONVERSATION_ID_KEY: &str = "currentConversationId";
/// The model of a new session unless configured otherwise (as in the original Poto).
pub const DEFAULT_MODEL: &str = "llm1";

/// A [`PotoModule`] whose sessions carry `currentModelName`. Every `PotoModule` method is
/// available through `Deref`.
#[derive(Clone, Debug)]
pub struct LLMPotoModule {
    module: PotoModule,
}

impl Default for LLMPotoModule {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for LLMPotoModule {
    type Target = PotoModule;
    fn deref(&self) -> &PotoModule {
        &self.module
    }
}

impl LLMPotoModule {
    /// A module on the global provider whose new sessions use model `llm1`.
    pub fn new() -> Self {
        Self::with_module(PotoModule::new(), DEFAULT_MODEL)
    }

    fn with_module(module: PotoModule, default_model: &str) -> Self {
        LLMPotoModule { module: module.with_llm_model(default_model) }
    }

    /// The LLM view of a module made as one (bindings keep every module as a [`PotoModule`]);
    /// an invalid argument for a generic module.
    pub fn of(module: &PotoModule) -> Result<Self> {
        match module.llm_model {
            Some(_) => Ok(LLMPotoModule { module: module.clone() }),
            None => Err(SessionError::InvalidArgument("not an LLM module (create it as an LLMPotoModule)".into())),
        }
    }

    /// The module as a [`PotoModule`] (it stays an LLM module: [`Self::of`] gives it back).
    pub fn into_module(self) -> PotoModule {
        self.module
    }

    /// The model of new sessions (and of sessions whose model is unset).
    pub fn with_default_model(self, model: &str) -> Result<Self> {
        validate_model(model)?;
        Ok(Self::with_module(self.module, model))
    }

    pub fn with_provider(self, provider: Arc<dyn SessionProvider>) -> Self {
        LLMPotoModule { module: self.module.with_provider(provider) }
    }

    /// Extends the default data; `base` already holds `userId` and `currentModelName`.
    pub fn with_defaults(self, defaults: Arc<dyn SessionDefaults>) -> Self {
        LLMPotoModule { module: self.module.with_defaults(defaults) }
    }

    pub fn with_ttl(self, ttl: std::time::Duration) -> Self {
        LLMPotoModule { module: self.module.with_ttl(ttl) }
    }

    /// Configures the underlying [`PotoModule`] (provider, TTL, defaults, retry) in one step.
    pub fn map_module(self, configure: impl FnOnce(PotoModule) -> PotoModule) -> Self {
        let model = self.default_model().to_owned();
        LLMPotoModule { module: configure(self.module).with_llm_model(&model) }
    }

    pub fn default_model(&self) -> &str {
        self.module.llm_model.as_deref().unwrap_or(DEFAULT_MODEL)
    }

    /// Records the current user's model choice.
    pub async fn update_user_model(&self, model: &str) -> Result<()> {
        self.update_user_model_for(&current_user()?, model).await
    }

    pub async fn update_user_model_for(&self, user_id: &str, model: &str) -> Result<()> {
        validate_model(model)?;
        self.module.set_session_value_for(user_id, CURRENT_MODEL_KEY, model).await
    }

    /// The current user's model, or the default model when none is recorded.
    pub async fn get_user_model(&self) -> Result<String> {
        self.get_user_model_for(&current_user()?).await
    }

    pub async fn get_user_model_for(&self, user_id: &str) -> Result<String> {
        self.string_value(user_id, CURRENT_MODEL_KEY)
            .await
            .map(|model| model.unwrap_or_else(|| self.default_model().to_owned()))
    }

    /// Records the current user's system prompt.
    pub async fn set_system_prompt(&self, prompt: &str) -> Result<()> {
        self.set_system_prompt_for(&current_user()?, prompt).await
    }

    /// The current user's system prompt, if one is recorded.
    pub async fn get_system_prompt(&self) -> Result<Option<String>> {
        self.get_system_prompt_for(&current_user()?).await
    }

    /// Records the current user's current conversation.
    pub async fn set_current_conversation_id(&self, id: &str) -> Result<()> {
        self.set_current_conversation_id_for(&current_user()?, id).await
    }

    /// The current user's current conversation, if one is recorded.
    pub async fn get_current_conversation_id(&self) -> Result<Option<String>> {
        self.get_current_conversation_id_for(&current_user()?).await
    }

    pub async fn set_system_prompt_for(&self, user_id: &str, prompt: &str) -> Result<()> {
        self.module.set_session_value_for(user_id, SYSTEM_PROMPT_KEY, prompt).await
    }

    pub async fn get_system_prompt_for(&self, user_id: &str) -> Result<Option<String>> {
        self.string_value(user_id, SYSTEM_PROMPT_KEY).await
    }

    pub async fn set_current_conversation_id_for(&self, user_id: &str, id: &str) -> Result<()> {
        self.module.set_session_value_for(user_id, CONVERSATION_ID_KEY, id).await
    }

    pub async fn get_current_conversation_id_for(&self, user_id: &str) -> Result<Option<String>> {
        self.string_value(user_id, CONVERSATION_ID_KEY).await
    }

    async fn string_value(&self, user_id: &str, key: &str) -> Result<Option<String>> {
        match self.module.get_session_value_for(user_id, key).await? {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(SessionError::CorruptData {
                user_id: user_id.to_owned(),
                detail: format!("{key} must be a string, found {other}"),
            }),
        }
    }
}

/// The LLM keys keep their types on every write path (field writes, updates, defaults): a
/// model name is a non-empty string without NUL, a system prompt and a conversation id are
/// strings (or `null`: unset). Other keys are the application's.
pub fn check_llm_key(key: &str, value: &Value) -> Result<()> {
    match (key, value) {
        (CURRENT_MODEL_KEY, Value::String(model)) => validate_model(model),
        (SYSTEM_PROMPT_KEY | CONVERSATION_ID_KEY, Value::String(_) | Value::Null) => Ok(()),
        (CURRENT_MODEL_KEY | SYSTEM_PROMPT_KEY | CONVERSATION_ID_KEY, other) => Err(SessionError::InvalidArgument(
            format!("session key {key} must be a string, got {}", crate::value::kind_name(other)),
        )),
        _ => Ok(()),
    }
}

fn validate_model(model: &str) -> Result<()> {
    if model.is_empty() {
        return Err(SessionError::InvalidArgument("model name is empty".into()));
    }
    if model.contains('\0') {
        return Err(SessionError::InvalidArgument("model name contains a NUL character".into()));
    }
    Ok(())
}
