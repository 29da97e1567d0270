//! The public surface every language offers, listed once: the methods of providers and modules
//! and the options of each class. Bindings spell the names in their own case; a test
//! (`core/tests/api_parity.rs`) reads the Python stubs, the TypeScript types and the C header and
//! fails when one language lacks an entry.

use crate::options::{CustomOptions, MemoryOptions, ModuleOptions, OptionSpec, Options};
use crate::redis::RedisOptions;

/// Methods of every provider handle (built-in or custom), `snake_case`.
pub const PROVIDER_METHODS: &[&str] = &[
    "get_session",
    "set_session",
    "delete_session",
    "has_session",
    "touch",
    "cleanup_old_sessions",
    "get_active_sessions",
    "get_stats",
    "count",
    "clear",
];

/// Methods of `PotoModule` (and so of `LLMPotoModule`).
pub const MODULE_METHODS: &[&str] = &[
    "get_user_session",
    "update_user_session",
    "delete_user_session",
    "get_session_stats",
    "set_session_value",
    "get_session_value",
];

/// Methods `LLMPotoModule` adds.
pub const LLM_METHODS: &[&str] = &[
    "update_user_model",
    "get_user_model",
    "set_system_prompt",
    "get_system_prompt",
    "set_current_conversation_id",
    "get_current_conversation_id",
];

/// What a class is configured with, by the class's name in Python and Node.
pub struct OptionSet {
    /// The class (`RedisSessionProvider`), or the function making a custom provider.
    pub class: &'static str,
    /// The prefix of its C setters (`poto_redis_options`).
    pub c_prefix: &'static str,
    pub schema: &'static [OptionSpec],
}

/// Every option set.
pub const OPTION_SETS: &[OptionSet] = &[
    OptionSet { class: "InMemorySessionProvider", c_prefix: "poto_memory_options", schema: MemoryOptions::SCHEMA },
    OptionSet { class: "RedisSessionProvider", c_prefix: "poto_redis_options", schema: RedisOptions::SCHEMA },
    OptionSet { class: "custom provider", c_prefix: "poto_custom_options", schema: CustomOptions::SCHEMA },
    OptionSet { class: "PotoModule", c_prefix: "poto_module_options", schema: ModuleOptions::SCHEMA },
];

/// `snake_case` to `camelCase`.
pub fn camel_case(name: &str) -> String {
    let mut parts = name.split('_');
    let mut out = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}
