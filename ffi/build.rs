//! scripts/dist.sh sets POTO_SESSIONS_SONAME (libpoto_sessions.so.<major>) for the shipped
//! library; builds for the tests leave it unset, as their programs link target/<profile>/ by path.
fn main() {
    println!("cargo:rerun-if-env-changed=POTO_SESSIONS_SONAME");
    if let Ok(soname) = std::env::var("POTO_SESSIONS_SONAME") {
        if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") && !soname.is_empty() {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,{soname}");
        }
    }
}
