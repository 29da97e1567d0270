//! The provider's way to Redis: one connection per process (reopened after `fork()`), the
//! prefix's format checked once, and sending that reloads lost scripts and retries a read once
//! after a dropped connection. A write is never resent after its reply was lost.

use std::sync::RwLock;

use redis::{Cmd, FromRedisValue};

use super::connection::{Conn, Target};
use super::errors::{self, Access};
use super::keys::{self, Layout};
use super::options::RedisOptions;
use super::scripts;
use crate::error::{Result, SessionError};
use crate::runtime::fork_generation;

pub struct Link {
    target: Target,
    options: RedisOptions,
    layout: Layout,
    /// The connection of the current process (keyed by fork generation).
    connection: RwLock<Option<(u64, Conn)>>,
    /// Serialises opening a connection.
    opening: tokio::sync::Mutex<()>,
    /// Set once the prefix's meta key has been checked against this format.
    format_checked: tokio::sync::OnceCell<()>,
}

impl Link {
    pub fn new(options: &RedisOptions, layout: &Layout) -> Result<Self> {
        Ok(Link {
            target: Target::new(options)?,
            options: options.clone(),
            layout: layout.clone(),
            connection: RwLock::new(None),
            opening: tokio::sync::Mutex::new(()),
            format_checked: tokio::sync::OnceCell::new(),
        })
    }

    pub async fn connection(&self) -> Result<Conn> {
        let generation = fork_generation();
        let current = match &*self.connection.read().unwrap_or_else(|p| p.into_inner()) {
            Some((g, conn)) if *g == generation => Some(conn.clone()),
            _ => None,
        };
        let conn = match current {
            Some(conn) => conn,
            None => self.open(generation).await?,
        };
        if !self.format_checked.initialized() {
            self.format_checked.get_or_try_init(|| self.check_format(conn.clone())).await?;
        }
        Ok(conn)
    }

    /// A new connection for this process; one inherited across `fork()` is leaked, not dropped.
    async fn open(&self, generation: u64) -> Result<Conn> {
        let _opening = self.opening.lock().await;
        if let Some((g, conn)) = &*self.connection.read().unwrap_or_else(|p| p.into_inner()) {
            if *g == generation {
                return Ok(conn.clone());
            }
        }
        let conn = self
            .target
            .open(self.options.connect_timeout, self.options.command_timeout)
            .await
            .map_err(|e| errors::map(e, Access::Read, None))?;
        let inherited = self.connection.write().unwrap_or_else(|p| p.into_inner()).replace((generation, conn.clone()));
        if let Some(inherited) = inherited {
            std::mem::forget(inherited);
        }
        Ok(conn)
    }

    async fn check_format(&self, mut conn: Conn) -> Result<()> {
        let expected = keys::meta_description();
        let found: String = scripts::META
            .key(self.layout.meta())
            .arg(&expected)
            .invoke_async(&mut conn)
            .await
            // Idempotent (it only sets the marker when absent), and the caller's own command has
            // not been sent: a lost reply here is "unavailable", never "outcome unknown".
            .map_err(|e| errors::map(e, Access::Read, None))?;
        if found != expected {
            return Err(SessionError::CorruptData {
                user_id: String::new(),
                detail: keys::format_mismatch(self.layout.prefix(), &found),
            });
        }
        Ok(())
    }

    /// Sends `cmd` (see the module doc for what is retried).
    pub async fn query<T: FromRedisValue>(&self, cmd: &Cmd, access: Access, user_id: Option<&str>) -> Result<T> {
        self.send(access, user_id, |mut conn| async move { cmd.query_async::<T>(&mut conn).await }).await
    }

    /// Sends `cmds` in one round trip: a pipeline on a single Redis; on a cluster, concurrent
    /// requests, each routed to the node of its slot.
    pub async fn query_all<T: FromRedisValue>(&self, cmds: &[Cmd], access: Access) -> Result<Vec<T>> {
        self.send(access, None, |mut conn| async move {
            match &conn {
                Conn::Single(_) => {
                    let mut pipe = redis::pipe();
                    for cmd in cmds {
                        pipe.add_command(cmd.clone());
                    }
                    pipe.query_async::<Vec<T>>(&mut conn).await
                }
                Conn::Cluster(_) => {
                    let requests = cmds.iter().map(|cmd| {
                        let mut conn = conn.clone();
                        async move { cmd.query_async::<T>(&mut conn).await }
                    });
                    futures_util::future::try_join_all(requests).await
                }
            }
        })
        .await
    }

    async fn send<T, F, Fut>(&self, access: Access, user_id: Option<&str>, request: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut conn = self.connection().await?;
        let (mut reloaded, mut retried) = (false, false);
        loop {
            match request(conn.clone()).await {
                Ok(reply) => return Ok(reply),
                Err(e) if !reloaded && e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) => {
                    reloaded = true;
                    for script in scripts::all() {
                        script.load_async(&mut conn).await.map_err(|e| errors::map(e, Access::Read, user_id))?;
                    }
                }
                Err(e) if access == Access::Read && !retried && e.is_connection_dropped() => retried = true,
                Err(e) => return Err(errors::map(e, access, user_id)),
            }
        }
    }
}
