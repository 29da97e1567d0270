//! The seed's "cross-instance consistency" flow: a user's model choice made through one server
//! instance is read through another.
//!
//! In-memory by default (both instances in this process share the default provider); with
//! `REDIS_URL` set, each instance gets its own Redis connection, as two servers would.
//!
//!     cargo run -p poto-sessions --example cross_instance
//!     REDIS_URL=redis://127.0.0.1:6379 cargo run -p poto-sessions --example cross_instance

use std::sync::Arc;
use std::time::Duration;

use poto_sessions::{with_user, LLMPotoModule, RedisOptions, RedisSessionProvider};
use serde_json::json;

async fn server_instance() -> poto_sessions::Result<LLMPotoModule> {
    let module = LLMPotoModule::new();
    Ok(match std::env::var("REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let options = RedisOptions::new().url(url).prefix("poto-demo:");
            module.with_provider(Arc::new(RedisSessionProvider::connect(options).await?))
        }
        // No configuration needed: the global in-memory provider is the default.
        _ => module,
    })
}

#[tokio::main]
async fn main() -> poto_sessions::Result<()> {
    let backend = if std::env::var("REDIS_URL").is_ok_and(|u| !u.is_empty()) { "Redis" } else { "in-memory" };
    println!("poto-sessions demo ({backend} sessions)");
    let server1 = server_instance().await?;
    let server2 = server_instance().await?;

    with_user("alice", async {
        let session = server1.get_user_session().await?;
        println!("server 1: new session of {} uses model {}", session["userId"], session["currentModelName"]);

        server1.update_user_model("llm2").await?;
        println!("server 1: alice switched to llm2");
        println!("server 2: alice's model is {}", server2.get_user_model().await?);

        server2
            .update_user_session(|session| {
                session.insert("messagesSent".into(), json!(1));
                Ok(())
            })
            .await?;
        let session = server1.get_user_session().await?;
        println!("server 1: alice's session as server 2 left it: {}", serde_json::Value::Object(session));

        let stats = server1.get_session_stats().await?;
        println!("stats: {} active session(s): {:?}", stats.active_sessions, stats.user_ids);
        let removed = server1.provider().cleanup_old_sessions(Duration::from_secs(24 * 60 * 60)).await?;
        println!("cleanup of sessions idle for 24 h removed {removed}");
        server1.delete_user_session().await
    })
    .await?;
    Ok(())
}
