//! The checked-in header must be what cbindgen makes of the current source.
//! Regenerate with `POTO_UPDATE_HEADER=1 cargo test -p poto-sessions-ffi --test header`.

use std::path::Path;

#[test]
fn checked_in_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).unwrap();
    let bindings = cbindgen::Builder::new().with_crate(crate_dir).with_config(config).generate().unwrap();
    let mut generated = Vec::new();
    bindings.write(&mut generated);
    let path = crate_dir.join("../include/poto_sessions.h");
    if std::env::var_os("POTO_UPDATE_HEADER").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let checked_in = std::fs::read(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "include/poto_sessions.h is stale: run POTO_UPDATE_HEADER=1 cargo test -p poto-sessions-ffi --test header"
    );
}
