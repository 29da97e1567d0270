//! The admin tool against a private redis-server, as an operator and a script would run it.

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::process::Command;

use support::RedisServer;

fn admin(server: &RedisServer, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_poto-sessions-admin"))
        .args(["--url", &server.url(), "--prefix", "adm:"])
        .args(args)
        .env_remove("REDIS_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn stats_list_get_delete_cleanup() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use poto_sessions::{PotoModule, RedisOptions, RedisSessionProvider};
        let p = RedisSessionProvider::connect(RedisOptions::new().url(server.url()).prefix("adm:")).await.unwrap();
        let module = PotoModule::new().with_provider(std::sync::Arc::new(p));
        for user in ["alice", "bob", "c*{x}"] {
            module.set_session_value_for(user, "theme", "dark").await.unwrap();
        }
    });

    assert_eq!(admin(&server, &["count"]).1.trim(), "3");
    let (code, stats, _) = admin(&server, &["--json", "stats"]);
    assert_eq!(code, 0);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["activeSessions"], 3);
    let mut ids: Vec<String> = admin(&server, &["list"]).1.lines().map(str::to_owned).collect();
    ids.sort();
    assert_eq!(ids, ["alice", "bob", "c*{x}"]);

    let (code, session, _) = admin(&server, &["--json", "get", "c*{x}"]);
    assert_eq!(code, 0);
    let session: serde_json::Value = serde_json::from_str(&session).unwrap();
    assert_eq!(session["theme"], "dark");
    assert_eq!(session["userId"], "c*{x}");

    let (code, _, err) = admin(&server, &["get", "nobody"]);
    assert_eq!(code, 2);
    assert!(err.contains("no session"), "{err}");

    assert!(admin(&server, &["delete", "bob"]).1.contains("deleted"));
    assert_eq!(admin(&server, &["--json", "delete", "bob"]).1.trim(), r#"{"deleted":false}"#);
    assert_eq!(admin(&server, &["--json", "cleanup", "--max-age", "3600"]).1.trim(), r#"{"removed":0}"#);
    assert_eq!(admin(&server, &["--json", "cleanup", "--max-age", "0"]).1.trim(), r#"{"removed":2}"#);
    assert_eq!(admin(&server, &["count"]).1.trim(), "0");
}

#[test]
fn unreachable_redis_is_a_clear_error_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = Command::new(env!("CARGO_BIN_EXE_poto-sessions-admin"))
        .args(["--url", &format!("redis://:s3cret@127.0.0.1:{port}"), "--timeout", "1", "--json", "count"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("POTO_UNAVAILABLE"), "{stdout}");
    assert!(!stdout.contains("s3cret"));
}
