//! Module options as an opaque builder (see `redis_options.rs` for why a builder). Each setter
//! records one `PotoModule::with_*` / `LLMPotoModule::with_*` step, applied by `poto_module_new`,
//! where the core checks the values.

use std::ffi::{c_char, c_void};
use std::sync::Arc;
use std::time::Duration;

use poto_sessions::{llm::DEFAULT_MODEL, LLMPotoModule, PotoModule, RetryPolicy, SessionError, SessionProvider};

use crate::call::guard;
use crate::callbacks::{poto_defaults_fn, poto_free_fn, CDefaults};
use crate::handles::{free_handle, new_handle, poto_module, poto_provider, provider_arg, set_option};
use crate::status::poto_status;
use crate::strings::{out_arg, str_arg};

/// Options of `poto_module_new`, with the defaults until a setter changes one: a generic
/// module on the global provider. Not thread-safe: set it up on one thread; it may be used for
/// any number of modules, which share its provider and defaults callback.
#[derive(Default)]
pub struct poto_module_options {
    provider: Option<Arc<dyn SessionProvider>>,
    llm: bool,
    default_model: Option<String>,
    ttl: Option<Duration>,
    defaults: Option<Arc<CDefaults>>,
    retry: Option<RetryPolicy>,
}

impl poto_module_options {
    fn configure(&self, mut module: PotoModule) -> PotoModule {
        if let Some(provider) = &self.provider {
            module = module.with_provider(provider.clone());
        }
        if let Some(ttl) = self.ttl {
            module = module.with_ttl(ttl);
        }
        if let Some(defaults) = &self.defaults {
            module = module.with_defaults(defaults.clone());
        }
        if let Some(retry) = &self.retry {
            module = module.with_retry(retry.clone());
        }
        module
    }

    /// The module's retry policy, started from the defaults the first time one part is set.
    fn retry(&mut self) -> &mut RetryPolicy {
        self.retry.get_or_insert_with(RetryPolicy::default)
    }
}

/// New options: a generic module on the global provider.
///
/// # Safety
/// `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_new(out: *mut *mut poto_module_options) -> poto_status {
    guard(|| {
        new_handle(out_arg(out, "out")?, poto_module_options::default());
        Ok(())
    })
}

/// Frees options, and with them their hold on the provider and the defaults `user_data` (which
/// modules made from them keep on their own). NULL is ignored.
///
/// # Safety
/// `options` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_free(options: *mut poto_module_options) {
    free_handle(options);
}

/// The module's own provider instead of the global one (`poto_set_session_provider`, read at
/// each call). The options and every module made from them keep it alive.
///
/// # Safety
/// `options` is NULL or live; `provider` NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_provider(
    options: *mut poto_module_options,
    provider: *const poto_provider,
) -> poto_status {
    set_option(options, |o| {
        o.provider = Some(provider_arg(provider)?.inner.clone());
        Ok(())
    })
}

/// An `LLMPotoModule`: sessions carry `currentModelName`, and the model calls work.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_llm(options: *mut poto_module_options, llm: bool) -> poto_status {
    set_option(options, |o| {
        o.llm = llm;
        Ok(())
    })
}

/// Model of new sessions and of sessions without one (LLM modules; default `llm1`).
///
/// # Safety
/// `options` is NULL or live; `model` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_default_model(
    options: *mut poto_module_options,
    model: *const c_char,
) -> poto_status {
    set_option(options, |o| {
        o.default_model = Some(str_arg(model, "model")?.to_owned());
        Ok(())
    })
}

/// TTL of the sessions the module writes (default: the provider's).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_ttl_ms(options: *mut poto_module_options, ttl_ms: u64) -> poto_status {
    set_option(options, |o| {
        o.ttl = Some(Duration::from_millis(ttl_ms));
        Ok(())
    })
}

/// Extends the default data of new sessions (see `poto_defaults_fn`). The library owns
/// `user_data` from this call on, even when it fails: `free_user_data` (may be NULL) runs once,
/// when these options and every module made from them are freed, or when a later call replaces
/// the callback.
///
/// # Safety
/// `options` is NULL or live; `defaults` honours `poto_defaults_fn`'s contract.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_defaults(
    options: *mut poto_module_options,
    defaults: poto_defaults_fn,
    user_data: *mut c_void,
    free_user_data: poto_free_fn,
) -> poto_status {
    // Owned before any check, so user_data is released whatever fails.
    let defaults = CDefaults::new(defaults, user_data, free_user_data);
    set_option(options, |o| {
        let defaults = defaults.ok_or_else(|| SessionError::InvalidArgument("defaults is NULL".into()))?;
        o.defaults = Some(Arc::new(defaults));
        Ok(())
    })
}

/// Time `poto_module_update_user_session` keeps retrying under contention before
/// `POTO_ERR_CONFLICT`. The module's retry settings start from the defaults (5 s, 0.5 ms,
/// 50 ms), not from the provider's; without any, the provider's apply.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_retry_budget_ms(
    options: *mut poto_module_options,
    budget_ms: u64,
) -> poto_status {
    set_option(options, |o| {
        o.retry().budget = Duration::from_millis(budget_ms);
        Ok(())
    })
}

/// First backoff ceiling between update retries; doubles per attempt up to the maximum delay.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_retry_base_delay_ms(
    options: *mut poto_module_options,
    delay_ms: u64,
) -> poto_status {
    set_option(options, |o| {
        o.retry().base_delay = Duration::from_millis(delay_ms);
        Ok(())
    })
}

/// Largest backoff between update retries.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_retry_max_delay_ms(
    options: *mut poto_module_options,
    delay_ms: u64,
) -> poto_status {
    set_option(options, |o| {
        o.retry().max_delay = Duration::from_millis(delay_ms);
        Ok(())
    })
}

/// A module. `options` NULL: a generic module on the global provider.
///
/// # Safety
/// `options` is NULL or live; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_module_new(
    options: *const poto_module_options,
    out: *mut *mut poto_module,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        let defaults = poto_module_options::default();
        let o = options.as_ref().unwrap_or(&defaults);
        let handle = if o.llm {
            let llm = LLMPotoModule::new().with_default_model(o.default_model.as_deref().unwrap_or(DEFAULT_MODEL))?;
            poto_module::llm(llm.map_module(|module| o.configure(module)))
        } else {
            poto_module::generic(o.configure(PotoModule::new()))
        };
        new_handle(out, handle);
        Ok(())
    })
}
