//! Opaque handles: providers and modules. Each `_new` has a `_free`; handles are thread-safe.

use std::ffi::c_char;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use poto_sessions::{
    runtime, InMemorySessionProvider, LLMPotoModule, PotoModule, RedisOptions, RedisSessionProvider, Result,
    RetryPolicy, SessionError, SessionProvider,
};

use crate::call::guard;
use crate::callbacks::CDefaults;
use crate::status::poto_status;
use crate::strings::{opt_str_arg, out_arg};

/// A session store: in-memory, Redis or a custom provider written in C. Free with
/// `poto_provider_free`; modules keep what they need alive on their own.
pub struct poto_provider {
    pub(crate) inner: Arc<dyn SessionProvider>,
}

/// Generic (`llm == false`) or LLM session module. Free with `poto_module_free`.
pub struct poto_module {
    pub(crate) generic: PotoModule,
    pub(crate) llm: Option<LLMPotoModule>,
}

impl poto_module {
    fn generic(module: PotoModule) -> Self {
        poto_module { generic: module, llm: None }
    }

    fn llm(module: LLMPotoModule) -> Self {
        poto_module { generic: (*module).clone(), llm: Some(module) }
    }

    pub(crate) fn as_llm(&self) -> Result<&LLMPotoModule> {
        self.llm.as_ref().ok_or_else(|| SessionError::InvalidArgument("module was not created with llm = true".into()))
    }
}

/// Options of `poto_redis_provider_new`. Zero / NULL fields take the defaults.
#[repr(C)]
pub struct poto_redis_options {
    /// `redis://` or `rediss://` URL; NULL: `REDIS_URL`, else `redis://127.0.0.1:6379`.
    pub url: *const c_char,
    /// Key prefix; NULL: `"poto:"`.
    pub prefix: *const c_char,
    /// Session TTL; 0: 24 h.
    pub ttl_ms: u64,
    /// 0: 5 s.
    pub connect_timeout_ms: u64,
    /// 0: 2 s.
    pub command_timeout_ms: u64,
    /// Time atomic updates keep retrying before `POTO_ERR_CONFLICT`; 0: 5 s.
    pub retry_budget_ms: u64,
    /// Largest session in bytes; 0: 1 MiB.
    pub max_session_bytes: u64,
    /// Redis Cluster: `url` lists seed nodes, comma-separated (a `redis+cluster://` URL selects
    /// cluster mode on its own).
    pub cluster: bool,
}

/// Options of `poto_module_new`. Zero / NULL fields take the defaults.
#[repr(C)]
pub struct poto_module_options {
    /// The module's own provider; NULL: the global one (`poto_set_session_provider`) at each call.
    pub provider: *const poto_provider,
    /// An `LLMPotoModule` (sessions carry `currentModelName`).
    pub llm: bool,
    /// Model of new sessions (LLM only); NULL: `"llm1"`.
    pub default_model: *const c_char,
    /// TTL of the sessions it writes; 0: the provider's.
    pub ttl_ms: u64,
    /// Extends the default data of new sessions; NULL: none. See `poto_defaults_fn`.
    pub defaults: crate::callbacks::poto_defaults_fn,
    /// Passed to `defaults`.
    pub defaults_user_data: *mut std::ffi::c_void,
    /// Called once with `defaults_user_data` when the module no longer needs it; may be NULL.
    pub defaults_free: crate::callbacks::poto_free_fn,
}

pub(crate) fn duration_ms(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// # Safety
/// `provider` is NULL or a live handle.
pub(crate) unsafe fn provider_arg<'a>(provider: *const poto_provider) -> Result<&'a poto_provider> {
    provider.as_ref().ok_or_else(|| SessionError::InvalidArgument("provider is NULL".into()))
}

/// # Safety
/// `module` is NULL or a live handle.
pub(crate) unsafe fn module_arg<'a>(module: *const poto_module) -> Result<&'a poto_module> {
    module.as_ref().ok_or_else(|| SessionError::InvalidArgument("module is NULL".into()))
}

pub(crate) fn new_handle<T>(out: &mut *mut T, value: T) {
    *out = Box::into_raw(Box::new(value));
}

/// An in-memory provider (the default store; not shared across processes). `ttl_ms` 0: 24 h.
///
/// # Safety
/// `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_memory_provider_new(ttl_ms: u64, out: *mut *mut poto_provider) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        let mut provider = InMemorySessionProvider::new();
        if let Some(ttl) = duration_ms(ttl_ms) {
            provider = provider.with_ttl(ttl)?;
        }
        new_handle(out, poto_provider { inner: Arc::new(provider) });
        Ok(())
    })
}

/// A Redis provider; connects now (blocking) and fails with `POTO_ERR_UNAVAILABLE` if Redis
/// does not answer. `options` may be NULL (all defaults).
///
/// # Safety
/// `options` is NULL or valid; `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_provider_new(
    options: *const poto_redis_options,
    out: *mut *mut poto_provider,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        let mut config = RedisOptions::new();
        if let Some(o) = options.as_ref() {
            if let Some(url) = opt_str_arg(o.url, "options.url")? {
                config = config.url(url);
            }
            if let Some(prefix) = opt_str_arg(o.prefix, "options.prefix")? {
                config = config.prefix(prefix);
            }
            if let Some(ttl) = duration_ms(o.ttl_ms) {
                config = config.ttl(ttl);
            }
            if let Some(t) = duration_ms(o.connect_timeout_ms) {
                config = config.connect_timeout(t);
            }
            if let Some(t) = duration_ms(o.command_timeout_ms) {
                config = config.command_timeout(t);
            }
            if let Some(budget) = duration_ms(o.retry_budget_ms) {
                config = config.retry(RetryPolicy { budget, ..RetryPolicy::default() });
            }
            config = config.cluster(o.cluster);
            if o.max_session_bytes > 0 {
                config = config.max_session_bytes(usize::try_from(o.max_session_bytes).unwrap_or(usize::MAX));
            }
        }
        let provider = runtime::block_on(RedisSessionProvider::connect(config))??;
        new_handle(out, poto_provider { inner: Arc::new(provider) });
        Ok(())
    })
}

/// Frees a provider handle. NULL is ignored. Modules and the global setting that use the
/// provider keep it alive.
///
/// # Safety
/// `provider` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_free(provider: *mut poto_provider) {
    if !provider.is_null() {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(provider))));
    }
}

/// Makes `provider` the one every module without its own uses (the seed's `setSessionProvider`).
///
/// # Safety
/// `provider` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn poto_set_session_provider(provider: *const poto_provider) -> poto_status {
    guard(|| {
        poto_sessions::set_session_provider(provider_arg(provider)?.inner.clone());
        Ok(())
    })
}

/// A module. `options` may be NULL (generic module on the global provider).
///
/// # Safety
/// `options` is NULL or valid (its provider NULL or live); `out` is valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_module_new(
    options: *const poto_module_options,
    out: *mut *mut poto_module,
) -> poto_status {
    guard(|| {
        // Own the finalizer first, so user_data is released even when an argument is rejected.
        let defaults = options
            .as_ref()
            .and_then(|o| CDefaults::new(o.defaults, o.defaults_user_data, o.defaults_free))
            .map(Arc::new);
        let out = out_arg(out, "out")?;
        let Some(o) = options.as_ref() else {
            new_handle(out, poto_module::generic(PotoModule::new()));
            return Ok(());
        };
        let provider = o.provider.as_ref().map(|p| p.inner.clone());
        let ttl = duration_ms(o.ttl_ms);
        let configure = |mut module: PotoModule| {
            if let Some(provider) = provider {
                module = module.with_provider(provider);
            }
            if let Some(ttl) = ttl {
                module = module.with_ttl(ttl);
            }
            if let Some(defaults) = defaults {
                module = module.with_defaults(defaults);
            }
            module
        };
        let handle = if o.llm {
            let model = opt_str_arg(o.default_model, "options.default_model")?;
            let llm = LLMPotoModule::new().with_default_model(model.unwrap_or(poto_sessions::llm::DEFAULT_MODEL))?;
            poto_module::llm(llm.map_module(configure))
        } else {
            poto_module::generic(configure(PotoModule::new()))
        };
        new_handle(out, handle);
        Ok(())
    })
}

/// Frees a module handle. NULL is ignored.
///
/// # Safety
/// `module` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_module_free(module: *mut poto_module) {
    if !module.is_null() {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(module))));
    }
}
