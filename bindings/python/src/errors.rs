//! SessionError → the exception classes of `poto_sessions.errors` (DESIGN §7).

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
