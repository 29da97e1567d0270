//! The C API's blocking calls (c_bench.c, beside this file) beside the same work done natively
//! in Rust. `cargo bench -p poto-sessions-benches --bench c_vs_rust`; run by
//! `cargo test -p poto-sessions-benches --benches` it is a short smoke run. Needs `cc` and, for
//! the Redis rows, `redis-server`.

#[path = "../../core/tests/support/mod.rs"]
mod support;

#[path = "../../ffi/tests/built_lib/mod.rs"]
mod built_lib;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use poto_sessions::{InMemorySessionProvider, SessionProvider};
use serde_json::Value;

const SESSION: &str = include_str!("session.json");

/// ns per in-memory get plus JSON encoding, natively (what a C call wraps).
fn rust_get_ns(iterations: u32) -> f64 {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let provider = InMemorySessionProvider::new();
    let data: Value = serde_json::from_str(SESSION).unwrap();
    runtime.block_on(async {
        for u in 0..1000 {
            provider.set_session(&format!("user-{u}"), data.as_object().unwrap().clone(), None).await.unwrap();
        }
        let ids: Vec<String> = (0..1000).map(|u| format!("user-{u}")).collect();
        let start = Instant::now();
        let mut bytes = 0;
        for i in 0..iterations {
            let session = provider.get_session(&ids[i as usize % ids.len()]).await.unwrap().unwrap();
            bytes += Value::Object(session).to_string().len();
        }
        assert!(bytes > 0);
        start.elapsed().as_nanos() as f64 / f64::from(iterations)
    })
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let seconds = if full { "3" } else { "0.2" };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let lib = built_lib::lib_dir();
    let exe = std::env::temp_dir().join(format!("poto_c_bench_{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"])
        .arg(format!("-I{}", repo.join("include").display()))
        .arg(repo.join("benches/c_vs_rust/c_bench.c"))
        .arg("-o")
        .arg(&exe)
        .arg(format!("-L{}", lib.display()))
        .args(["-lpoto_sessions", "-lpthread"])
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .status()
        .expect("cc not found");
    assert!(status.success(), "compiling c_bench.c failed");

    let server = support::RedisServer::start();
    let out = Command::new(&exe).args([seconds, &server.url()]).env_remove("REDIS_URL").output().unwrap();
    let _ = std::fs::remove_file(&exe);
    assert!(out.status.success(), "c_bench failed: {}", String::from_utf8_lossy(&out.stderr));

    let rust_ns = rust_get_ns(if full { 2_000_000 } else { 20_000 });
    println!(
        "C API, blocking calls, ~500-byte session ({} build, {seconds} s per row)",
        if cfg!(debug_assertions) { "debug" } else { "release" }
    );
    println!("{:<8} {:<4} {:>8} {:>12} {:>14}", "provider", "op", "threads", "ops/s", "ns/op/thread");
    let mut c_get_ns = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if let [provider, op, threads, ops, ns] = f[..] {
            println!("{provider:<8} {op:<4} {threads:>8} {ops:>12} {ns:>14}");
            if (provider, op, threads) == ("memory", "get", "1") {
                c_get_ns = ns.parse::<f64>().ok();
            }
        }
    }
    let c_get_ns = c_get_ns.expect("no memory get row");
    println!("Rust-native in-memory get + JSON encoding: {rust_ns:.0} ns/op");
    println!("C blocking get / Rust-native get+encode: {:.2}x (target: at most 2x)", c_get_ns / rust_ns);
}
