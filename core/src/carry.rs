//! What an update writes: only the top-level keys the host's code changed. An update function
//! in JavaScript sees `1152921504606846977` as `1152921504606847000` and `-0.0` as `0`; handing
//! back what it was given must not rewrite what another language stored. So each value the
//! function returns is compared with the one it was given *as the host language sees numbers*,
//! and where they are the same the stored value (with its exact text) is kept.

use serde_json::{Number, Value};

use crate::data::SessionData;

/// How a host language represents JSON numbers, which decides when two texts are the same
/// number to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberModel {
    /// Numbers keep their text (Rust's `serde_json` here): only equal texts are the same.
    Exact,
    /// Python: integers exact, any other number a 64-bit float (`-0.0` differs from `0.0`).
    IntegersAndFloats,
    /// JavaScript, and C hosts whose JSON library reads numbers as doubles: every number a
    /// 64-bit float compared with `==`. A C host that changes an integer beyond 2^53 to one
    /// equal as a double must write it with `set_session_value`, which stores its exact text.
    Doubles,
}

impl NumberModel {
    /// Whether the host sees `a` and `b` as the same value.
    pub fn same(self, a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => self.same_number(x, y),
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| self.same(a, b)),
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| self.same(v, w)))
            }
            _ => a == b,
        }
    }

    fn same_number(self, x: &Number, y: &Number) -> bool {
        let float = |n: &Number| n.as_f64().unwrap_or(f64::NAN);
        match self {
            NumberModel::Exact => x == y,
            NumberModel::Doubles => float(x) == float(y),
            NumberModel::IntegersAndFloats => match (integer(x), integer(y)) {
                (Some(a), Some(b)) => a == b,
                (None, None) => float(x).to_bits() == float(y).to_bits(),
                _ => false,
            },
        }
    }
}

/// An integer as Python reads it: text without a fraction or exponent.
fn integer(n: &Number) -> Option<i128> {
    let text = n.as_str();
    if text.contains(['.', 'e', 'E']) {
        return None;
    }
    text.parse().ok()
}

/// `after` with every top-level value the host left as it was (per `model`) replaced by the
/// value of `before`, so that writing it changes only what the host changed.
pub fn carry_untouched(before: &SessionData, mut after: SessionData, model: NumberModel) -> SessionData {
    if model == NumberModel::Exact {
        return after; // the same text is the same value: nothing to put back
    }
    for (key, value) in after.iter_mut() {
        if let Some(old) = before.get(key) {
            if old != value && model.same(old, value) {
                *value = old.clone();
            }
        }
    }
    after
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn session(text: &str) -> SessionData {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn what_javascript_carried_through_keeps_its_text() {
        // (serde_json spells an exponent `e+`, whatever the text it parsed.)
        let stored = session(
            r#"{"id":1152921504606846977,"one":1.0,"neg":-0.0,"big":1e300,"pi":3.14159265358979323846,"n":[1.50]}"#,
        );
        let seen_by_js = session(
            r#"{"id":1152921504606847000,"one":1,"neg":0,"big":1e+300,"pi":3.141592653589793,"n":[1.5],"note":"x"}"#,
        );
        let written = carry_untouched(&stored, seen_by_js, NumberModel::Doubles);
        let text = serde_json::Value::Object(written).to_string();
        assert_eq!(
            text,
            r#"{"big":1e+300,"id":1152921504606846977,"n":[1.50],"neg":-0.0,"note":"x","one":1.0,"pi":3.14159265358979323846}"#
        );
    }

    #[test]
    fn python_changes_are_written() {
        let stored = session(r#"{"id":1152921504606846977,"f":0.0,"g":1.50,"i":100}"#);
        let after = session(r#"{"id":1152921504606846976,"f":-0.0,"g":1.5,"i":100.0}"#);
        let written = carry_untouched(&stored, after, NumberModel::IntegersAndFloats);
        assert_eq!(written["id"], json!(1152921504606846976u64));
        assert_eq!(written["f"].to_string(), "-0.0");
        assert_eq!(written["g"].to_string(), "1.50", "the same float: the stored text stays");
        assert_eq!(written["i"].to_string(), "100.0", "an int became a float");
    }

    #[test]
    fn exact_hosts_write_any_other_text() {
        let stored = session(r#"{"g":1.50}"#);
        let written = carry_untouched(&stored, session(r#"{"g":1.5}"#), NumberModel::Exact);
        assert_eq!(written["g"].to_string(), "1.5");
    }
}
