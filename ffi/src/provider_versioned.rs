//! Versioned read and compare-and-set (DESIGN §3, an optional capability): what a host needs to
//! build its own atomic update on a provider.

use std::ffi::c_char;
use std::ptr::null_mut;

use poto_sessions::{CasOutcome, Result, SessionError, SessionProvider, VersionedProvider};

use crate::call::guard;
use crate::handles::{duration_ms, poto_provider, provider_arg};
use crate::render::blocking;
use crate::status::poto_status;
use crate::strings::{out_arg, parse_session, session_json, str_arg, to_c};

fn require_versioned(p: &dyn SessionProvider) -> Result<&dyn VersionedProvider> {
    p.versioned()
        .ok_or_else(|| SessionError::InvalidArgument("this provider does not implement compare-and-set".into()))
}

/// The session and its version (for `poto_provider_compare_and_set`); `*out_json` NULL and
/// `*out_version` 0 when absent. `POTO_ERR_INVALID_ARGUMENT` if the provider is not versioned.
///
/// # Safety
/// Pointers are NULL or valid; strings NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_get_versioned(
    provider: *const poto_provider,
    user_id: *const c_char,
    out_json: *mut *mut c_char,
    out_version: *mut u64,
) -> poto_status {
    guard(|| {
        let (out_json, out_version) = (out_arg(out_json, "out_json")?, out_arg(out_version, "out_version")?);
        let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?);
        let current = blocking(require_versioned(&*p)?.get_versioned(id))?;
        (*out_json, *out_version) = match current {
            Some(v) => (to_c(session_json(v.data))?, v.version),
            None => (null_mut(), 0),
        };
        Ok(())
    })
}

/// Writes the session only if its version is still `expected_version` (0: only if absent);
/// `*out_applied` tells whether it was written.
///
/// # Safety
/// As `poto_provider_get_versioned`.
#[no_mangle]
pub unsafe extern "C" fn poto_provider_compare_and_set(
    provider: *const poto_provider,
    user_id: *const c_char,
    expected_version: u64,
    session_json: *const c_char,
    ttl_ms: u64,
    out_applied: *mut bool,
) -> poto_status {
    guard(|| {
        let out = out_arg(out_applied, "out_applied")?;
        let (p, id) = (provider_arg(provider)?.inner.clone(), str_arg(user_id, "user_id")?);
        let data = parse_session(str_arg(session_json, "session_json")?, "session_json")?;
        let expected = (expected_version > 0).then_some(expected_version);
        let outcome = blocking(require_versioned(&*p)?.compare_and_set(id, expected, data, duration_ms(ttl_ms)))?;
        *out = matches!(outcome, CasOutcome::Applied(_));
        Ok(())
    })
}
