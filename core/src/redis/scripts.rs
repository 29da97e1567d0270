//! The Lua scripts of format 2, each prefixed with the shared helpers.

use once_cell::sync::Lazy;
use redis::Script;

macro_rules! script {
    ($file:literal) => {
        Lazy::new(|| Script::new(concat!(include_str!("lua/common.lua"), include_str!(concat!("lua/", $file)))))
    };
}

pub static WRITE: Lazy<Script> = script!("write.lua");
pub static TOUCH: Lazy<Script> = script!("touch.lua");
pub static DELETE: Lazy<Script> = script!("delete.lua");
pub static SHARD: Lazy<Script> = script!("shard.lua");
pub static META: Lazy<Script> = script!("meta.lua");
/// The migration's per-session step (`poto-sessions-admin migrate`).
pub static CONVERT: Lazy<Script> = script!("convert.lua");

/// Every script, for loading them all after the server lost its script cache.
pub fn all() -> [&'static Script; 6] {
    [&WRITE, &TOUCH, &DELETE, &SHARD, &META, &CONVERT]
}

/// An `EVALSHA` of `script` with `keys`; arguments are appended by the caller.
pub fn call(script: &Script, keys: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd("EVALSHA");
    cmd.arg(script.get_hash()).arg(keys.len()).arg(keys);
    cmd
}
