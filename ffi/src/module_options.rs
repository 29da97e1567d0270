//! Module options as an opaque builder (see `redis_options.rs` for why a builder). Value
//! setters are one `ModuleOptions::set` of the core's options schema, which checks the value;
//! the provider, the LLM flag and the defaults callback are objects, passed on their own to
//! `PotoModule::from_options` as every binding does.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use poto_sessions::{ModuleOptions, OptionValue, Options, PotoModule, SessionDefaults, SessionError, SessionProvider};

use crate::call::guard;
use crate::callbacks::{poto_defaults_fn, poto_free_fn, CDefaults};
use crate::handles::{free_handle, millis, new_handle, poto_module, poto_provider, provider_arg, set_option};
use crate::status::poto_status;
use crate::strings::{out_arg, str_arg};

/// Options of `poto_module_new`, with the defaults until a setter changes one: a generic
/// module on the global provider. Not thread-safe: set it up on one thread; it may be used for
/// any number of modules, which share its provider and defaults callback.
#[derive(Default)]
pub struct poto_module_options {
    values: ModuleOptions,
    provider: Option<Arc<dyn SessionProvider>>,
    llm: bool,
    defaults: Option<Arc<CDefaults>>,
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

/// An `LLMPotoModule`: sessions carry `currentModelName`, and the LLM calls work.
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

/// Model of new sessions and of sessions without one (default `llm1`); LLM modules only, so
/// `poto_module_new` refuses it on a generic module.
///
/// # Safety
/// `options` is NULL or live; `model` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_default_model(
    options: *mut poto_module_options,
    model: *const c_char,
) -> poto_status {
    set_option(options, |o| o.values.set("default_model", OptionValue::Text(str_arg(model, "model")?.to_owned())))
}

/// TTL of the sessions the module writes (default: the provider's).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_ttl_ms(options: *mut poto_module_options, ttl_ms: u64) -> poto_status {
    set_option(options, |o| o.values.set("ttl", millis(ttl_ms)))
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

/// How stale `lastActivity` may get before `poto_module_get_user_session` touches the session
/// (default 60 000 ms, capped at half the TTL; 0: every read touches). A read of a fresh session
/// writes nothing (DESIGN §4.10).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_module_options_set_touch_after_ms(
    options: *mut poto_module_options,
    touch_after_ms: u64,
) -> poto_status {
    set_option(options, |o| o.values.set("touch_after", millis(touch_after_ms)))
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
    set_option(options, |o| o.values.set("retry_budget", millis(budget_ms)))
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
    set_option(options, |o| o.values.set("retry_base_delay", millis(delay_ms)))
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
    set_option(options, |o| o.values.set("retry_max_delay", millis(delay_ms)))
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
        let host_defaults = o.defaults.clone().map(|d| d as Arc<dyn SessionDefaults>);
        let module = PotoModule::from_options(o.llm, o.provider.clone(), host_defaults, o.values.clone())?;
        new_handle(out, poto_module { inner: module });
        Ok(())
    })
}
