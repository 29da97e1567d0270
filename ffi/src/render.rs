//! Shared plumbing of the blocking and `_async` forms of each operation.

use std::future::Future;
use std::pin::Pin;

use poto_sessions::{runtime, Result};

/// An operation whose arguments were checked on the caller's thread, ready to run blocking or
/// `_async` (so both forms reject bad arguments the same way, before anything starts).
pub type Op<T> = Result<Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>>;

/// Runs an operation on the calling thread (no thread hop when the result is ready).
pub fn blocking<T>(operation: impl Future<Output = Result<T>>) -> Result<T> {
    runtime::block_on(runtime::guard(operation))?
}

/// How an operation's result reaches a `poto_done_fn`: JSON text.
pub trait ToJson {
    fn to_json(self) -> String;
}

/// JSON text produced by an operation.
pub struct Json(pub String);

impl ToJson for Json {
    fn to_json(self) -> String {
        self.0
    }
}

impl ToJson for Option<Json> {
    fn to_json(self) -> String {
        self.map_or_else(|| "null".to_owned(), |json| json.0)
    }
}

impl ToJson for () {
    fn to_json(self) -> String {
        "null".to_owned()
    }
}

impl ToJson for bool {
    fn to_json(self) -> String {
        self.to_string()
    }
}

impl ToJson for u64 {
    fn to_json(self) -> String {
        self.to_string()
    }
}

/// The `_async` form of an operation's future.
pub async fn rendered<T: ToJson>(operation: impl Future<Output = Result<T>>) -> Result<String> {
    operation.await.map(ToJson::to_json)
}
