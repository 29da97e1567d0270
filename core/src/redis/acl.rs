//! The Redis commands the provider sends, for a least-privilege ACL user (docs/operations.md,
//! "Least privilege"). One list: the docs show it, `core/tests/acl.rs` checks that the docs
//! show exactly it and that a user granted only it (on `~<prefix>*`) passes the conformance
//! suite.

/// Every command the Redis provider sends on a single server, in ACL spelling (`script|load`
/// is the subcommand `SCRIPT LOAD`): what the client sends itself (reads, `EVALSHA` of its Lua
/// scripts, `SCRIPT LOAD` after the server lost its script cache), then what those scripts call
/// (Redis checks a script's commands and keys against the caller's ACL too). Connecting needs
/// `AUTH`, which every user may run.
pub const REDIS_COMMANDS: &[&str] = &[
    // Sent by the client (`time`: the server's clock, for lazy touch; `wait`: `wait_replicas`).
    "evalsha",
    "script|load",
    "get",
    "exists",
    "time",
    "wait",
    // Called by the Lua scripts (core/src/redis/lua).
    "type",
    "set",
    "getrange",
    "setrange",
    "append",
    "del",
    "incr",
    "pexpire",
    "pttl",
    "zadd",
    "zrem",
    "zcount",
    "zrange",
    "zrangebyscore",
];

/// What a Redis Cluster deployment grants on top of [`REDIS_COMMANDS`]: the client reads the
/// slot map and follows `ASK` redirections during resharding.
pub const REDIS_CLUSTER_COMMANDS: &[&str] = &["cluster|slots", "asking"];
