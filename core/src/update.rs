//! Atomic read-modify-write over any provider: updates of one user queue in this process, then
//! compare-and-set with jittered backoff where the provider offers it (other processes may
//! write too), or a plain write where it does not (atomic within this process only).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dashmap::DashMap;
use once_cell::sync::Lazy;
use serde_json::Value;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::carry::{carry_untouched, NumberModel};
use crate::data::SessionData;
use crate::error::{Result, SessionError};
use crate::provider::{CasOutcome, SessionProvider, Versioned};

/// How long an update keeps retrying when other writers win the compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total time an update may spend retrying before it fails with `Conflict`.
    pub budget: Duration,
    /// First backoff ceiling; doubles per attempt up to `max_delay` (full jitter).
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            budget: Duration::from_secs(5),
            base_delay: Duration::from_micros(500),
            max_delay: Duration::from_millis(50),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.base_delay.saturating_mul(1 << attempt.min(16)).min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

/// What an update function decided.
pub enum Change {
    /// Write this session.
    Write(SessionData),
    /// Write nothing.
    Keep,
}

/// Reads the session, hands it to `f` and writes what `f` returns, so that no concurrent write is
/// lost. `f` may run several times under contention; an error from `f` writes nothing. Of what
/// `f` returns, values the same as those it was given (as `numbers` says the host sees them)
/// keep their stored text ([`crate::carry`]). Returns the session as `f` last produced it, or
/// `None` when `f` chose [`Change::Keep`].
pub async fn update_session<P, F, Fut>(
    provider: &P,
    user_id: &str,
    ttl: Option<Duration>,
    policy: &RetryPolicy,
    numbers: NumberModel,
    mut f: F,
) -> Result<Option<SessionData>>
where
    P: SessionProvider + ?Sized,
    F: FnMut(Option<SessionData>) -> Fut + Send,
    Fut: Future<Output = Result<Change>> + Send,
{
    // What `f` returns, with the values it left as they were taken from `before`.
    let apply = |before: &Option<SessionData>, change: Change| match (change, before) {
        (Change::Write(new), Some(before)) => Some(carry_untouched(before, new, numbers)),
        (Change::Write(new), None) => Some(new),
        (Change::Keep, _) => None,
    };
    // Updates of one user from this process queue here, so they cost no conflicting round trips;
    // only writers in other processes make a compare-and-set retry.
    let _guard = lock_user(provider, user_id, policy).await?;
    let Some(versioned) = provider.versioned() else {
        let current = provider.get_session(user_id).await?;
        crate::failpoint!("module.update");
        // A copy only where something may be carried (no compare-and-set needs it here).
        let before = if numbers == NumberModel::Exact { None } else { current.clone() };
        let Some(new) = apply(&before, f(current).await?) else { return Ok(None) };
        provider.set_session(user_id, new.clone(), ttl).await?;
        return Ok(Some(new));
    };
    let started = Instant::now();
    let mut attempt = 0u32;
    let mut current = versioned.get_versioned(user_id).await?;
    loop {
        attempt += 1;
        crate::failpoint!("module.update");
        let (data, expected) = match current {
            Some(Versioned { data, version }) => (Some(data), Some(version)),
            None => (None, None),
        };
        let before = data.clone();
        let Some(new) = apply(&before, f(data).await?) else { return Ok(None) };
        let outcome = match (expected, &before) {
            (Some(expected), Some(before)) => {
                versioned.compare_and_set_changes(user_id, expected, before, new.clone(), ttl).await?
            }
            _ => versioned.compare_and_set(user_id, expected, new.clone(), ttl).await?,
        };
        current = match outcome {
            CasOutcome::Applied(_) => return Ok(Some(new)),
            CasOutcome::Conflict(now) => now,
            CasOutcome::Stale => None,
        };
        if started.elapsed() >= policy.budget {
            return Err(SessionError::Conflict { user_id: user_id.to_owned(), attempts: attempt });
        }
        // The first conflict came with the winner's session: retry on it at once. Back off
        // (jittered, growing) only when writers keep colliding.
        if attempt > 1 {
            tokio::time::sleep(policy.backoff(attempt - 1)).await;
        }
        if current.is_none() {
            current = versioned.get_versioned(user_id).await?;
        }
    }
}

/// Generic [`SessionProvider::insert_if_absent`].
pub async fn insert_if_absent<P: SessionProvider + ?Sized>(
    provider: &P,
    user_id: &str,
    data: SessionData,
    ttl: Option<Duration>,
    policy: &RetryPolicy,
) -> Result<SessionData> {
    let written = update_session(provider, user_id, ttl, policy, NumberModel::Exact, |current| {
        let change = if current.is_none() { Change::Write(data.clone()) } else { Change::Keep };
        async move { Ok(change) }
    })
    .await?;
    match (provider.get_session(user_id).await?, written) {
        (Some(stored), _) => Ok(stored),
        // Deleted by another writer right after this one's write: what this call stored.
        (None, Some(written)) => Ok(written),
        // It existed, so nothing was written, and it is gone again: not applied.
        (None, None) => Err(SessionError::Conflict { user_id: user_id.to_owned(), attempts: 1 }),
    }
}

/// Generic [`SessionProvider::set_field`].
pub async fn set_field<P: SessionProvider + ?Sized>(
    provider: &P,
    user_id: &str,
    key: &str,
    value: Value,
    create_with: Option<SessionData>,
    ttl: Option<Duration>,
    policy: &RetryPolicy,
) -> Result<bool> {
    crate::data::validate_field(key, &value)?;
    let written = update_session(provider, user_id, ttl, policy, NumberModel::Exact, |current| {
        let change = match current.or_else(|| create_with.clone()) {
            Some(mut data) => {
                data.insert(key.to_owned(), value.clone());
                Change::Write(data)
            }
            None => Change::Keep,
        };
        async move { Ok(change) }
    })
    .await?;
    Ok(written.is_some())
}

type LockKey = (usize, String);
static USER_LOCKS: Lazy<DashMap<LockKey, Arc<Mutex<()>>>> = Lazy::new(DashMap::new);

/// Holds one user's lock for one provider instance; removes the entry when the last holder leaves.
struct UserLock {
    key: LockKey,
    guard: Option<OwnedMutexGuard<()>>,
}

impl Drop for UserLock {
    fn drop(&mut self) {
        self.guard.take();
        USER_LOCKS.remove_if(&self.key, |_, lock| Arc::strong_count(lock) == 1);
    }
}

/// Waits for `user_id`'s turn on `provider` in this process, for at most the retry budget: an
/// update function that updates its own user again would otherwise wait for itself.
async fn lock_user<P: ?Sized>(provider: &P, user_id: &str, policy: &RetryPolicy) -> Result<UserLock> {
    let key = (provider as *const P as *const () as usize, user_id.to_owned());
    let lock = USER_LOCKS.entry(key.clone()).or_default().clone();
    let mut held = UserLock { key, guard: None };
    match tokio::time::timeout(policy.budget, lock.lock_owned()).await {
        Ok(guard) => {
            held.guard = Some(guard);
            Ok(held)
        }
        Err(_) => Err(SessionError::Conflict { user_id: user_id.to_owned(), attempts: 0 }),
    }
}
