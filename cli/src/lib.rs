//! `poto-sessions-admin`: inspect and maintain the sessions a prefix holds in Redis, for
//! operators (text) and scripts (`--json`). Every command goes through the same provider the
//! servers use, so it reads and writes the same format with the same rules; `migrate` converts
//! a prefix of the previous format (core's `redis::migrate`).
//!
//! The library holds the whole tool: the binary and the Python package's `poto-sessions-admin`
//! console script (through `_native._admin_main`) both call [`main_with_args`].
//!
//! Exit status: 0 done; 1 Redis unavailable or data unreadable; 2 bad arguments or no such session.

use std::time::Duration;

use clap::{Parser, Subcommand};
use poto_sessions::{RedisOptions, RedisSessionProvider, SessionProvider};
use serde_json::{json, Value};

#[derive(Parser)]
#[command(version, about = "Inspect and maintain poto-sessions stores in Redis")]
struct Cli {
    /// Redis URL (redis://, rediss://; user:password@ accepted).
    #[arg(long, env = "REDIS_URL", default_value = poto_sessions::redis::DEFAULT_URL, hide_env_values = true)]
    url: String,
    /// Key prefix of the store.
    #[arg(long, default_value = poto_sessions::redis::DEFAULT_PREFIX)]
    prefix: String,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for Redis.
    #[arg(long, default_value_t = 5.0)]
    timeout: f64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Number of live sessions (cheap at any scale).
    Count,
    /// Live session count and user ids.
    Stats,
    /// User ids of the live sessions, one per line.
    List,
    /// One user's session.
    Get { user_id: String },
    /// Delete one user's session.
    Delete { user_id: String },
    /// Remove sessions idle for longer than the given number of seconds.
    Cleanup {
        #[arg(long)]
        max_age: f64,
    },
    /// Convert a format-1 prefix to format 2: in place (stop every format-1 client first), or
    /// with --to into a new prefix while format-1 clients keep serving this one (blue/green; run
    /// it again to copy what changed since). Resumable: an interrupted run is finished by
    /// running it again. See docs/operations.md, "Upgrading the stored format".
    Migrate {
        /// Copy into this prefix instead of converting in place.
        #[arg(long)]
        to: Option<String>,
    },
}

/// Runs the tool on `args` (the program name first) and returns its exit status.
pub fn main_with_args<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // --help and --version land here too, with exit code 0.
            let _ = error.print();
            return error.exit_code() as u8;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(run(&cli)) {
        Ok(()) => 0,
        Err(error) => {
            if cli.json {
                println!("{}", json!({"error": error.to_string(), "code": error.kind().code()}));
            } else {
                eprintln!("error: {error}");
            }
            match error.kind() {
                poto_sessions::ErrorKind::InvalidArgument => 2,
                _ => 1,
            }
        }
    }
}

fn seconds(value: f64, what: &str) -> poto_sessions::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| poto_sessions::SessionError::InvalidArgument(format!("{what} must be a number of seconds >= 0")))
}

async fn run(cli: &Cli) -> poto_sessions::Result<()> {
    let timeout = seconds(cli.timeout, "--timeout")?;
    let options = RedisOptions::new()
        .url(cli.url.clone())
        .prefix(cli.prefix.clone())
        .connect_timeout(timeout)
        .command_timeout(timeout.max(Duration::from_secs(30)));
    if let Command::Migrate { to } = &cli.command {
        use poto_sessions::redis::migrate::{migrate, Mode};
        let mode = match to {
            Some(prefix) => Mode::Into(prefix.clone()),
            None => Mode::InPlace,
        };
        let r = migrate(&options, &mode).await?;
        let value = json!({
            "converted": r.converted, "copied": r.copied, "current": r.current, "kept": r.kept,
            "gone": r.gone, "deleted": r.deleted, "unreadable": r.unreadable, "unreadableIds": r.unreadable_ids,
        });
        if cli.json {
            println!("{value}");
        } else {
            println!(
                "converted {}, copied {}, already current {}, kept (newer in the target) {}, gone {}, deleted {}, unreadable {}",
                r.converted, r.copied, r.current, r.kept, r.gone, r.deleted, r.unreadable
            );
            for id in &r.unreadable_ids {
                println!("unreadable: {id:?}");
            }
        }
        return Ok(());
    }
    let store = RedisSessionProvider::connect(options).await?;
    let output = match &cli.command {
        Command::Migrate { .. } => unreachable!("handled above"),
        Command::Count => {
            let n = store.count().await?;
            (json!({"activeSessions": n}), n.to_string())
        }
        Command::Stats => {
            let stats = store.get_stats().await?;
            let text = format!("active sessions: {}", stats.active_sessions);
            (json!({"activeSessions": stats.active_sessions, "userIds": stats.user_ids}), text)
        }
        Command::List => {
            let ids = store.get_active_sessions().await?;
            let text = ids.join("\n");
            (json!(ids), text)
        }
        Command::Get { user_id } => match store.get_session(user_id).await? {
            Some(session) => {
                let value = Value::Object(session);
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                (value, text)
            }
            None => {
                return Err(poto_sessions::SessionError::InvalidArgument(format!("no session for user {user_id:?}")))
            }
        },
        Command::Delete { user_id } => {
            let existed = store.has_session(user_id).await?;
            store.delete_session(user_id).await?;
            let text = if existed {
                format!("deleted the session of {user_id:?}")
            } else {
                format!("no session for {user_id:?}")
            };
            (json!({"deleted": existed}), text)
        }
        Command::Cleanup { max_age } => {
            let removed = store.cleanup_old_sessions(seconds(*max_age, "--max-age")?).await?;
            (json!({"removed": removed}), format!("removed {removed} session(s) idle for more than {max_age} s"))
        }
    };
    if cli.json {
        println!("{}", output.0);
    } else if !output.1.is_empty() {
        println!("{}", output.1);
    }
    Ok(())
}
