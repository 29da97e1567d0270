//! Opaque handles: providers and modules, and the plumbing every handle type (options included)
//! shares. Each `_new` has a `_free`; provider and module handles are thread-safe.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use poto_sessions::{LLMPotoModule, OptionValue, PotoModule, Result, SessionError, SessionProvider};

use crate::call::guard;
use crate::status::poto_status;

/// A session store: in-memory, Redis or a custom provider written in C. Free with
/// `poto_provider_free`; modules keep what they need alive on their own.
pub struct poto_provider {
    pub(crate) inner: Arc<dyn SessionProvider>,
}

/// Generic or LLM session module. Free with `poto_module_free`.
pub struct poto_module {
    pub(crate) inner: PotoModule,
}

impl poto_module {
    /// The LLM view; an invalid argument for a generic module.
    pub(crate) fn as_llm(&self) -> Result<LLMPotoModule> {
        LLMPotoModule::of(&self.inner)
    }
}

/// A per-call TTL argument: 0 means "the provider's own".
pub(crate) fn duration_ms(ms: u64) -> Option<Duration> {
    (ms > 0).then(|| Duration::from_millis(ms))
}

/// A duration option of the core's schema, which C spells in milliseconds.
pub(crate) fn millis(ms: u64) -> OptionValue {
    OptionValue::Duration(Duration::from_millis(ms))
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

/// Runs a setter on an options handle: the one place that turns a NULL handle into an error.
///
/// # Safety
/// `options` is NULL or a live handle not used by another thread during the call.
pub(crate) unsafe fn set_option<T>(options: *mut T, set: impl FnOnce(&mut T) -> Result<()>) -> poto_status {
    guard(|| set(options.as_mut().ok_or_else(|| SessionError::InvalidArgument("options is NULL".into()))?))
}

/// Drops a handle made by [`new_handle`]; NULL is ignored and a panic in a destructor (a
/// finalizer of user data, say) stays on this side.
///
/// # Safety
/// `handle` is NULL or came from [`new_handle`] with this `T` and is not used afterwards.
pub(crate) unsafe fn free_handle<T>(handle: *mut T) {
    if !handle.is_null() {
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(handle))));
    }
}

/// Frees a provider handle. NULL is ignored. Modules and the global setting that use the
/// provider keep it alive.
///
/// # Safety
/// `provider` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_free(provider: *mut poto_provider) {
    free_handle(provider);
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

/// Frees a module handle. NULL is ignored.
///
/// # Safety
/// `module` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_module_free(module: *mut poto_module) {
    free_handle(module);
}
