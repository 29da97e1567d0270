//! The Lua scripts of format 2, each joined from the snippets it uses (`lua/format.lua` first):
//! Redis rebuilds every function a script defines on each call, so a script carries no helper
//! it does not call (docs/redis-format.md §13).

use once_cell::sync::Lazy;
use redis::Script;

macro_rules! script {
    ($($file:literal),+) => {
        Lazy::new(|| Script::new(concat!($(include_str!(concat!("lua/", $file))),+)))
    };
}

pub static WRITE: Lazy<Script> = script!("format.lua", "clock.lua", "head.lua", "index.lua", "write.lua");
pub static TOUCH: Lazy<Script> = script!("format.lua", "clock.lua", "head.lua", "index.lua", "touch.lua");
pub static DELETE: Lazy<Script> = script!("delete.lua");
pub static SHARD: Lazy<Script> = script!("format.lua", "clock.lua", "index.lua", "shard.lua");
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
