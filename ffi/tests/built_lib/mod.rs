//! The C library for C programs run by tests and benchmarks. Cargo does not build a cdylib for
//! integration tests or benches, so the first caller builds it, in the caller's profile and
//! target directory (no work when it is up to date).

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Variables Cargo sets for the test or bench binary it runs, by prefix.
const PACKAGE_ENV: [&str; 7] = [
    "CARGO_PKG_",
    "CARGO_MANIFEST_",
    "CARGO_CRATE_",
    "CARGO_BIN_",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "OUT_DIR",
];

/// The directory holding `libpoto_sessions.so` / `.a` for this run.
pub fn lib_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().unwrap();
            let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let mut cargo = Command::new(env!("CARGO"));
            // Cargo runs tests and benches with their own package's OUT_DIR and CARGO_PKG_*
            // (and similar) variables; build scripts that watch them (ring's) would rebuild
            // under them, so the nested build gets the environment a `cargo build` in a shell has.
            for (name, _) in std::env::vars_os() {
                let name = name.to_string_lossy();
                if PACKAGE_ENV.iter().any(|prefix| name.starts_with(prefix)) {
                    cargo.env_remove(&*name);
                }
            }
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
