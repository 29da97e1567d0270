//! The provider conformance suite, for providers created through this API (custom C ones
//! included).

use std::ffi::c_char;
use std::time::Duration;

use poto_sessions::conformance::{run_conformance_on, ConformanceOptions};

use crate::call::guard;
use crate::handles::{poto_provider, provider_arg};
use crate::render::blocking;
use crate::status::poto_status;
use crate::strings::{out_arg, to_c};

/// Runs the conformance suite (it calls `clear` first: use a store reserved for the test).
/// `a` and `b` are two handles on the same store — for a networked store, two connections as
/// two servers would have; `b` NULL uses `a` twice. `ttl_unit_ms` 0: 200 ms (sessions in the TTL
/// checks live a few units). `max_session_bytes` 0 skips the size checks. `*out_passed` tells
/// whether every check passed (skipped checks do not fail it); `*out_report` (free with
/// `poto_string_free`) counts the passed, skipped and failed checks, then names each skipped
/// check and each failed one with why.
///
/// # Safety
/// Handles are NULL or live; outputs valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_run_conformance(
    a: *const poto_provider,
    b: *const poto_provider,
    ttl_unit_ms: u64,
    max_session_bytes: u64,
    out_passed: *mut bool,
    out_report: *mut *mut c_char,
) -> poto_status {
    guard(|| {
        let (out_passed, out_report) = (out_arg(out_passed, "out_passed")?, out_arg(out_report, "out_report")?);
        let a = provider_arg(a)?.inner.clone();
        let b = if b.is_null() { None } else { Some(provider_arg(b)?.inner.clone()) };
        let options = ConformanceOptions {
            max_session_bytes: (max_session_bytes > 0).then_some(max_session_bytes as usize),
            ttl_unit: Duration::from_millis(if ttl_unit_ms == 0 { 200 } else { ttl_unit_ms }),
            ..ConformanceOptions::default()
        };
        let report = blocking(async { Ok(run_conformance_on(a, b, options).await) })?;
        *out_passed = report.is_ok();
        *out_report = to_c(report.to_string())?;
        Ok(())
    })
}
