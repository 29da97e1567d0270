//! Shared plumbing of the blocking and `_async` forms of each operation.

use std::future::Future;

use poto_sessions::{runtime, Result};

/// Runs an operation on the calling thread (no thread hop when the result is ready).
pub fn blocking<T>(operation: impl Future<Output = Result<T>>) -> Result<T> {
    runtime::block_on(operation)?
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
