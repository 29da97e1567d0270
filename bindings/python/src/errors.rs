//! SessionError → the exception classes of `poto_sessions.errors` (DESIGN §7), with the
//! exception of the host callback that caused it, if any, as `__cause__`.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use poto_sessions::{ErrorKind, SessionError};
use pyo3::prelude::*;

fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "InvalidArgumentError",
        ErrorKind::CorruptData => "CorruptDataError",
        ErrorKind::TooLarge => "SessionTooLargeError",
        ErrorKind::Conflict => "ConflictError",
        ErrorKind::Unavailable => "UnavailableError",
        ErrorKind::OutcomeUnknown => "OutcomeUnknownError",
        ErrorKind::Provider => "ProviderError",
        ErrorKind::NotAuthenticated => "NotAuthenticatedError",
        ErrorKind::Internal => "InternalError",
    }
}

/// The Python exception for `error`: `poto_sessions.errors.<Kind>Error(message)` with `.code`.
pub fn to_py(error: SessionError) -> PyErr {
    Python::attach(|py| {
        let made = py.import("poto_sessions.errors").and_then(|errors| {
            errors.getattr(class_name(error.kind()))?.call1((error.to_string(), error.kind().code()))
        });
        match made {
            Ok(exception) => PyErr::from_value(exception),
            Err(import_failed) => import_failed,
        }
    })
}

/// A Python exception raised by host code (a custom provider), as the provider error it is.
pub fn provider_error(py: Python<'_>, err: &PyErr) -> SessionError {
    let kind = err.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    SessionError::Provider(format!("{kind}: {}", err.value(py)))
}

tokio::task_local! {
    /// Exceptions raised by host callbacks during the current call, with the errors they became.
    static RAISED: RefCell<Vec<(SessionError, Arc<PyErr>)>>;
}

/// Notes that host code raised `exception`, which became `error`, in the current call.
pub fn record(error: &SessionError, exception: &Arc<PyErr>) {
    let _ = RAISED.try_with(|raised| raised.borrow_mut().push((error.clone(), exception.clone())));
}

/// [`to_py`], with the exception `error` came from (recorded in this call) as its `__cause__`.
fn to_py_caused(error: SessionError) -> PyErr {
    let cause = RAISED
        .try_with(|raised| raised.borrow().iter().rev().find(|(e, _)| *e == error).map(|(_, cause)| cause.clone()))
        .ok()
        .flatten();
    let made = to_py(error);
    if let Some(cause) = cause {
        Python::attach(|py| made.set_cause(py, Some(cause.clone_ref(py))));
    }
    made
}

/// Runs one call, turning its error into the Python exception, caused by the host exception it
/// came from (a default factory's, a custom provider's).
pub async fn with_causes<F, T>(fut: F) -> PyResult<T>
where
    F: Future<Output = poto_sessions::Result<T>>,
{
    RAISED.scope(RefCell::new(Vec::new()), async move { fut.await.map_err(to_py_caused) }).await
}
