//! fork() in a process that used the library: the child builds its own runtime and connection,
//! the parent is unaffected. Its own test binary, so no other test's threads hold locks at the
//! moment of the fork (as in a pre-forking server, which forks while idle).

mod support;

use poto_sessions::runtime::block_on;
use poto_sessions::{RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use serde_json::json;
use support::RedisServer;

fn obj(value: serde_json::Value) -> SessionData {
    value.as_object().unwrap().clone()
}

#[test]
fn forked_child_reconnects_and_parent_is_unaffected() {
    let server = RedisServer::start();
    let p = RedisSessionProvider::new(RedisOptions::new().url(server.url()).prefix("fork:")).unwrap();
    block_on(p.set_session("parent", obj(json!({"n": 1})), None)).unwrap().unwrap();
    // SAFETY: the child only uses this library and leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = block_on(async {
            p.set_session("child", obj(json!({"n": 2})), None).await?;
            p.get_session("parent").await
        });
        let code = match ok {
            Ok(Ok(Some(data))) if data["n"] == 1 => 0,
            _ => 1,
        };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed: {status}");
    let child = block_on(p.get_session("child")).unwrap().unwrap().unwrap();
    assert_eq!(child["n"], 2);
}
