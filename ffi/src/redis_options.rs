//! Redis provider options as an opaque builder: a new option is a new setter, so no caller's
//! struct layout ever changes. Each setter is one `RedisOptions::set` of the core's options
//! schema, which checks the value; what depends on several options (the URL's scheme, the
//! prefix's key layout) is checked when the provider is created.

use std::ffi::c_char;
use std::sync::Arc;

use poto_sessions::{runtime, OptionValue, Options, RedisOptions, RedisSessionProvider};

use crate::call::guard;
use crate::handles::{free_handle, millis, new_handle, poto_provider, set_option};
use crate::status::poto_status;
use crate::strings::{out_arg, str_arg};

/// Options of `poto_redis_provider_new`, with the defaults until a setter changes one. Not
/// thread-safe: set it up on one thread; it may be used for any number of providers.
pub struct poto_redis_options {
    inner: RedisOptions,
}

/// New options with every default (URL from `REDIS_URL`, else `redis://127.0.0.1:6379`).
///
/// # Safety
/// `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_new(out: *mut *mut poto_redis_options) -> poto_status {
    guard(|| {
        new_handle(out_arg(out, "out")?, poto_redis_options { inner: RedisOptions::new() });
        Ok(())
    })
}

/// Frees options. NULL is ignored. Providers made from them do not need them.
///
/// # Safety
/// `options` is NULL or a live handle not used after this call.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_free(options: *mut poto_redis_options) {
    free_handle(options);
}

/// `redis://`, `rediss://` (TLS), `redis+cluster://` or `redis+sentinel://h1:26379,h2:26379/<service>`
/// URL, with `user:password@` if needed.
///
/// # Safety
/// `options` is NULL or live; `url` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_url(
    options: *mut poto_redis_options,
    url: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("url", OptionValue::Text(str_arg(url, "url")?.to_owned())))
}

/// Namespace of every key (default `poto:`); two prefixes on one Redis never see each other.
///
/// # Safety
/// `options` is NULL or live; `prefix` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_prefix(
    options: *mut poto_redis_options,
    prefix: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("prefix", OptionValue::Text(str_arg(prefix, "prefix")?.to_owned())))
}

/// Lifetime of a session after its last write or touch (default 24 h).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_ttl_ms(options: *mut poto_redis_options, ttl_ms: u64) -> poto_status {
    set_option(options, |o| o.inner.set("ttl", millis(ttl_ms)))
}

/// Time allowed to open a connection (default 5 s).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_connect_timeout_ms(
    options: *mut poto_redis_options,
    timeout_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("connect_timeout", millis(timeout_ms)))
}

/// Time allowed for one reply (default 2 s); past it a read is `POTO_ERR_UNAVAILABLE` and a
/// write `POTO_ERR_OUTCOME_UNKNOWN`.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_command_timeout_ms(
    options: *mut poto_redis_options,
    timeout_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("command_timeout", millis(timeout_ms)))
}

/// Largest session accepted, in bytes (default 1 MiB).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_max_session_bytes(
    options: *mut poto_redis_options,
    max_bytes: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("max_session_bytes", OptionValue::Count(max_bytes)))
}

/// Redis Cluster: the URL lists seed nodes, comma-separated (a `redis+cluster://` URL selects
/// cluster mode on its own, so `REDIS_URL` can).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_cluster(
    options: *mut poto_redis_options,
    cluster: bool,
) -> poto_status {
    set_option(options, |o| o.inner.set("cluster", OptionValue::Bool(cluster)))
}

/// Ids per index shard in one listing reply (default 2000), so no reply grows with the number
/// of sessions.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_list_page_size(
    options: *mut poto_redis_options,
    ids: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("list_page_size", OptionValue::Count(ids)))
}

/// User name for the Redis Sentinels of a `redis+sentinel://` URL (the URL's credentials are the
/// data nodes').
///
/// # Safety
/// `options` is NULL or live; `username` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_sentinel_username(
    options: *mut poto_redis_options,
    username: *const c_char,
) -> poto_status {
    set_option(options, |o| {
        o.inner.set("sentinel_username", OptionValue::Text(str_arg(username, "sentinel_username")?.to_owned()))
    })
}

/// Password for the Redis Sentinels of a `redis+sentinel://` URL (the URL's credentials are the
/// data nodes').
///
/// # Safety
/// `options` is NULL or live; `password` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_sentinel_password(
    options: *mut poto_redis_options,
    password: *const c_char,
) -> poto_status {
    set_option(options, |o| {
        o.inner.set("sentinel_password", OptionValue::Text(str_arg(password, "sentinel_password")?.to_owned()))
    })
}

/// Replicas that must acknowledge each write (Redis `WAIT` on the write's node), else
/// `POTO_ERR_OUTCOME_UNKNOWN`: the write ran on the master but a failover may lose it. 0 (the
/// default): no `WAIT`.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_wait_replicas(
    options: *mut poto_redis_options,
    replicas: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("wait_replicas", OptionValue::Count(replicas)))
}

/// How long a write's `WAIT` waits for the replicas set by
/// `poto_redis_options_set_wait_replicas` (default 1 s); at most the command timeout.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_wait_timeout_ms(
    options: *mut poto_redis_options,
    timeout_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("wait_timeout", millis(timeout_ms)))
}

/// Time an atomic update keeps retrying under contention before `POTO_ERR_CONFLICT` (default 5 s).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_retry_budget_ms(
    options: *mut poto_redis_options,
    budget_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("retry_budget", millis(budget_ms)))
}

/// First backoff ceiling between retries (default 0.5 ms); it doubles per attempt up to the
/// maximum delay, with full jitter, so racing writers spread out.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_retry_base_delay_ms(
    options: *mut poto_redis_options,
    delay_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("retry_base_delay", millis(delay_ms)))
}

/// Largest backoff between retries (default 50 ms).
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_retry_max_delay_ms(
    options: *mut poto_redis_options,
    delay_ms: u64,
) -> poto_status {
    set_option(options, |o| o.inner.set("retry_max_delay", millis(delay_ms)))
}

/// TLS: a PEM bundle of CAs to trust besides the operating system's store (a private CA).
/// The file is read when the provider is created; an unreadable file or a bad PEM is
/// `POTO_ERR_INVALID_ARGUMENT` then. Needs a `rediss://` URL.
///
/// # Safety
/// `options` is NULL or live; `path` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_tls_ca_file(
    options: *mut poto_redis_options,
    path: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("tls_ca_file", OptionValue::Text(str_arg(path, "path")?.to_owned())))
}

/// TLS: the same as `poto_redis_options_set_tls_ca_file`, as inline PEM text (e.g. a Kubernetes
/// secret passed in an environment variable).
///
/// # Safety
/// `options` is NULL or live; `pem` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_tls_ca_pem(
    options: *mut poto_redis_options,
    pem: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("tls_ca_pem", OptionValue::Text(str_arg(pem, "pem")?.to_owned())))
}

/// TLS: a client certificate (PEM chain, leaf first) for servers that require one
/// (`tls-auth-clients yes`); set `poto_redis_options_set_tls_key_file` too.
///
/// # Safety
/// `options` is NULL or live; `path` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_tls_cert_file(
    options: *mut poto_redis_options,
    path: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("tls_cert_file", OptionValue::Text(str_arg(path, "path")?.to_owned())))
}

/// TLS: the private key (PEM) of the client certificate.
///
/// # Safety
/// `options` is NULL or live; `path` NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_tls_key_file(
    options: *mut poto_redis_options,
    path: *const c_char,
) -> poto_status {
    set_option(options, |o| o.inner.set("tls_key_file", OptionValue::Text(str_arg(path, "path")?.to_owned())))
}

/// TLS without verifying the server's certificate at all. **For development only**: anyone on
/// the network path can read and change the traffic.
///
/// # Safety
/// `options` is NULL or live.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_options_set_tls_insecure(
    options: *mut poto_redis_options,
    insecure: bool,
) -> poto_status {
    set_option(options, |o| o.inner.set("tls_insecure", OptionValue::Bool(insecure)))
}

/// A Redis provider; connects now (blocking) and fails with `POTO_ERR_UNAVAILABLE` if Redis does
/// not answer, `POTO_ERR_INVALID_ARGUMENT` for a URL or prefix it cannot use. `options` NULL:
/// every default.
///
/// # Safety
/// `options` is NULL or live; `out` is NULL or valid for writes.
#[no_mangle]
pub unsafe extern "C" fn poto_redis_provider_new(
    options: *const poto_redis_options,
    out: *mut *mut poto_provider,
) -> poto_status {
    guard(|| {
        let out = out_arg(out, "out")?;
        let config = options.as_ref().map_or_else(RedisOptions::new, |o| o.inner.clone());
        let provider = runtime::block_on(RedisSessionProvider::connect(config))??;
        new_handle(out, poto_provider { inner: Arc::new(provider) });
        Ok(())
    })
}
