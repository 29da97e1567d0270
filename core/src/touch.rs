//! Lazy touch (DESIGN §4.10): a module read, or a session-store adapter's touch, restarts the
//! TTL and stamps `lastActivity` only when the stored `lastActivity` is older than
//! `touch_after`, so a request that only reads costs a read. An explicit provider `touch`
//! always touches.

use std::time::Duration;

use crate::data::{parse_timestamp, SessionData, LAST_ACTIVITY_KEY};

/// Default `touch_after`: `lastActivity` and `cleanup_old_sessions` are precise to a minute.
pub const DEFAULT_TOUCH_AFTER: Duration = Duration::from_secs(60);

/// The `touch_after` in force for a session living `ttl`: at most half of it, so a session
/// read at least that often never expires.
pub fn capped(touch_after: Duration, ttl: Option<Duration>) -> Duration {
    ttl.map_or(touch_after, |ttl| touch_after.min(ttl / 2))
}

/// Whether a session last active at `last_activity_ms` is due a touch at `now_ms` (both on
/// the store's clock). Unknown activity is due.
pub fn due(last_activity_ms: Option<i64>, now_ms: i64, touch_after: Duration) -> bool {
    touch_after.is_zero()
        || last_activity_ms.is_none_or(|last| now_ms.saturating_sub(last) >= touch_after.as_millis() as i64)
}

/// The `lastActivity` a session holds, in Unix milliseconds.
pub fn last_activity_ms(data: &SessionData) -> Option<i64> {
    data.get(LAST_ACTIVITY_KEY).and_then(|v| v.as_str()).and_then(parse_timestamp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_older_than_touch_after() {
        let minute = Duration::from_secs(60);
        assert!(!due(Some(1_000), 60_999, minute));
        assert!(due(Some(1_000), 61_000, minute));
        assert!(due(None, 0, minute));
        assert!(due(Some(1_000), 1_000, Duration::ZERO));
        assert_eq!(capped(minute, Some(Duration::from_secs(30))), Duration::from_secs(15));
        assert_eq!(capped(minute, None), minute);
    }
}
