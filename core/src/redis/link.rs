//! The provider's way to Redis: one connection per process (reopened after `fork()`), the
//! prefix's format checked once, and sending that reloads lost scripts and retries a read once
//! after a dropped connection. A write is never resent after its reply was lost.
//!
//! Durability (`wait_replicas`): a write and a `WAIT` go together as one pipelined request, on
//! one connection to one node (on a cluster, the node of the write's slot), so the `WAIT` counts
//! the replicas that have this write. Redis runs a connection's commands in order and `WAIT`
//! holds its connection until it returns, so these pairs go over connections of their own
//! ([`WAIT_LANES`], taken in turn): reads never queue behind a `WAIT`, and writes queue behind
//! one another's only when more than that are in flight.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use redis::aio::ConnectionLike;
use redis::{Cmd, FromRedisValue, Value as Reply};

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
    /// `WAIT <replicas> <ms>` after each write, when `wait_replicas` is set.
    wait: Option<Wait>,
    /// The connections of writes followed by `WAIT`, opened on the first one (keyed by fork
    /// generation, as `connection`), and the next to use.
    lanes: RwLock<Option<(u64, Arc<[Conn]>)>>,
    next_lane: AtomicUsize,
}

/// Connections for writes followed by `WAIT`.
const WAIT_LANES: usize = 4;

struct Wait {
    replicas: usize,
    timeout: Duration,
    cmd: Cmd,
}

impl Link {
    pub fn new(options: &RedisOptions, layout: &Layout) -> Result<Self> {
        let wait = match options.wait_replicas {
            0 => None,
            replicas => {
                // The write and its WAIT share one reply, bounded by command_timeout.
                if options.wait_timeout > options.command_timeout {
                    return Err(SessionError::InvalidArgument(format!(
                        "wait_timeout ({:?}) must not exceed command_timeout ({:?}), which bounds a write and its WAIT",
                        options.wait_timeout, options.command_timeout
                    )));
                }
                // WAIT 0 would block forever: at least 1 ms.
                let ms = options.wait_timeout.as_millis().clamp(1, u64::MAX as u128) as u64;
                let cmd = redis::cmd("WAIT").arg(replicas).arg(ms).to_owned();
                Some(Wait { replicas, timeout: options.wait_timeout, cmd })
            }
        };
        Ok(Link {
            wait,
            lanes: RwLock::new(None),
            next_lane: AtomicUsize::new(0),
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

    /// A connection for a write followed by `WAIT`: one of [`WAIT_LANES`], in turn.
    async fn lane(&self) -> Result<Conn> {
        self.connection().await?;
        let generation = fork_generation();
        let pick = |lanes: &[Conn]| lanes[self.next_lane.fetch_add(1, Ordering::Relaxed) % lanes.len()].clone();
        if let Some((g, lanes)) = &*self.lanes.read().unwrap_or_else(|p| p.into_inner()) {
            if *g == generation {
                return Ok(pick(lanes));
            }
        }
        let _opening = self.opening.lock().await;
        if let Some((g, lanes)) = &*self.lanes.read().unwrap_or_else(|p| p.into_inner()) {
            if *g == generation {
                return Ok(pick(lanes));
            }
        }
        let mut lanes = Vec::with_capacity(WAIT_LANES);
        for _ in 0..WAIT_LANES {
            let conn = self.target.open(self.options.connect_timeout, self.options.command_timeout).await;
            lanes.push(conn.map_err(|e| errors::map(e, Access::Read, None))?);
        }
        let lanes: Arc<[Conn]> = lanes.into();
        let inherited = self.lanes.write().unwrap_or_else(|p| p.into_inner()).replace((generation, lanes.clone()));
        if let Some(inherited) = inherited {
            std::mem::forget(inherited);
        }
        Ok(pick(&lanes))
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
                detail: format!(
                    "prefix {:?} holds sessions of another format ({found:?}); this client writes {expected:?}",
                    self.layout.prefix()
                ),
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

    /// Sends the write `cmd`, followed by `WAIT` when `wait_replicas` is set. When `wrote` says
    /// the reply is of a request that changed data (not a compare-and-set that found another
    /// version, say) and fewer replicas than asked acknowledged it, the answer is "outcome
    /// unknown": the master ran it, a failover may lose it.
    pub async fn write<T: FromRedisValue>(
        &self,
        cmd: &Cmd,
        user_id: Option<&str>,
        wrote: impl Fn(&Reply) -> bool,
    ) -> Result<T> {
        let Some(wait) = &self.wait else { return self.query(cmd, Access::Write, user_id).await };
        let (reply, acks) =
            self.send_on(self.lane().await?, Access::Write, user_id, |conn| with_wait(conn, cmd, &wait.cmd)).await?;
        if wrote(&reply) {
            self.check_acks(wait, acks)?;
        }
        T::from_redis_value(reply).map_err(|e| errors::map(e.into(), Access::Write, user_id))
    }

    /// [`Self::query_all`] for writes, each followed by `WAIT` as in [`Self::write`]: on a single
    /// Redis one `WAIT` after the pipeline; on a cluster one after each request, on its node.
    pub async fn write_all<T: FromRedisValue>(&self, cmds: &[Cmd], wrote: impl Fn(&Reply) -> bool) -> Result<Vec<T>> {
        let Some(wait) = &self.wait else { return self.query_all(cmds, Access::Write).await };
        let (replies, acks) = self
            .send_on(self.lane().await?, Access::Write, None, |mut conn| async move {
                match &conn {
                    Conn::Single(_) => {
                        let mut pipe = redis::pipe();
                        for cmd in cmds {
                            pipe.add_command(cmd.clone());
                        }
                        pipe.add_command(wait.cmd.clone());
                        let mut replies = conn.req_packed_commands(&pipe, 0, cmds.len() + 1).await?;
                        let acks = replies.pop().unwrap_or(Reply::Nil);
                        let replies =
                            replies.into_iter().map(Reply::extract_error).collect::<redis::RedisResult<Vec<_>>>()?;
                        Ok((replies, vec![acks]))
                    }
                    Conn::Cluster(_) => {
                        let requests = cmds.iter().map(|cmd| with_wait(conn.clone(), cmd, &wait.cmd));
                        let pairs = futures_util::future::try_join_all(requests).await?;
                        Ok(pairs.into_iter().unzip())
                    }
                }
            })
            .await?;
        let changed = replies.iter().any(&wrote);
        if changed {
            for acks in acks {
                self.check_acks(wait, acks)?;
            }
        }
        replies
            .into_iter()
            .map(|reply| T::from_redis_value(reply).map_err(|e| errors::map(e.into(), Access::Write, None)))
            .collect()
    }

    /// The reply of a write's `WAIT`: enough replicas, or "outcome unknown".
    fn check_acks(&self, wait: &Wait, acks: Reply) -> Result<()> {
        let shortfall = |detail: String| {
            SessionError::OutcomeUnknown(format!(
                "redis ran the write but {detail}, it may be lost if the master fails (wait_replicas = {})",
                wait.replicas
            ))
        };
        match acks {
            Reply::Int(n) if n >= 0 && n as usize >= wait.replicas => Ok(()),
            Reply::Int(n) => Err(shortfall(format!(
                "only {n} of {} replicas acknowledged it within {:?}",
                wait.replicas, wait.timeout
            ))),
            Reply::ServerError(e) => Err(shortfall(format!("WAIT failed ({e})"))),
            other => Err(shortfall(format!("WAIT answered {other:?}"))),
        }
    }

    async fn send<T, F, Fut>(&self, access: Access, user_id: Option<&str>, request: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        self.send_on(self.connection().await?, access, user_id, request).await
    }

    async fn send_on<T, F, Fut>(&self, mut conn: Conn, access: Access, user_id: Option<&str>, request: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
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

/// `cmd` and then `wait`, pipelined on `conn`: the write's reply and the `WAIT`'s. A refused write
/// (NOSCRIPT, a redirect) is the request's error; the `WAIT`'s reply counts only once the write
/// ran.
async fn with_wait(mut conn: Conn, cmd: &Cmd, wait: &Cmd) -> redis::RedisResult<(Reply, Reply)> {
    let mut pipe = redis::pipe();
    pipe.add_command(cmd.clone()).add_command(wait.clone());
    let mut replies = conn.req_packed_commands(&pipe, 0, 2).await?.into_iter();
    let reply = replies.next().unwrap_or(Reply::Nil).extract_error()?;
    Ok((reply, replies.next().unwrap_or(Reply::Nil)))
}
