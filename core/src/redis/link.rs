//! The provider's way to Redis: one connection per process (reopened after `fork()`), the
//! prefix's format checked once, and sending that reloads lost scripts and retries a read once
//! after a dropped connection. A write is never resent after its reply was lost.
//!
//! Under Sentinel, a request that shows the master is lost (see [`errors::node_lost`]) fails
//! as it is (a write that was refused is "unavailable", one whose reply was lost "outcome
//! unknown") and drops the connection, so the next request asks the sentinels for the master
//! again and connects to the one they name. Within [`REOPEN_PAUSE`] of a failed attempt, calls
//! fail fast with its error instead of asking again. A master demoted while still up (`SENTINEL
//! FAILOVER`) keeps accepting writes until the sentinels reconfigure it, which can take seconds:
//! so at most every [`SENTINEL_CHECK_EVERY`] while calls are made, a background task asks a
//! sentinel which node is the master, and drops the connection when it is another one.
//!
//! Durability (`wait_replicas`): a write and a `WAIT` go together as one pipelined request, on
//! one connection to one node (on a cluster, the node of the write's slot), so the `WAIT` counts
//! the replicas that have this write. Redis runs a connection's commands in order and `WAIT`
//! holds its connection until it returns, so these pairs go over connections of their own
//! ([`WAIT_LANES`], taken in turn, reopened with the main connection): reads never queue behind
//! a `WAIT`, and writes queue behind one another's only when more than that are in flight.

use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use redis::aio::ConnectionLike;
use redis::{Cmd, FromRedisValue, Value as Reply};

use super::connection::{Conn, Target};
use super::errors::{self, Access};
use super::keys::{self, Layout};
use super::options::RedisOptions;
use super::scripts;
use crate::data::now_unix_ms;
use crate::error::{Result, SessionError};
use crate::runtime::{self, fork_generation};

/// After a failed attempt to open a connection, calls fail with its error for this long
/// instead of each asking again (a master being replaced is asked for once per pause).
const REOPEN_PAUSE: Duration = Duration::from_millis(100);

/// How often (at most, and only while calls are made) a provider on Sentinel checks in the
/// background that its master is still the one the sentinels name.
const SENTINEL_CHECK_EVERY: Duration = Duration::from_secs(1);

/// The connection of one process.
struct Current {
    /// Fork generation it belongs to.
    generation: u64,
    /// Which opening of this link made it (so a request drops only the connection it used).
    id: u64,
    conn: Conn,
    /// Under Sentinel, the master's `host:port`.
    node: Option<String>,
}

/// Shared with the background check of the master (Sentinel).
type Slot = Arc<RwLock<Option<Current>>>;

pub struct Link {
    target: Target,
    options: RedisOptions,
    layout: Layout,
    /// The connection of the current process (keyed by fork generation).
    connection: Slot,
    /// Serialises opening a connection.
    opening: tokio::sync::Mutex<()>,
    opened: AtomicU64,
    /// The last failed opening, for [`REOPEN_PAUSE`].
    failed: Mutex<Option<(Instant, SessionError)>>,
    /// Sentinel: when the master was last checked, and the fork generation + 1 of a check under
    /// way (0: none; a check of the parent process does not run in a forked child).
    checked: Mutex<Instant>,
    checking: Arc<AtomicU64>,
    /// Set once the prefix's meta key has been checked against this format.
    format_checked: tokio::sync::OnceCell<()>,
    /// The server's clock minus ours, in ms, measured when a connection opens (lazy touch
    /// compares stored stamps, which are the server's, with it).
    clock_offset_ms: AtomicI64,
    /// `WAIT <replicas> <ms>` after each write, when `wait_replicas` is set.
    wait: Option<Wait>,
    /// The connections of writes followed by `WAIT`, opened on the first one, with the fork
    /// generation and the id of the main connection they were opened with (they are reopened
    /// with it, e.g. after a Sentinel failover), and the next to use.
    lanes: RwLock<Option<Lanes>>,
    next_lane: AtomicUsize,
}

/// Connections for writes followed by `WAIT`.
const WAIT_LANES: usize = 4;

/// The `WAIT` lanes: fork generation, id of the main connection they were opened with, lanes.
type Lanes = (u64, u64, Arc<[Conn]>);

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
            target: Target::new(options)?,
            options: options.clone(),
            layout: layout.clone(),
            connection: Arc::new(RwLock::new(None)),
            opening: tokio::sync::Mutex::new(()),
            opened: AtomicU64::new(0),
            failed: Mutex::new(None),
            checked: Mutex::new(Instant::now()),
            checking: Arc::new(AtomicU64::new(0)),
            format_checked: tokio::sync::OnceCell::new(),
            clock_offset_ms: AtomicI64::new(0),
            wait,
            lanes: RwLock::new(None),
            next_lane: AtomicUsize::new(0),
        })
    }

    pub async fn connection(&self) -> Result<Conn> {
        self.current().await.map(|(_, conn)| conn)
    }

    fn existing(&self, generation: u64) -> Option<(u64, Conn)> {
        match &*self.connection.read().unwrap_or_else(|p| p.into_inner()) {
            Some(c) if c.generation == generation => {
                if c.node.is_some() {
                    self.check_master(generation, c);
                }
                Some((c.id, c.conn.clone()))
            }
            _ => None,
        }
    }

    /// Sentinel: when due, checks in the background that `current`'s node is still the master
    /// the sentinels name, and drops the connection when it is not.
    fn check_master(&self, generation: u64, current: &Current) {
        let Some(sentinel) = self.target.sentinel() else { return };
        {
            let mut checked = self.checked.lock().unwrap_or_else(|p| p.into_inner());
            if checked.elapsed() < SENTINEL_CHECK_EVERY || self.checking.load(Ordering::SeqCst) == generation + 1 {
                return;
            }
            *checked = Instant::now();
        }
        self.checking.store(generation + 1, Ordering::SeqCst);
        let (sentinel, slot, checking) = (sentinel.clone(), self.connection.clone(), self.checking.clone());
        let (id, node) = (current.id, current.node.clone());
        let (connect_timeout, command_timeout) = (self.options.connect_timeout, self.options.command_timeout);
        runtime::spawn(async move {
            if let Some(named) = sentinel.named_master(connect_timeout, command_timeout).await {
                if Some(named) != node {
                    forget(&slot, generation, id);
                }
            }
            checking.store(0, Ordering::SeqCst);
        });
    }

    /// The connection of this process and its id, opened when there is none, the prefix's
    /// format checked.
    async fn current(&self) -> Result<(u64, Conn)> {
        let generation = fork_generation();
        let (id, conn) = match self.existing(generation) {
            Some(current) => current,
            None => self.open(generation).await?,
        };
        if !self.format_checked.initialized() && self.check_format(conn.clone()).await? {
            let _ = self.format_checked.set(());
        }
        Ok((id, conn))
    }

    /// A new connection for this process; one inherited across `fork()` is leaked, not dropped.
    async fn open(&self, generation: u64) -> Result<(u64, Conn)> {
        let _opening = self.opening.lock().await;
        if let Some(current) = self.existing(generation) {
            return Ok(current);
        }
        if let Some((at, error)) = &*self.failed.lock().unwrap_or_else(|p| p.into_inner()) {
            if at.elapsed() < REOPEN_PAUSE {
                return Err(error.clone());
            }
        }
        let (conn, node) = match self.target.open(self.options.connect_timeout, self.options.command_timeout).await {
            Ok(opened) => opened,
            Err(error) => {
                *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = Some((Instant::now(), error.clone()));
                return Err(error);
            }
        };
        *self.failed.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.measure_clock(conn.clone()).await;
        let id = self.opened.fetch_add(1, Ordering::Relaxed) + 1;
        let current = Current { generation, id, conn: conn.clone(), node };
        let previous = self.connection.write().unwrap_or_else(|p| p.into_inner()).replace(current);
        if let Some(previous) = previous {
            if previous.generation != generation {
                std::mem::forget(previous);
            }
        }
        Ok((id, conn))
    }

    /// Now on the server's clock, as estimated from ours.
    pub fn server_now_ms(&self) -> i64 {
        now_unix_ms() + self.clock_offset_ms.load(Ordering::Relaxed)
    }

    /// Estimates the server's clock from `TIME`, halfway through the round trip. On failure
    /// the estimate stays (ours, at first): the server re-checks every touch anyway.
    async fn measure_clock(&self, mut conn: Conn) {
        let sent = now_unix_ms();
        let Ok((secs, micros)) = redis::cmd("TIME").query_async::<(i64, i64)>(&mut conn).await else { return };
        let received = now_unix_ms();
        let server = secs * 1000 + micros / 1000;
        self.clock_offset_ms.store(server - (sent + received) / 2, Ordering::Relaxed);
    }

    /// A connection for a write followed by `WAIT`: one of [`WAIT_LANES`], in turn, and the id
    /// of the main connection they go with.
    async fn lane(&self) -> Result<(u64, Conn)> {
        let (id, _) = self.current().await?;
        let generation = fork_generation();
        let pick = |lanes: &[Conn]| lanes[self.next_lane.fetch_add(1, Ordering::Relaxed) % lanes.len()].clone();
        if let Some((g, of, lanes)) = &*self.lanes.read().unwrap_or_else(|p| p.into_inner()) {
            if (*g, *of) == (generation, id) {
                return Ok((id, pick(lanes)));
            }
        }
        let _opening = self.opening.lock().await;
        if let Some((g, of, lanes)) = &*self.lanes.read().unwrap_or_else(|p| p.into_inner()) {
            if (*g, *of) == (generation, id) {
                return Ok((id, pick(lanes)));
            }
        }
        let mut lanes = Vec::with_capacity(WAIT_LANES);
        for _ in 0..WAIT_LANES {
            let (conn, _) = self.target.open(self.options.connect_timeout, self.options.command_timeout).await?;
            lanes.push(conn);
        }
        let lanes: Arc<[Conn]> = lanes.into();
        let previous = self.lanes.write().unwrap_or_else(|p| p.into_inner()).replace((generation, id, lanes.clone()));
        if let Some((g, _, previous)) = previous {
            if g != generation {
                std::mem::forget(previous);
            }
        }
        Ok((id, pick(&lanes)))
    }

    /// Drops connection `id` if it is still this process's, so that the next request opens a
    /// new one (asking the sentinels where the master is).
    fn forget(&self, id: u64) {
        forget(&self.connection, fork_generation(), id);
    }

    /// Checks the prefix's format marker: read first, so that a replica serves reads; written
    /// only when absent. `Ok(false)`: not settled yet (no marker, and this server is a
    /// read-only replica), to be checked again by a later call.
    async fn check_format(&self, mut conn: Conn) -> Result<bool> {
        let expected = keys::meta_description();
        let meta = self.layout.meta();
        // Idempotent, and the caller's own command has not been sent: a lost reply here is
        // "unavailable", never "outcome unknown".
        let stored: Option<String> = redis::cmd("GET")
            .arg(&meta)
            .query_async(&mut conn)
            .await
            .map_err(|e| errors::map(e, Access::Read, None))?;
        let found = match stored {
            Some(found) => found,
            None => match scripts::META.key(&meta).arg(&expected).invoke_async::<String>(&mut conn).await {
                Ok(found) => found,
                Err(e) if e.code() == Some("READONLY") => return Ok(false),
                Err(e) => return Err(errors::map(e, Access::Read, None)),
            },
        };
        if found != expected {
            return Err(SessionError::CorruptData {
                user_id: String::new(),
                detail: keys::format_mismatch(self.layout.prefix(), &found),
            });
        }
        Ok(true)
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
        let (reply, acks) = {
            let (id, conn) = self.lane().await?;
            self.send_on(id, conn, Access::Write, user_id, |conn| with_wait(conn, cmd, &wait.cmd))
        }
        .await?;
        if wrote(&reply) {
            self.check_acks(wait, acks)?;
        }
        T::from_redis_value(reply).map_err(|e| errors::map(e.into(), Access::Write, user_id))
    }

    /// [`Self::query_all`] for writes, each followed by `WAIT` as in [`Self::write`]: on a single
    /// Redis one `WAIT` after the pipeline; on a cluster one after each request, on its node.
    pub async fn write_all<T: FromRedisValue>(&self, cmds: &[Cmd], wrote: impl Fn(&Reply) -> bool) -> Result<Vec<T>> {
        let Some(wait) = &self.wait else { return self.query_all(cmds, Access::Write).await };
        let (id, conn) = self.lane().await?;
        let (replies, acks) = self
            .send_on(id, conn, Access::Write, None, |mut conn| async move {
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

    /// Queues the write `cmd` on this process's connection, behind everything sent before it and
    /// ahead of everything sent after, and returns without waiting for its reply; its outcome is
    /// dropped. For a lazy touch, which must not make the read that asked for it wait (DESIGN
    /// §4.10: a failed touch never fails the read); a later request of this process on the
    /// connection sees it done, unless the server had lost the script: then it is loaded and the
    /// command resent once, behind what was queued meanwhile.
    pub async fn send_unawaited(&self, cmd: Cmd) -> Result<()> {
        let (_, mut conn) = self.current().await?;
        let mut sending = Box::pin(async move {
            let sent = cmd.query_async::<Reply>(&mut conn).await;
            if matches!(&sent, Err(e) if e.kind() == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript)) {
                for script in scripts::all() {
                    if script.load_async(&mut conn).await.is_err() {
                        return;
                    }
                }
                let _ = cmd.query_async::<Reply>(&mut conn).await;
            }
        });
        // The first poll puts the command in the connection's queue; the reply is awaited apart,
        // on the caller's runtime when there is one (waking another runtime's thread per touch
        // would cost more than the touch).
        if std::future::poll_fn(|cx| std::task::Poll::Ready(Future::poll(sending.as_mut(), cx))).await.is_pending() {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => drop(handle.spawn(sending)),
                Err(_) => drop(runtime::spawn(sending)),
            }
        }
        Ok(())
    }

    async fn send<T, F, Fut>(&self, access: Access, user_id: Option<&str>, request: F) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let (id, conn) = self.current().await?;
        self.send_on(id, conn, access, user_id, request).await
    }

    /// Sends `request` on `conn`, connection `id` or one of its lanes (see the module doc for
    /// what is retried).
    async fn send_on<T, F, Fut>(
        &self,
        mut id: u64,
        mut conn: Conn,
        access: Access,
        user_id: Option<&str>,
        request: F,
    ) -> Result<T>
    where
        F: Fn(Conn) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        crate::failpoint!(if access == Access::Read { "redis.read" } else { "redis.write" });
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
                Err(e) => {
                    let lost = self.target.follows_failover() && errors::node_lost(&e);
                    if lost {
                        self.forget(id);
                    }
                    if access == Access::Read && !retried && e.is_connection_dropped() {
                        retried = true;
                        if lost {
                            (id, conn) = self.current().await?;
                        }
                        continue;
                    }
                    return Err(errors::map(e, access, user_id));
                }
            }
        }
    }
}

/// Empties `slot` if it still holds connection `id` of fork generation `generation`.
fn forget(slot: &Slot, generation: u64, id: u64) {
    let mut current = slot.write().unwrap_or_else(|p| p.into_inner());
    if current.as_ref().is_some_and(|c| c.generation == generation && c.id == id) {
        *current = None;
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
