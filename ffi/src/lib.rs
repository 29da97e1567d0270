//! The C ABI of poto-sessions (`include/poto_sessions.h`, generated from this crate by cbindgen).
//!
//! Conventions (docs/c-api.md): every function returns a `poto_status` and writes its outputs
//! only on `POTO_OK`; `poto_last_error_message()` tells why a call failed; no panic crosses the
//! boundary; NULL or invalid UTF-8 arguments are `POTO_ERR_INVALID_ARGUMENT`; handles come from
//! `_new` and go to `_free`; returned strings go to `poto_string_free`. Options are opaque
//! builders and the one public struct starts with its size, so the ABI can grow (docs/c-api.md,
//! "ABI stability").
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)] // every unsafe function documents its contract in "# Safety"

// Grouped in the order the generated header presents them (cbindgen follows declaration order).
mod call;
mod status;
mod strings;

mod handles;

mod memory_options;
mod redis_options;

mod custom;
mod custom_adapter;

mod provider_sessions;
mod provider_store;
mod provider_versioned;

mod conformance;

mod module_options;

mod module_ops;

mod llm_ops;

mod callbacks;

mod render;

pub use call::poto_last_error_message;
pub use callbacks::{poto_callback_error, poto_defaults_fn, poto_done_fn, poto_free_fn, poto_update_fn};
pub use conformance::poto_provider_run_conformance;
pub use custom::*;
pub use handles::*;
pub use llm_ops::*;
pub use memory_options::*;
pub use module_ops::*;
pub use module_options::*;
pub use provider_sessions::*;
pub use provider_store::*;
pub use provider_versioned::*;
pub use redis_options::*;
pub use status::{poto_status, poto_status_name};
pub use strings::poto_string_free;

#[cfg(test)]
mod panic_tests;
