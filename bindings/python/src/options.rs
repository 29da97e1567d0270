//! Keyword arguments mapped one by one onto the core's options schema (`poto_sessions::options`,
//! DESIGN §4 "One options schema"): the keyword is the option's name, its Python type follows
//! the option's kind (durations in seconds, as `float` or `timedelta`), and the core checks the
//! value. `None` leaves an option at its default. An unknown keyword is a `TypeError`, as for
//! any Python signature; the stubs list every option (checked by `core/tests/api_parity.rs`).

use std::time::Duration;

use poto_sessions::options::{OptionKind, OptionSpec, OptionValue, Options};
use poto_sessions::SessionError;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyInt, PyString};

use crate::errors::to_py;

/// `O` with the keyword options `kwargs` of a call to `callable` (named in a `TypeError`).
pub fn from_kwargs<O: Options + Default>(callable: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<O> {
    let mut options = O::default();
    for (key, value) in kwargs.into_iter().flat_map(|kwargs| kwargs.iter()) {
        let name = key.cast::<PyString>()?.to_cow()?;
        let Some(spec) = O::SCHEMA.iter().find(|spec| spec.name == name) else {
            return Err(PyTypeError::new_err(format!("{callable}() got an unexpected keyword argument '{name}'")));
        };
        set(&mut options, spec, &value)?;
    }
    Ok(options)
}

/// Sets option `spec` of `options` to the Python `value` (`None`: left at its default).
pub fn set<O: Options>(options: &mut O, spec: &OptionSpec, value: &Bound<'_, PyAny>) -> PyResult<()> {
    if value.is_none() {
        return Ok(());
    }
    options.set(spec.name, option_value(spec, value)?).map_err(to_py)
}

/// A Python value as the kind `spec` declares. Only the type is checked here; the range is the
/// core's.
fn option_value(spec: &OptionSpec, value: &Bound<'_, PyAny>) -> PyResult<OptionValue> {
    let is_int = value.cast::<PyInt>().is_ok() && value.cast::<PyBool>().is_err();
    let converted = match spec.kind {
        OptionKind::Text => {
            value.cast::<PyString>().ok().and_then(|s| s.to_cow().ok()).map(|s| OptionValue::Text(s.into()))
        }
        OptionKind::Bool => value.cast::<PyBool>().ok().map(|b| OptionValue::Bool(b.is_true())),
        OptionKind::Duration => return Ok(OptionValue::Duration(seconds(value, &format!("option {}", spec.name))?)),
        // A negative or huge int is no count: the same complaint as a value of another type.
        OptionKind::Count => is_int.then(|| value.extract::<u64>().ok()).flatten().map(OptionValue::Count),
    };
    converted.ok_or_else(|| {
        let expected = match spec.kind {
            OptionKind::Text => "a str",
            OptionKind::Bool => "a bool",
            OptionKind::Duration => "seconds or a timedelta",
            OptionKind::Count => "a positive int",
        };
        to_py(SessionError::InvalidArgument(format!("option {} must be {expected}, got {}", spec.name, repr(value))))
    })
}

fn repr(value: &Bound<'_, PyAny>) -> String {
    let text = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text,
    }
}

/// A duration in seconds (`int` or `float`) or a `timedelta`; `name` names it in the error.
pub fn seconds(value: &Bound<'_, PyAny>, name: &str) -> PyResult<Duration> {
    let invalid =
        |why: &str| to_py(SessionError::InvalidArgument(format!("{name} must be {why}, got {}", repr(value))));
    let seconds: f64 = if value.cast::<PyBool>().is_ok() {
        return Err(invalid("seconds or a timedelta"));
    } else if value.hasattr("total_seconds")? {
        value.call_method0("total_seconds")?.extract()?
    } else {
        value.extract().map_err(|_| invalid("seconds or a timedelta"))?
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| invalid("a non-negative number of seconds"))
}

/// An optional duration argument (`None` stays `None`).
pub fn optional_seconds(value: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<Duration>> {
    value.filter(|v| !v.is_none()).map(|v| seconds(v, name)).transpose()
}

/// Each option set of the core's `api::OPTION_SETS` with its options' names and kinds, for
/// the package's own tests.
#[pyfunction]
pub fn _option_schema() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    let kind = |spec: &OptionSpec| match spec.kind {
        OptionKind::Text => "text",
        OptionKind::Bool => "bool",
        OptionKind::Duration if spec.zero => "duration_or_zero",
        OptionKind::Duration => "duration",
        OptionKind::Count if spec.zero => "count_or_zero",
        OptionKind::Count => "count",
    };
    let options = |schema: &[OptionSpec]| schema.iter().map(|spec| (spec.name, kind(spec))).collect();
    poto_sessions::api::OPTION_SETS.iter().map(|set| (set.class, options(set.schema))).collect()
}
