//! One options schema (DESIGN §4): every option of every provider and module is defined here,
//! once, with its kind, default and validation. A binding maps its language's spelling onto
//! [`Options::set`] and never parses an option itself:
//!
//! | option kind | Rust | Python | Node | C |
//! |---|---|---|---|---|
//! | [`OptionKind::Duration`] | `Duration` | seconds (`float` or `timedelta`) | `<name>Ms` | `_set_<name>_ms` |
//! | other | as is | `snake_case` keyword | `camelCase` key | `_set_<name>` |

use std::time::Duration;

use crate::data::{validate_ttl, DEFAULT_MAX_SESSION_BYTES};
use crate::error::{Result, SessionError};
use crate::touch::DEFAULT_TOUCH_AFTER;
use crate::update::RetryPolicy;

/// The type of an option's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionKind {
    Text,
    Bool,
    /// A positive duration (milliseconds in C and Node, seconds in Python).
    Duration,
    /// A positive whole number.
    Count,
}

/// One option: its name in `snake_case` and what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionSpec {
    pub name: &'static str,
    pub kind: OptionKind,
    pub doc: &'static str,
    /// Zero is a valid value (it means "off" or "every time", as the doc says).
    pub zero: bool,
}

impl OptionSpec {
    const fn new(name: &'static str, kind: OptionKind, doc: &'static str) -> Self {
        OptionSpec { name, kind, doc, zero: false }
    }
    /// This option with zero allowed.
    pub(crate) const fn or_zero(self) -> Self {
        OptionSpec { zero: true, ..self }
    }
    pub(crate) const fn new_text(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, OptionKind::Text, doc)
    }
    pub(crate) const fn new_bool(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, OptionKind::Bool, doc)
    }
    pub(crate) const fn new_duration(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, OptionKind::Duration, doc)
    }
    pub(crate) const fn new_count(name: &'static str, doc: &'static str) -> Self {
        Self::new(name, OptionKind::Count, doc)
    }

    /// The key of a Node options object: `camelCase`, durations suffixed `Ms`.
    pub fn node_name(&self) -> String {
        let mut out = crate::api::camel_case(self.name);
        if self.kind == OptionKind::Duration {
            out.push_str("Ms");
        }
        out
    }

    /// The C setter's suffix: the name, durations suffixed `_ms`.
    pub fn c_name(&self) -> String {
        match self.kind {
            OptionKind::Duration => format!("{}_ms", self.name),
            _ => self.name.to_owned(),
        }
    }
}

/// A value for [`Options::set`].
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    Text(String),
    Bool(bool),
    Duration(Duration),
    Count(u64),
}

/// A struct of options described by a schema.
pub trait Options {
    /// Every option, in the order the docs list them.
    const SCHEMA: &'static [OptionSpec];

    /// Sets option `name` (its `snake_case` name), validating the value.
    fn set(&mut self, name: &str, value: OptionValue) -> Result<()>;

    /// The spec of option `name`, or an invalid argument naming the known ones.
    fn spec(name: &str) -> Result<&'static OptionSpec> {
        Self::SCHEMA.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = Self::SCHEMA.iter().map(|s| s.name).collect();
            SessionError::InvalidArgument(format!("unknown option {name:?} (known: {})", known.join(", ")))
        })
    }
}

/// Reads a value of the kind `spec` declares.
pub(crate) struct Typed(pub &'static OptionSpec, pub OptionValue);

impl Typed {
    fn wrong(&self) -> SessionError {
        let kind = match self.0.kind {
            OptionKind::Text => "a string",
            OptionKind::Bool => "a boolean",
            OptionKind::Duration => "a duration",
            OptionKind::Count if self.0.zero => "a whole number (0 or more)",
            OptionKind::Count => "a positive whole number",
        };
        SessionError::InvalidArgument(format!("option {} must be {kind}", self.0.name))
    }

    pub(crate) fn text(self) -> Result<String> {
        match self.1 {
            OptionValue::Text(text) => Ok(text),
            _ => Err(self.wrong()),
        }
    }

    pub(crate) fn flag(self) -> Result<bool> {
        match self.1 {
            OptionValue::Bool(flag) => Ok(flag),
            _ => Err(self.wrong()),
        }
    }

    /// At least 1 ms (or zero, where the spec allows it) and at most 100 years.
    pub(crate) fn duration(self) -> Result<Duration> {
        match self.1 {
            OptionValue::Duration(d) if d.is_zero() && self.0.zero => Ok(d),
            OptionValue::Duration(d) => {
                validate_ttl(d).map_err(|_| {
                    SessionError::InvalidArgument(format!(
                        "option {} must be between 1 ms and 100 years, got {d:?}",
                        self.0.name
                    ))
                })?;
                Ok(d)
            }
            _ => Err(self.wrong()),
        }
    }

    /// At least 1 (or zero, where the spec allows it).
    pub(crate) fn count(self) -> Result<usize> {
        match self.1 {
            OptionValue::Count(n) if n >= 1 || self.0.zero => usize::try_from(n).map_err(|_| self.wrong()),
            _ => Err(self.wrong()),
        }
    }
}

/// Sets `name` on `options`, checking the value's kind against the schema first.
pub(crate) fn typed<O: Options>(name: &str, value: OptionValue) -> Result<Typed> {
    let spec = O::spec(name)?;
    Ok(Typed(spec, value))
}

pub(crate) const RETRY_BUDGET: OptionSpec =
    OptionSpec::new("retry_budget", OptionKind::Duration, "time an atomic update keeps retrying (default 5 s)");
pub(crate) const RETRY_BASE_DELAY: OptionSpec = OptionSpec::new(
    "retry_base_delay",
    OptionKind::Duration,
    "first backoff ceiling, doubled per retry (default 0.5 ms)",
);
pub(crate) const RETRY_MAX_DELAY: OptionSpec =
    OptionSpec::new("retry_max_delay", OptionKind::Duration, "largest backoff between retries (default 50 ms)");
pub(crate) const TTL: OptionSpec =
    OptionSpec::new("ttl", OptionKind::Duration, "lifetime of a session after its last write or touch (default 24 h)");
pub(crate) const MAX_SESSION_BYTES: OptionSpec =
    OptionSpec::new("max_session_bytes", OptionKind::Count, "largest session accepted (default 1 MiB)");

/// Applies a `retry_*` option to `policy`; `false` when `name` is not one.
pub(crate) fn set_retry(policy: &mut RetryPolicy, spec: &OptionSpec, value: Duration) -> bool {
    match spec.name {
        "retry_budget" => policy.budget = value,
        "retry_base_delay" => policy.base_delay = value,
        "retry_max_delay" => policy.max_delay = value,
        _ => return false,
    }
    true
}

/// Options of the in-memory provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryOptions {
    pub ttl: Duration,
    pub max_session_bytes: usize,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        MemoryOptions { ttl: crate::memory::DEFAULT_TTL, max_session_bytes: DEFAULT_MAX_SESSION_BYTES }
    }
}

impl Options for MemoryOptions {
    const SCHEMA: &'static [OptionSpec] = &[TTL, MAX_SESSION_BYTES];

    fn set(&mut self, name: &str, value: OptionValue) -> Result<()> {
        let value = typed::<Self>(name, value)?;
        match value.0.name {
            "ttl" => self.ttl = value.duration()?,
            _ => self.max_session_bytes = value.count()?,
        }
        Ok(())
    }
}

/// Options of a custom provider (one written in C, Python or JavaScript).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomOptions {
    pub max_session_bytes: usize,
}

impl Default for CustomOptions {
    fn default() -> Self {
        CustomOptions { max_session_bytes: DEFAULT_MAX_SESSION_BYTES }
    }
}

impl Options for CustomOptions {
    const SCHEMA: &'static [OptionSpec] = &[MAX_SESSION_BYTES];

    fn set(&mut self, name: &str, value: OptionValue) -> Result<()> {
        self.max_session_bytes = typed::<Self>(name, value)?.count()?;
        Ok(())
    }
}

/// Options of a module (`PotoModule`, `LLMPotoModule`); the provider and the default-data
/// function are passed on their own, being objects rather than values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleOptions {
    /// TTL of the sessions the module writes (`None`: the provider's).
    pub ttl: Option<Duration>,
    /// How stale `lastActivity` may get before a read touches (DESIGN §4.10).
    pub touch_after: Duration,
    /// Retry budget of atomic updates (`None`: the provider's).
    pub retry: Option<RetryPolicy>,
    /// Model of new sessions of an LLM module (`None`: `"llm1"`); refused on a generic module.
    pub default_model: Option<String>,
}

impl Default for ModuleOptions {
    fn default() -> Self {
        ModuleOptions { ttl: None, touch_after: DEFAULT_TOUCH_AFTER, retry: None, default_model: None }
    }
}

/// Shared by modules and session-store adapters.
pub(crate) const TOUCH_AFTER: OptionSpec = OptionSpec::new(
    "touch_after",
    OptionKind::Duration,
    "a read touches the session only when its lastActivity is older than this (default 60 s, capped at half the TTL; 0: every read)",
)
.or_zero();

impl Options for ModuleOptions {
    const SCHEMA: &'static [OptionSpec] = &[
        TTL,
        TOUCH_AFTER,
        RETRY_BUDGET,
        RETRY_BASE_DELAY,
        RETRY_MAX_DELAY,
        OptionSpec::new(
            "default_model",
            OptionKind::Text,
            "model of new sessions, LLM modules only (default \"llm1\")",
        ),
    ];

    fn set(&mut self, name: &str, value: OptionValue) -> Result<()> {
        let value = typed::<Self>(name, value)?;
        let spec = value.0;
        match spec.name {
            "ttl" => self.ttl = Some(value.duration()?),
            "touch_after" => self.touch_after = value.duration()?,
            "default_model" => self.default_model = Some(value.text()?),
            _ => {
                let delay = value.duration()?;
                set_retry(self.retry.get_or_insert_with(RetryPolicy::default), spec, delay);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_in_each_language() {
        assert_eq!(TTL.node_name(), "ttlMs");
        assert_eq!(MAX_SESSION_BYTES.node_name(), "maxSessionBytes");
        assert_eq!(RETRY_BASE_DELAY.c_name(), "retry_base_delay_ms");
        assert_eq!(MAX_SESSION_BYTES.c_name(), "max_session_bytes");
    }

    #[test]
    fn values_are_checked_against_the_schema() {
        let mut o = ModuleOptions::default();
        o.set("retry_budget", OptionValue::Duration(Duration::from_secs(60))).unwrap();
        assert_eq!(o.retry.as_ref().unwrap().budget, Duration::from_secs(60));
        assert!(o.set("ttl", OptionValue::Count(3)).unwrap_err().to_string().contains("must be a duration"));
        assert!(o.set("ttl", OptionValue::Duration(Duration::ZERO)).is_err());
        o.set("touch_after", OptionValue::Duration(Duration::ZERO)).unwrap();
        assert_eq!(o.touch_after, Duration::ZERO);
        assert!(o.set("tll", OptionValue::Count(3)).unwrap_err().to_string().contains("known: ttl"));
        let mut m = MemoryOptions::default();
        assert!(m.set("max_session_bytes", OptionValue::Count(0)).is_err());
        m.set("max_session_bytes", OptionValue::Count(300)).unwrap();
        assert_eq!(m.max_session_bytes, 300);
    }
}
