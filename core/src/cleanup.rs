//! Periodic cleanup a host starts once (the seed's Best Practice 2), on the hidden runtime.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::{Result, SessionError};
use crate::provider::SessionProvider;
use crate::runtime;

/// What one cleanup run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanupReport {
    /// 1 for the first run.
    pub run: u64,
    /// Sessions removed by this run, or why it failed (the next run tries again).
    pub removed: Result<u64>,
    /// Sessions removed since the cleanup started.
    pub total_removed: u64,
}

/// A running periodic cleanup; stops when [`Self::stop`] is called or it is dropped.
#[derive(Debug)]
pub struct PeriodicCleanup {
    task: JoinHandle<()>,
}

impl PeriodicCleanup {
    /// Every `every`, removes sessions idle longer than `max_age` and passes the report to
    /// `on_report`. The first run happens after one interval.
    pub fn start<F>(
        provider: Arc<dyn SessionProvider>,
        every: Duration,
        max_age: Duration,
        on_report: F,
    ) -> Result<Self>
    where
        F: Fn(CleanupReport) + Send + Sync + 'static,
    {
        if every.is_zero() {
            return Err(SessionError::InvalidArgument("cleanup interval must be positive".into()));
        }
        let task = runtime::spawn(async move {
            let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let (mut run, mut total_removed) = (0, 0);
            loop {
                ticks.tick().await;
                run += 1;
                let removed = provider.cleanup_old_sessions(max_age).await;
                total_removed += removed.as_ref().copied().unwrap_or(0);
                on_report(CleanupReport { run, removed, total_removed });
            }
        });
        Ok(PeriodicCleanup { task })
    }

    /// Stops the cleanup; a run in progress is abandoned.
    pub fn stop(self) {}
}

impl Drop for PeriodicCleanup {
    fn drop(&mut self) {
        self.task.abort();
    }
}
