//! The in-memory provider in a single-thread tight loop: ns per operation, no task switch and
//! no per-op timer.

use std::sync::Arc;
use std::time::Instant;

use poto_sessions::{InMemorySessionProvider, SessionData, SessionProvider};

use crate::config::Config;
use crate::report::Verdicts;
use crate::session::{session_template, user};
use crate::USERS;

/// Prints the tight-loop table and checks its target (a shared in-memory read under 1 µs).
pub(crate) fn run(cfg: &Config, verdicts: &mut Verdicts) {
    let tight = tight_loop(cfg);
    println!("\n### In-memory, single-thread tight loop (current-thread runtime, no per-op timer)\n");
    println!("| operation | ns/op |\n|-----------|------:|");
    for (op, ns) in &tight {
        let who =
            if op.starts_with("model") || op.starts_with("SessionData") { "" } else { "InMemorySessionProvider " };
        println!("| {who}{op} | {ns:.0} |");
    }
    let get_ns = tight.iter().find(|(op, _)| op == "get_session").map(|(_, ns)| *ns).unwrap_or(f64::NAN);
    let shared_ns = tight.iter().find(|(op, _)| op == "get_session_shared").map(|(_, ns)| *ns).unwrap_or(f64::NAN);
    verdicts.check(
        shared_ns < 1000.0,
        format!(
            "in-memory get, tight loop: get_session_shared {shared_ns:.0} ns/op, get_session (owned copy) {get_ns:.0} ns/op (target < 1,000 ns)"
        ),
    );
}

/// Single-thread tight loop: `ns/op` of get_session and set_session on a current-thread runtime,
/// no task switch and no per-op timer.
fn tight_loop(cfg: &Config) -> Vec<(String, f64)> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let provider = Arc::new(InMemorySessionProvider::new());
        let template = session_template();
        populate_local(&provider, &template).await;
        let users: Vec<String> = (0..USERS).map(user).collect();
        // A session as the provider stores it (with userId, createdAt, lastActivity).
        let stored = provider.get_session(&users[0]).await.unwrap().unwrap();
        let mut out = Vec::new();
        for op in [
            "get_session",
            "get_session_shared",
            "has_session",
            "set_session",
            "SessionData clone+drop (no provider, same hot session)",
        ] {
            for pass in 0..2 {
                // pass 0 warms up
                let duration = if pass == 0 { cfg.warmup } else { cfg.duration };
                let start = Instant::now();
                let mut n = 0usize;
                while start.elapsed() < duration {
                    for _ in 0..1000 {
                        let id = &users[n % USERS];
                        match op {
                            "get_session" => {
                                std::hint::black_box(provider.get_session(std::hint::black_box(id)).await.unwrap());
                            }
                            "get_session_shared" => {
                                std::hint::black_box(
                                    provider.get_session_shared(std::hint::black_box(id)).await.unwrap(),
                                );
                            }
                            "has_session" => {
                                std::hint::black_box(provider.has_session(std::hint::black_box(id)).await.unwrap());
                            }
                            "set_session" => provider.set_session(id, template.clone(), None).await.unwrap(),
                            _ => {
                                std::hint::black_box(std::hint::black_box(&stored).clone());
                            }
                        }
                        n += 1;
                    }
                }
                if pass == 1 {
                    out.push((op.to_owned(), start.elapsed().as_nanos() as f64 / n as f64));
                }
            }
        }
        out
    })
}

async fn populate_local(provider: &InMemorySessionProvider, template: &SessionData) {
    for i in 0..USERS {
        provider.set_session(&user(i), template.clone(), None).await.unwrap();
    }
}
