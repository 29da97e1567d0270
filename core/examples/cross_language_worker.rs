//! One server instance of the cross-language test (tests/cross_language): the same commands as
//! the C, Python and Node workers, on the Redis of `REDIS_URL` under `POTO_PREFIX`.
//!
//!     cross_language_worker set-model USER MODEL | get-model USER | set-value USER KEY JSON |
//!                           get-value USER KEY | increment USER N

use std::sync::Arc;

use poto_sessions::{LLMPotoModule, RedisOptions, RedisSessionProvider};
use serde_json::{json, Value};

#[tokio::main(flavor = "current_thread")]
async fn main() -> poto_sessions::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let prefix = std::env::var("POTO_PREFIX").unwrap_or_else(|_| "poto:".into());
    let provider = RedisSessionProvider::connect(RedisOptions::new().prefix(prefix)).await?;
    let llm = LLMPotoModule::new().with_provider(Arc::new(provider));
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "set-model" => llm.update_user_model_for(arg(1), arg(2)).await?,
        "get-model" => println!("{}", llm.get_user_model_for(arg(1)).await?),
        "set-value" => {
            let value: Value = serde_json::from_str(arg(3)).expect("JSON value");
            llm.set_session_value_for(arg(1), arg(2), value).await?
        }
        "get-value" => println!("{}", llm.get_session_value_for(arg(1), arg(2)).await?.unwrap_or(Value::Null)),
        "increment" => {
            for _ in 0..arg(2).parse::<u32>().expect("count") {
                llm.update_user_session_for(arg(1), |session| {
                    let n = session.get("n").and_then(Value::as_u64).unwrap_or(0);
                    session.insert("n".into(), json!(n + 1));
                    Ok(())
                })
                .await?;
            }
        }
        other => panic!("unknown command {other:?}"),
    }
    Ok(())
}
