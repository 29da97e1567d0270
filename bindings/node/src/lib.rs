//! Node.js binding of poto-sessions (napi-rs). A thin layer: JS values cross as JSON text
//! (JSON.stringify / JSON.parse run in the package's lib/values.js), every future runs on the
//! core's hidden runtime, and JS callbacks run on the JS thread through the bridge. The class API
//! (AsyncLocalStorage current user, subclassing, express-session store) is the package's lib/.
//!
//! Files mirror the Python binding's: bridge.rs (operations and callbacks between the runtime and
//! the JS thread), errors.rs, options.rs (options objects onto the core's schema), convert.rs, providers.rs, custom.rs (providers written
//! in JS), module.rs; this file holds the functions of the addon itself.

mod bridge;
mod convert;
mod custom;
mod errors;
mod module;
mod options;
mod providers;

use std::time::Duration;

use napi::bindgen_prelude::{Function, Unknown};
use napi_derive::napi;
use poto_sessions::conformance::{run_conformance_on, ConformanceOptions};
use poto_sessions::CustomOptions;

use bridge::{start, JsOutcome};
use convert::millis_arg;
use options::from_js;
use providers::NativeProvider;

/// Installs the JS ends of the bridge (called once by lib/bridge.js): the completion and request
/// callbacks, and the `SessionError` class failures are made of.
#[napi]
pub fn init(
    on_complete: Function<'_, Unknown<'static>, Unknown<'static>>,
    on_request: Function<'_, Unknown<'static>, Unknown<'static>>,
    session_error: Function<'_, Unknown<'static>, Unknown<'static>>,
) -> napi::Result<()> {
    bridge::init(on_complete, on_request, session_error)
}

/// Hands the operations started since the last call to the runtime (lib/bridge.js calls it once
/// per event-loop iteration in which an operation did not finish at once).
#[napi]
pub fn flush() {
    bridge::flush()
}

/// The answer of JS to callback request `id`: the result's JSON text.
#[napi]
pub fn reply(id: u32, text: String) {
    bridge::reply(id, Ok(text))
}

/// The failure of JS's callback for request `id`: its code (`POTO_PROVIDER`, or the caller's own
/// `POTO_INVALID_ARGUMENT` / `POTO_TOO_LARGE`) and message.
#[napi]
pub fn reply_error(id: u32, code: String, message: String) {
    bridge::reply(id, Err(errors::from_js(&code, message)))
}

/// Test builds only (feature `failpoints`, `node scripts/build.js --failpoints`): arms failpoint
/// `name` for `times` hits (none: every hit; 0: disarm). See core/src/failpoint.rs.
#[cfg(feature = "failpoints")]
#[napi]
pub fn arm_failpoint(name: String, times: Option<u32>) -> napi::Result<()> {
    if !poto_sessions::failpoint::POINTS.contains(&name.as_str()) {
        return Err(napi::Error::from_reason(format!("unknown failpoint {name:?}")));
    }
    match times {
        Some(0) => poto_sessions::failpoint::disarm(&name),
        times => poto_sessions::failpoint::arm(&name, times),
    }
    Ok(())
}

/// Sets the provider of every module without its own.
#[napi]
pub fn set_session_provider(provider: &NativeProvider) {
    poto_sessions::set_session_provider(provider.inner.clone());
}

/// The names of the methods a JS provider may have (lib/custom.js looks which ones it has).
#[napi]
pub fn custom_provider_methods() -> Vec<&'static str> {
    custom::method_names()
}

/// Runs the conformance suite on `a` (and `b`, a second handle on the same store, else `a`
/// twice); `custom_options`: JSON of `{maxSessionBytes}` (the core's `CustomOptions`), the size
/// limit to check when given. Resolves with the core's report, `{passed, skipped, failed}`.
#[napi]
pub fn run_conformance_native(
    op: u32,
    a: &NativeProvider,
    b: Option<&NativeProvider>,
    ttl_unit_ms: Option<f64>,
    custom_options: Option<String>,
    doubles_only: bool,
) -> Option<JsOutcome> {
    let (a, b) = (a.inner.clone(), b.map(|b| b.inner.clone()));
    start(op, async move {
        let limit = match custom_options {
            Some(text) => Some(from_js::<CustomOptions>(Some(&text))?.max_session_bytes),
            None => None,
        };
        let options = ConformanceOptions {
            max_session_bytes: limit,
            ttl_unit: millis_arg("ttlUnitMs", ttl_unit_ms)?.unwrap_or(Duration::from_millis(200)),
            doubles_only,
        };
        Ok(run_conformance_on(a, b, options).await.to_json().to_string())
    })
}
