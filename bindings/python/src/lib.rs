//! `poto_sessions._native`: the Rust core for Python. The `poto_sessions` package wraps it
//! with the seed's classes, context-variable users and the exception hierarchy.

mod awaited;
mod bridge;
mod convert;
mod custom;
mod errors;
mod host;
mod module;
mod options;
mod providers;
mod runtime;
mod waker;

use std::time::Duration;

use poto_sessions::conformance::{run_conformance_on, ConformanceOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::options::optional_seconds;
use crate::providers::provider_of;

/// Makes `provider` (built-in or custom) the one every module without its own uses.
#[pyfunction]
fn set_session_provider(provider: &Bound<'_, PyAny>) -> PyResult<()> {
    poto_sessions::set_session_provider(provider_of(provider)?);
    Ok(())
}

/// Runs the provider conformance suite on `provider` (and `other`, a second handle on the same
/// store). Clears the store first. Returns the core's report: `{"ok": bool, "passed": [name],
/// "skipped": [{"name", "reason"}], "failed": [{"name", "reason"}]}`.
#[pyfunction]
#[pyo3(signature = (provider, other=None, *, ttl_unit=None, max_session_bytes=None))]
fn run_conformance_sync<'py>(
    py: Python<'py>,
    provider: &Bound<'py, PyAny>,
    other: Option<&Bound<'py, PyAny>>,
    ttl_unit: Option<&Bound<'py, PyAny>>,
    max_session_bytes: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let a = provider_of(provider)?;
    let b = other.filter(|o| !o.is_none()).map(provider_of).transpose()?;
    let options = ConformanceOptions {
        max_session_bytes,
        ttl_unit: optional_seconds(ttl_unit, "ttl_unit")?.unwrap_or(Duration::from_millis(200)),
        ..ConformanceOptions::default()
    };
    let report = runtime::blocking(py, async { Ok(run_conformance_on(a, b, options).await) })?;
    Ok(convert::to_py(py, &report.to_json())?.cast_into::<PyDict>()?)
}

/// Which descriptor wakes event loops: `"eventfd"` (Linux) or `"socket"` (see `POTO_PYTHON_WAKER`).
#[pyfunction]
fn _waker_kind() -> &'static str {
    waker::kind().name()
}

/// Test builds only (feature `failpoints`): arms failpoint `name` for `times` hits (None: every
/// hit until disarmed with `times=0`). See core/src/failpoint.rs.
#[cfg(feature = "failpoints")]
#[pyfunction]
#[pyo3(signature = (name, times=None))]
fn _arm_failpoint(name: &str, times: Option<u32>) -> PyResult<()> {
    if !poto_sessions::failpoint::POINTS.contains(&name) {
        return Err(pyo3::exceptions::PyValueError::new_err(format!("unknown failpoint {name:?}")));
    }
    match times {
        Some(0) => poto_sessions::failpoint::disarm(name),
        times => poto_sessions::failpoint::arm(name, times),
    }
    Ok(())
}

/// Runtime workers of a Python process unless `POTO_WORKER_THREADS` says otherwise.
const PYTHON_WORKER_THREADS: usize = 1;

/// The `poto-sessions-admin` console script (poto_sessions/_admin.py): the admin tool's own code
/// (cli/), so a wheel or an sdist build carries it without a second binary. The GIL is released
/// while it talks to Redis.
#[pyfunction]
fn _admin_main(py: Python<'_>, argv: Vec<String>) -> u8 {
    py.detach(|| poto_sessions_admin::main_with_args(argv))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    waker::init().map_err(pyo3::exceptions::PyValueError::new_err)?;
    // One event-loop or GIL-bound thread issues the calls here; a second worker mostly adds
    // wake-ups (BENCHMARKS.md, session 5: runtime CPU per call about halves with one).
    poto_sessions::runtime::set_default_worker_threads(PYTHON_WORKER_THREADS);
    m.add("DEFAULT_MODEL", poto_sessions::llm::DEFAULT_MODEL)?;
    m.add_class::<providers::NativeProvider>()?;
    m.add_class::<providers::InMemorySessionProvider>()?;
    m.add_class::<providers::RedisSessionProvider>()?;
    m.add_class::<providers::SessionStats>()?;
    m.add_class::<module::NativeModule>()?;
    m.add_class::<runtime::Ready>()?;
    m.add_class::<bridge::Completions>()?;
    m.add_function(wrap_pyfunction!(set_session_provider, m)?)?;
    m.add_function(wrap_pyfunction!(run_conformance_sync, m)?)?;
    m.add_function(wrap_pyfunction!(_waker_kind, m)?)?;
    m.add_function(wrap_pyfunction!(_admin_main, m)?)?;
    m.add_function(wrap_pyfunction!(options::_option_schema, m)?)?;
    #[cfg(feature = "failpoints")]
    m.add_function(wrap_pyfunction!(_arm_failpoint, m)?)?;
    Ok(())
}
