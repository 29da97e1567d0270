//! Python values ⇄ JSON (DESIGN §2): `json.dumps` rules with `allow_nan=False`, 64-bit integers,
//! string keys only; out: `dict`, exact ints and floats.

use poto_sessions::value::MAX_DEPTH;
use poto_sessions::{Result, SessionData, SessionError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

fn invalid(msg: impl Into<String>) -> SessionError {
    SessionError::InvalidArgument(msg.into())
}

/// A value stored under a top-level key (level 2 of its session).
pub fn to_json(value: &Bound<'_, PyAny>) -> Result<Value> {
    convert(value, 2)
}

/// What a custom provider's method returned: a session, or an envelope holding one (the
/// `(dict, int)` of `get_versioned`), so one level above a session.
pub fn result_to_json(value: &Bound<'_, PyAny>) -> Result<Value> {
    convert(value, 0)
}

/// A session: a `dict` with `str` keys.
pub fn to_session(value: &Bound<'_, PyAny>) -> Result<SessionData> {
    match value.cast::<PyDict>() {
        Ok(_) => match convert(value, 1)? {
            Value::Object(map) => Ok(map),
            _ => unreachable!("a dict converts to an object"),
        },
        Err(_) => Err(invalid(format!("a session must be a dict, got {}", type_name(value)))),
    }
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into())
}

/// Refuses a container at level `depth` (the session object is level 1), as the core counts.
fn check_depth(depth: usize) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(invalid(format!(
            "session is nested deeper than {MAX_DEPTH} levels (counting the session object), or contains itself"
        )));
    }
    Ok(())
}

/// `value`, at level `depth` of its session.
fn convert(value: &Bound<'_, PyAny>, depth: usize) -> Result<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.cast::<PyInt>().is_ok() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(invalid("integer outside the 64-bit range"));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Number::from_f64(f.value()).map(Value::Number).ok_or_else(|| invalid("NaN and Infinity are not JSON"));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return s.to_cow().map(|s| Value::String(s.into_owned())).map_err(|_| invalid("string is not valid UTF-8"));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        check_depth(depth)?;
        let mut map = Map::new();
        for (k, v) in dict.iter() {
            let key =
                k.cast::<PyString>().map_err(|_| invalid(format!("dict keys must be str, got {}", type_name(&k))))?;
            let key = key.to_cow().map_err(|_| invalid("dict key is not valid UTF-8"))?;
            map.insert(key.into_owned(), convert(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = value.cast::<PyList>() {
        check_depth(depth)?;
        return list.iter().map(|v| convert(&v, depth + 1)).collect::<Result<_>>().map(Value::Array);
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        check_depth(depth)?;
        return tuple.iter().map(|v| convert(&v, depth + 1)).collect::<Result<_>>().map(Value::Array);
    }
    Err(invalid(format!("values of type {} are not JSON", type_name(value))))
}

pub fn to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.into_pyobject(py)?.into_any(),
            (_, Some(u)) => u.into_pyobject(py)?.into_any(),
            _ => n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any(),
        },
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => session_to_py(py, map)?.into_any(),
    })
}

pub fn session_to_py<'py>(py: Python<'py>, map: &SessionData) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    for (k, v) in map {
        dict.set_item(k, to_py(py, v)?)?;
    }
    Ok(dict)
}

/// Session data crossing into Python as a `dict` when the awaitable resolves: owned, or shared
/// with the provider (the in-memory snapshot, an `Arc`).
pub struct Session<D = SessionData>(pub D);

impl<'py, D: std::borrow::Borrow<SessionData>> IntoPyObject<'py> for Session<D> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        Ok(session_to_py(py, self.0.borrow())?.into_any())
    }
}

static JSON_LOADS: pyo3::sync::PyOnceLock<Py<PyAny>> = pyo3::sync::PyOnceLock::new();

/// Session text the provider validated (`SessionProvider::get_session_json`: an object with
/// the reserved keys as strings and this user's `userId`), parsed by Python's own `json.loads`
/// into a `dict`: the same values as a conversion from a parsed tree (exact ints, floats), with
/// no tree in between.
pub struct SessionText(pub String);

impl<'py> IntoPyObject<'py> for SessionText {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let loads = JSON_LOADS.get_or_try_init(py, || py.import("json")?.getattr("loads").map(Bound::unbind))?;
        loads.bind(py).call1((PyString::new(py, &self.0),))
    }
}

/// Any JSON value crossing into Python.
pub struct Json(pub Value);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        to_py(py, &self.0)
    }
}

/// A `str` argument (user id, key, model name). Anything else, or a `str` with lone surrogates
/// (not valid UTF-8), is an invalid argument, as in every binding, rather than pyo3's TypeError.
pub struct Text(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let Ok(text) = obj.cast::<PyString>() else {
            return Err(crate::errors::to_py(invalid(format!("expected a str, got {}", type_name(&obj)))));
        };
        match text.to_cow() {
            Ok(text) => Ok(Text(text.into_owned())),
            Err(_) => Err(crate::errors::to_py(invalid("a str with lone surrogates is not valid Unicode"))),
        }
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}
