// The README (its examples run as doctests) is read for rustdoc only: the Python sdist carries
// core/ without the repository's README, and a normal build needs none of it.
#![cfg_attr(any(doc, doctest), doc = include_str!("../../README.md"))]

pub mod api;
pub mod carry;
pub mod cleanup;
pub mod conformance;
pub mod context;
pub mod custom;
pub mod data;
pub mod error;
pub mod failpoint;
pub mod host;
pub mod llm;
pub mod memory;
pub mod module;
pub mod options;
pub mod provider;
pub mod redis;
pub mod runtime;
pub mod session_text;
pub mod touch;
pub mod update;
pub mod value;

pub use carry::NumberModel;
pub use cleanup::{CleanupReport, PeriodicCleanup};
pub use context::{current_user, with_user};
pub use data::SessionData;
pub use error::{ErrorKind, Result, SessionError};
pub use llm::LLMPotoModule;
pub use memory::InMemorySessionProvider;
pub use module::{defaults_fn, session_provider, set_session_provider, PotoModule, SessionDefaults};
pub use options::{CustomOptions, MemoryOptions, ModuleOptions, OptionValue, Options};
pub use provider::{CasOutcome, SessionProvider, SessionStats, Versioned, VersionedProvider};
pub use redis::{RedisOptions, RedisSessionProvider};
pub use session_text::SessionText;
pub use update::RetryPolicy;
