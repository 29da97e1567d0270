//! Failpoints: named places inside operations where a test build panics on demand, to prove that
//! no panic leaves a call waiting (every binding ends the call with the internal error).
//!
//! Compiled only with the `failpoints` feature, which the test builds enable (core's and the C
//! library's `cargo test`, the wheel of `scripts/test-python.sh`, the addon of
//! `scripts/test-node.sh`) and no shipped artefact does; without it [`failpoint!`] expands to
//! nothing and this module has no state.
//!
//! A point is armed for a number of hits (then disarms itself), or for every hit:
//!
//! - in-process: [`arm`] / [`disarm`] (the Python and Node test builds expose them as
//!   `_native._arm_failpoint` / `_armFailpoint`);
//! - across process boundaries: `POTO_FAILPOINTS=name[=count],...`, read at the first failpoint
//!   the process meets (`name` alone: every hit).
//!
//! The points (see [`POINTS`]) sit on the runtime paths of the built-in providers, the module
//! update path, the custom-provider host call path, and inside the blocking task a host call
//! waits on ([`crate::runtime::run_blocking`]).

/// Every failpoint, by name.
pub const POINTS: &[&str] = &[
    // In-memory provider: reads (get_session and its shared/text forms) and writes.
    "memory.get",
    "memory.set",
    // Redis provider: every command sent, by access.
    "redis.read",
    "redis.write",
    // The atomic read-modify-write of the module (update_user_session and friends).
    "module.update",
    // A custom provider's method call (Python, Node, C objects), in the awaited future.
    "host.call",
    // Inside the blocking-pool task a host call runs in and the operation waits on.
    "host.task",
];

/// Panics when the named point is armed (test builds); nothing otherwise.
#[cfg(feature = "failpoints")]
#[macro_export]
macro_rules! failpoint {
    ($name:expr) => {
        $crate::failpoint::hit($name)
    };
}

/// Panics when the named point is armed (test builds); nothing otherwise.
#[cfg(not(feature = "failpoints"))]
#[macro_export]
macro_rules! failpoint {
    ($name:expr) => {};
}

#[cfg(feature = "failpoints")]
pub use armed::{arm, disarm, hit, ENV, MARKER};

#[cfg(feature = "failpoints")]
mod armed {
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Mutex, Once};

    /// The environment variable read at the first failpoint met.
    pub const ENV: &str = "POTO_FAILPOINTS";
    /// Text every failpoint panic carries; a shipped artefact must not contain it (tests check).
    pub const MARKER: &str = "poto-sessions failpoint";

    /// Remaining hits per armed point (`u32::MAX`: every hit).
    static ARMED: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);
    /// Whether anything is armed: the cheap check of every hit.
    static ANY: AtomicBool = AtomicBool::new(false);
    static FROM_ENV: Once = Once::new();

    fn with<R>(f: impl FnOnce(&mut HashMap<String, u32>) -> R) -> R {
        let mut armed = ARMED.lock().unwrap_or_else(|p| p.into_inner());
        let armed = armed.get_or_insert_with(HashMap::new);
        let r = f(armed);
        ANY.store(!armed.is_empty(), Ordering::Release);
        r
    }

    fn check(name: &str) {
        assert!(super::POINTS.contains(&name), "unknown failpoint {name:?}; known: {:?}", super::POINTS);
    }

    /// Arms `name` for `times` hits (`None`: every hit until [`disarm`]).
    pub fn arm(name: &str, times: Option<u32>) {
        check(name);
        load_env();
        with(|armed| armed.insert(name.to_owned(), times.unwrap_or(u32::MAX).max(1)));
    }

    /// Disarms `name`.
    pub fn disarm(name: &str) {
        load_env();
        with(|armed| armed.remove(name));
    }

    fn load_env() {
        FROM_ENV.call_once(|| {
            let Ok(spec) = std::env::var(ENV) else { return };
            with(|armed| {
                for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (name, times) = match item.split_once('=') {
                        Some((name, n)) => (name, n.parse().unwrap_or(u32::MAX)),
                        None => (item, u32::MAX),
                    };
                    armed.insert(name.to_owned(), times.max(1));
                }
            });
        });
    }

    /// Panics if `name` is armed, counting the hit.
    pub fn hit(name: &str) {
        load_env();
        if !ANY.load(Ordering::Acquire) {
            return;
        }
        let fire = with(|armed| match armed.get(name).copied() {
            Some(u32::MAX) => true,
            Some(1) => {
                armed.remove(name);
                true
            }
            Some(left) => {
                armed.insert(name.to_owned(), left - 1);
                true
            }
            None => false,
        });
        if fire {
            panic!("{MARKER} {name}");
        }
    }
}
