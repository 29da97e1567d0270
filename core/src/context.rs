//! The current user of a request, as a task-local (Rust's equivalent of `contextvars` and
//! `AsyncLocalStorage`).

use std::future::Future;
use std::sync::Arc;

use crate::error::{Result, SessionError};

tokio::task_local! {
    static CURRENT_USER: Arc<str>;
}

/// Runs `future` with `user_id` as the current user of every module call inside it.
pub async fn with_user<F: Future>(user_id: impl Into<String>, future: F) -> F::Output {
    CURRENT_USER.scope(Arc::from(user_id.into()), future).await
}

/// The current user, or [`SessionError::NotAuthenticated`] outside [`with_user`].
pub fn current_user() -> Result<String> {
    CURRENT_USER.try_with(|user| user.to_string()).map_err(|_| SessionError::NotAuthenticated)
}
