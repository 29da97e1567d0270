//! Options objects of JS (`{ttlMs: 60000, prefix: 'app:'}`) mapped key by key onto the core's
//! options schema (`poto_sessions::options`): the key is the spec's `node_name()`, durations are
//! milliseconds. The core checks every value; an unknown key names the known ones. JS drops
//! `undefined` values (JSON.stringify) and takes the keys that are not options (a module's
//! `provider`) out before.

use std::time::Duration;

use poto_sessions::options::{OptionKind, OptionSpec, OptionValue, Options};
use poto_sessions::value::kind_name;
use poto_sessions::{Result, SessionError};
use serde_json::Value;

use crate::errors::invalid;

/// The options of type `O` set by the JSON text of a JS options object (`None`: none given).
pub fn from_js<O: Options + Default>(text: Option<&str>) -> Result<O> {
    let mut options = O::default();
    let Some(text) = text else { return Ok(options) };
    let object = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => object,
        Ok(other) => return Err(invalid(format!("options must be an object, got {}", kind_name(&other)))),
        Err(e) => return Err(invalid(format!("options are not valid JSON: {e}"))),
    };
    for (key, value) in object {
        let Some(spec) = O::SCHEMA.iter().find(|spec| spec.node_name() == key) else {
            let known: Vec<String> = O::SCHEMA.iter().map(OptionSpec::node_name).collect();
            return Err(invalid(format!("unknown option {key:?} (known: {})", known.join(", "))));
        };
        let value = option_value(spec, &key, value)?;
        options.set(spec.name, value).map_err(node_terms::<O>)?;
    }
    Ok(options)
}

/// A JS value as the kind `spec` declares: a string, a boolean, milliseconds, a whole number.
fn option_value(spec: &OptionSpec, key: &str, value: Value) -> Result<OptionValue> {
    let wrong = |expected: &str, value: &Value| invalid(format!("option {key} must be {expected}, got {value}"));
    Ok(match (spec.kind, value) {
        (OptionKind::Text, Value::String(text)) => OptionValue::Text(text),
        (OptionKind::Bool, Value::Bool(flag)) => OptionValue::Bool(flag),
        (OptionKind::Duration, Value::Number(ms)) => {
            // The core checks the range; here only what is no Duration at all (negative, huge).
            match Duration::try_from_secs_f64(ms.as_f64().unwrap_or(f64::NAN) / 1000.0) {
                Ok(d) => OptionValue::Duration(d),
                Err(_) => return Err(wrong("a number of milliseconds (at least 1)", &Value::Number(ms))),
            }
        }
        (OptionKind::Count, Value::Number(n)) => match n.as_u64() {
            Some(n) => OptionValue::Count(n),
            None => return Err(wrong("a positive whole number", &Value::Number(n))),
        },
        (kind, other) => {
            let expected = match kind {
                OptionKind::Text => "a string",
                OptionKind::Bool => "a boolean",
                OptionKind::Duration => "a number of milliseconds",
                OptionKind::Count => "a positive whole number",
            };
            return Err(invalid(format!("option {key} must be {expected}, got {}", kind_name(&other))));
        }
    })
}

/// A complaint of the core about options of type `O`, naming them as JS spells them.
pub fn node_terms<O: Options>(error: SessionError) -> SessionError {
    let SessionError::InvalidArgument(mut message) = error else { return error };
    for spec in O::SCHEMA {
        message = message.replace(&format!("option {} ", spec.name), &format!("option {} ", spec.node_name()));
        if spec.name.contains('_') {
            message = message.replace(spec.name, &spec.node_name());
        }
    }
    SessionError::InvalidArgument(message)
}
