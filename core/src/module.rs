//! `PotoModule`: the seed's generic session API over the global (or a given) provider.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use once_cell::sync::Lazy;
use serde_json::Value;

use crate::carry::NumberModel;
use crate::context::current_user;
use crate::data::{validate_field, validate_user_id, SessionData, USER_ID_KEY};
use crate::error::{Result, SessionError};
use crate::memory::InMemorySessionProvider;
use crate::options::ModuleOptions;
use crate::provider::{SessionProvider, SessionStats};
use crate::runtime::guard;
use crate::update::{update_session, Change, RetryPolicy};

static GLOBAL_PROVIDER: Lazy<RwLock<Arc<dyn SessionProvider>>> =
    Lazy::new(|| RwLock::new(Arc::new(InMemorySessionProvider::new())));

/// Sets the provider every module without its own uses (the seed's `PotoModule.setSessionProvider`).
pub fn set_session_provider(provider: Arc<dyn SessionProvider>) {
    *GLOBAL_PROVIDER.write().unwrap_or_else(|p| p.into_inner()) = provider;
}

/// The global provider: in-memory until [`set_session_provider`] is called.
pub fn session_provider() -> Arc<dyn SessionProvider> {
    GLOBAL_PROVIDER.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Default data of a new session (the seed's overridable `createDefaultSessionData`).
/// `base` is what the module itself would create (the seed's `super.createDefaultSessionData`).
#[async_trait]
pub trait SessionDefaults: Send + Sync + 'static {
    async fn create_default_session_data(&self, user_id: &str, base: SessionData) -> Result<SessionData>;
}

/// [`SessionDefaults`] from a closure.
pub fn defaults_fn<F>(f: F) -> Arc<dyn SessionDefaults>
where
    F: Fn(&str, SessionData) -> Result<SessionData> + Send + Sync + 'static,
{
    struct FnDefaults<F>(F);
    #[async_trait]
    impl<F> SessionDefaults for FnDefaults<F>
    where
        F: Fn(&str, SessionData) -> Result<SessionData> + Send + Sync + 'static,
    {
        async fn create_default_session_data(&self, user_id: &str, base: SessionData) -> Result<SessionData> {
            (self.0)(user_id, base)
        }
    }
    Arc::new(FnDefaults(f))
}

/// Generic session management for a module. Methods without `_for` act on the current user
/// ([`crate::with_user`]); the `_for` forms take the user explicitly. A panic inside an operation
/// (this library's, a dependency's, a callback's) ends it with [`SessionError::Internal`].
#[derive(Clone)]
pub struct PotoModule {
    provider: Option<Arc<dyn SessionProvider>>,
    base: SessionData,
    defaults: Option<Arc<dyn SessionDefaults>>,
    ttl: Option<Duration>,
    touch_after: Duration,
    retry: Option<RetryPolicy>,
    /// The default model when this is an LLM module: its keys then keep their types on every
    /// write path ([`crate::llm::check_llm_key`]).
    pub(crate) llm_model: Option<Arc<str>>,
}

impl Default for PotoModule {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for PotoModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PotoModule")
            .field("own_provider", &self.provider.is_some())
            .field("base", &self.base)
            .field("ttl", &self.ttl)
            .field("touch_after", &self.touch_after)
            .finish_non_exhaustive()
    }
}

impl PotoModule {
    /// A module on the global provider with `{userId}` as default session data.
    pub fn new() -> Self {
        PotoModule {
            provider: None,
            base: SessionData::new(),
            defaults: None,
            ttl: None,
            touch_after: crate::touch::DEFAULT_TOUCH_AFTER,
            retry: None,
            llm_model: None,
        }
    }

    /// The module every binding builds: an `LLMPotoModule` when `llm`, over `provider` (`None`:
    /// the global one at each call), with default data extended by `defaults`.
    pub fn from_options(
        llm: bool,
        provider: Option<Arc<dyn SessionProvider>>,
        defaults: Option<Arc<dyn SessionDefaults>>,
        options: ModuleOptions,
    ) -> Result<PotoModule> {
        let mut module = PotoModule::new();
        if llm {
            let model = options.default_model.as_deref().unwrap_or(crate::llm::DEFAULT_MODEL);
            module = crate::LLMPotoModule::new().with_default_model(model)?.into_module();
        } else if options.default_model.is_some() {
            return Err(SessionError::invalid("default_model is an option of LLM modules only"));
        }
        module.provider = provider;
        module.defaults = defaults;
        module.ttl = options.ttl;
        module.touch_after = options.touch_after;
        module.retry = options.retry;
        Ok(module)
    }

    /// Uses `provider` instead of the global one.
    pub fn with_provider(mut self, provider: Arc<dyn SessionProvider>) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Extends the default data of new sessions.
    pub fn with_defaults(mut self, defaults: Arc<dyn SessionDefaults>) -> Self {
        self.defaults = Some(defaults);
        self
    }

    /// TTL of the sessions this module writes (default: the provider's).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// How stale `lastActivity` may get before a read touches the session (default 60 s, capped
    /// at half the TTL; `ZERO`: every read touches). DESIGN §4.10.
    pub fn with_touch_after(mut self, touch_after: Duration) -> Self {
        self.touch_after = touch_after;
        self
    }

    /// Retry budget of [`Self::update_user_session`] under contention (default: the provider's).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Makes this an LLM module whose new sessions use `model` (see [`crate::LLMPotoModule`]).
    pub(crate) fn with_llm_model(mut self, model: &str) -> Self {
        self.base.insert(crate::llm::CURRENT_MODEL_KEY.to_owned(), Value::String(model.to_owned()));
        self.llm_model = Some(model.into());
        self
    }

    /// Refuses a session whose typed keys (the LLM keys of an LLM module) have other types.
    fn check_typed_keys(&self, data: &SessionData) -> Result<()> {
        if self.llm_model.is_some() {
            data.iter().try_for_each(|(key, value)| crate::llm::check_llm_key(key, value))?;
        }
        Ok(())
    }

    /// The provider this module uses now.
    pub fn provider(&self) -> Arc<dyn SessionProvider> {
        self.provider.clone().unwrap_or_else(session_provider)
    }

    /// What this module puts in a new session before any [`SessionDefaults`] extension (the
    /// seed's `super.createDefaultSessionData(userId)` for a subclass).
    pub fn base_session_data(&self, user_id: &str) -> SessionData {
        let mut base = self.base.clone();
        base.insert(USER_ID_KEY.to_owned(), Value::String(user_id.to_owned()));
        base
    }

    /// The default data of a new session of `user_id`.
    pub async fn create_default_session_data(&self, user_id: &str) -> Result<SessionData> {
        let base = self.base_session_data(user_id);
        let Some(defaults) = &self.defaults else { return Ok(base) };
        let data = defaults.create_default_session_data(user_id, base).await?;
        self.check_typed_keys(&data)?;
        Ok(data)
    }

    /// The current user's session, created from the defaults when absent; extends its life.
    pub async fn get_user_session(&self) -> Result<SessionData> {
        self.get_user_session_for(&current_user()?).await
    }

    pub async fn get_user_session_for(&self, user_id: &str) -> Result<SessionData> {
        guard(async {
            validate_user_id(user_id)?;
            let provider = self.provider();
            if let Some(session) = provider.get_and_touch(user_id, self.ttl, self.touch_after).await? {
                return Ok(session);
            }
            let defaults = self.create_default_session_data(user_id).await?;
            provider.insert_if_absent(user_id, defaults, self.ttl).await
        })
        .await
    }

    /// Applies `f` to the current user's session atomically (no concurrent write is lost).
    /// `f` may run more than once under contention; an error from `f` writes nothing and is
    /// returned as is. Returns the session as `f` left it; the provider stamps the write's
    /// `lastActivity` (from its own clock), which this copy does not show.
    pub async fn update_user_session<F>(&self, f: F) -> Result<SessionData>
    where
        F: FnMut(&mut SessionData) -> Result<()> + Send,
    {
        self.update_user_session_for(&current_user()?, f).await
    }

    pub async fn update_user_session_for<F>(&self, user_id: &str, mut f: F) -> Result<SessionData>
    where
        F: FnMut(&mut SessionData) -> Result<()> + Send,
    {
        self.update_user_session_with(user_id, NumberModel::Exact, |mut data| {
            std::future::ready(f(&mut data).map(|_| data))
        })
        .await
    }

    /// [`Self::update_user_session_for`] with an asynchronous function, which receives the
    /// session and returns the one to write (for bindings whose callbacks run elsewhere).
    /// `numbers` is how the function's language sees numbers: a value it handed back unchanged
    /// in its own terms keeps its stored text ([`crate::carry`]).
    pub async fn update_user_session_with<F, Fut>(
        &self,
        user_id: &str,
        numbers: NumberModel,
        f: F,
    ) -> Result<SessionData>
    where
        F: FnMut(SessionData) -> Fut + Send,
        Fut: Future<Output = Result<SessionData>> + Send,
    {
        guard(async {
            validate_user_id(user_id)?;
            let provider = self.provider();
            let policy = self.retry.clone().unwrap_or_else(|| provider.retry_policy());
            let f = std::sync::Mutex::new(f);
            let f = &f;
            let written = update_session(&*provider, user_id, self.ttl, &policy, numbers, |current| async move {
                let data = match current {
                    Some(data) => data,
                    None => self.create_default_session_data(user_id).await?,
                };
                let update = (f.lock().unwrap_or_else(|p| p.into_inner()))(data);
                let after = update.await?;
                self.check_typed_keys(&after)?;
                Ok(Change::Write(after))
            })
            .await?;
            written.ok_or_else(|| SessionError::Internal("update wrote nothing".into()))
        })
        .await
    }

    /// Deletes the current user's session.
    pub async fn delete_user_session(&self) -> Result<()> {
        self.delete_user_session_for(&current_user()?).await
    }

    pub async fn delete_user_session_for(&self, user_id: &str) -> Result<()> {
        guard(async { self.provider().delete_session(user_id).await }).await
    }

    /// Active session count and ids of the provider.
    pub async fn get_session_stats(&self) -> Result<SessionStats> {
        guard(async { self.provider().get_stats().await }).await
    }

    /// Sets one top-level key of the current user's session as one atomic step that does not
    /// conflict with writes to other keys; creates the session from the defaults first if absent.
    pub async fn set_session_value(&self, key: &str, value: impl Into<Value>) -> Result<()> {
        self.set_session_value_for(&current_user()?, key, value).await
    }

    pub async fn set_session_value_for(&self, user_id: &str, key: &str, value: impl Into<Value>) -> Result<()> {
        guard(async {
            validate_user_id(user_id)?;
            let value = value.into();
            validate_field(key, &value)?;
            if self.llm_model.is_some() {
                crate::llm::check_llm_key(key, &value)?;
            }
            let provider = self.provider();
            if provider.set_field(user_id, key, value.clone(), None, self.ttl).await? {
                return Ok(());
            }
            let defaults = self.create_default_session_data(user_id).await?;
            if provider.set_field(user_id, key, value, Some(defaults), self.ttl).await? {
                Ok(())
            } else {
                Err(SessionError::Internal(format!("session of {user_id:?} could not be created")))
            }
        })
        .await
    }

    /// One top-level value of the current user's session (`None` when unset).
    pub async fn get_session_value(&self, key: &str) -> Result<Option<Value>> {
        self.get_session_value_for(&current_user()?, key).await
    }

    pub async fn get_session_value_for(&self, user_id: &str, key: &str) -> Result<Option<Value>> {
        Ok(self.get_user_session_for(user_id).await?.remove(key))
    }
}
