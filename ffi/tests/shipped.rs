//! Failpoints (core/src/failpoint.rs) are compiled into test builds only: the C library built the
//! way it ships (`cargo build -p poto-sessions-ffi`, as scripts/install-c.sh does) holds none of
//! their text, which every failpoint panic carries.

mod built_lib;

/// The text of every failpoint panic (`poto_sessions::failpoint::MARKER`).
const MARKER: &[u8] = b"poto-sessions failpoint";

fn contains(path: &std::path::Path) -> bool {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    bytes.windows(MARKER.len()).any(|w| w == MARKER)
}

#[test]
fn the_shipped_library_has_no_failpoints() {
    // What a failpoint says in this (test) build.
    use poto_sessions::{runtime, InMemorySessionProvider, SessionProvider};
    poto_sessions::failpoint::arm("memory.get", Some(1));
    let provider = InMemorySessionProvider::new();
    let error = runtime::block_on(runtime::guard(provider.get_session("ada"))).unwrap().unwrap_err();
    assert!(error.to_string().contains(std::str::from_utf8(MARKER).unwrap()), "{error}");
    let dir = built_lib::lib_dir();
    for lib in ["libpoto_sessions.so", "libpoto_sessions.a"] {
        assert!(!contains(&dir.join(lib)), "{lib} was built with failpoints");
    }
}
