//! The C library for C programs run by tests and benchmarks. Cargo does not build a cdylib for
//! integration tests or benches, so the first caller builds it, in the caller's profile and
//! target directory (no work when it is up to date).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding `libpoto_sessions.so` / `.a` for this run.
pub fn lib_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args(["build", "-p", "poto-sessions-ffi"]).env("CARGO_TARGET_DIR", profile_dir.parent().unwrap());
            if profile_dir.ends_with("release") {
                cargo.arg("--release");
            }
            assert!(cargo.status().expect("cargo not found").success(), "building libpoto_sessions failed");
            assert!(
                profile_dir.join("libpoto_sessions.so").exists(),
                "no libpoto_sessions.so in {}",
                profile_dir.display()
            );
            profile_dir
        })
        .clone()
}
