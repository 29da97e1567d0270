//! `poto_sessions._native`: the Rust core for Python. The `poto_sessions` package wraps it
//! with the seed's classes, context-variable users and the exception hierarchy.

mod awaited;
mod bridge;
mod convert;
mod custom;
mod errors;
mod host;
mod module;
mod providers;
mod runtime;
mod waker;

use std::sync::Arc;
use std::time::Duration;

use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::providers::{duration, provider_of};

/// Makes `provider` (built-in or custom) the one every module without its own uses.
#[pyfunction]
fn set_session_provider(provider: &Bound<'_, PyAny>) -> PyResult<()> {
    poto_sessions::set_session_provider(provider_of(provider)?);
    Ok(())
}

/// Runs the provider conformance suite on `provider` (and `other`, a second handle on the same
/// store). Clears the store first. Returns `{"ok": bool, "passed": [...], "failed": [[name, why]]}`.
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
    let b = other.filter(|o| !o.is_none()).map(provider_of).transpose()?.unwrap_or_else(|| a.clone());
    let options = ConformanceOptions {
        max_session_bytes,
        ttl_unit: duration(ttl_unit, "ttl_unit")?.unwrap_or(Duration::from_millis(200)),
        ..ConformanceOptions::default()
    };
    let handles: [Arc<dyn poto_sessions::SessionProvider>; 2] = [a, b];
    let next = std::sync::atomic::AtomicUsize::new(0);
    let report = runtime::blocking(py, async {
        let make = || {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 2;
            std::future::ready(Ok(handles[i].clone()))
        };
        Ok(run_conformance(make, options).await)
    })?;
    let result = PyDict::new(py);
    result.set_item("ok", report.is_ok())?;
    result.set_item("passed", report.passed.clone())?;
    result.set_item("failed", report.failed.iter().map(|(n, w)| (n.to_string(), w.clone())).collect::<Vec<_>>())?;
    Ok(result)
}

/// Which descriptor wakes event loops: `"eventfd"` (Linux) or `"socket"` (see `POTO_PYTHON_WAKER`).
#[pyfunction]
fn _waker_kind() -> &'static str {
    waker::kind().name()
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    waker::init().map_err(pyo3::exceptions::PyValueError::new_err)?;
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
    Ok(())
}
