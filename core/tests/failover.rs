//! Failover, measured: which acknowledged writes survive a master's crash, with and without the
//! durability knob (`wait_replicas`), on a master + replica and on a 3-master cluster with one
//! replica each. Real servers on free loopback ports; figures are printed (run with
//! `-- --nocapture`), never asserted against a clock. docs/operations.md quotes them.

mod support;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use poto_sessions::{ErrorKind, PotoModule, RedisOptions, RedisSessionProvider, Result, SessionData, SessionProvider};
use serde_json::{json, Value};
use support::{RedisCluster, RedisServer};

/// Reply (and connect) timeout of the providers under test.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(1000);
/// How long a write's WAIT waits for its replica.
const WAIT_TIMEOUT: Duration = Duration::from_millis(200);
/// A call slower than this has hung: a hang detector, not a performance check.
const HANG: Duration = Duration::from_secs(10);
/// Generous bound for each stage (a slow machine must not fail the test).
const STAGE: Duration = Duration::from_secs(60);

fn options(url: String, prefix: &str, wait: bool) -> RedisOptions {
    RedisOptions::new()
        .url(url)
        .prefix(prefix)
        .connect_timeout(COMMAND_TIMEOUT)
        .command_timeout(COMMAND_TIMEOUT)
        .wait_replicas(usize::from(wait))
        .wait_timeout(WAIT_TIMEOUT)
}

fn mode(wait: bool) -> &'static str {
    if wait {
        "wait_replicas=1"
    } else {
        "wait_replicas=0"
    }
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + STAGE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The answer of a read made after the run, once the cluster settles: on a loaded machine a
/// node may still flap its cluster state (`CLUSTERDOWN`, answered Unavailable) for a moment
/// after the failover; that is availability, which the run measured, not the data checked here.
async fn settled<T>(what: &str, read: impl AsyncFn() -> Result<T>) -> T {
    let deadline = Instant::now() + STAGE;
    loop {
        match read().await {
            Ok(value) => return value,
            Err(e) if e.kind() == ErrorKind::Unavailable && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Answers by kind, and the slowest call.
#[derive(Default)]
struct Tally {
    ok: AtomicUsize,
    unknown: AtomicUsize,
    unavailable: AtomicUsize,
    conflict: AtomicUsize,
    slowest_ms: AtomicU64,
}

impl Tally {
    /// Runs `call` under the hang detector; only Unavailable and OutcomeUnknown may fail it
    /// (and Conflict, counted, so the check on it below can report it).
    async fn call<T>(&self, what: &str, call: impl Future<Output = Result<T>>) -> Result<T> {
        let started = Instant::now();
        let result = tokio::time::timeout(HANG, call).await.unwrap_or_else(|_| panic!("{what} hung"));
        self.slowest_ms.fetch_max(started.elapsed().as_millis() as u64, Ordering::SeqCst);
        let counter = match &result {
            Ok(_) => &self.ok,
            Err(e) => match e.kind() {
                ErrorKind::OutcomeUnknown => &self.unknown,
                ErrorKind::Unavailable => &self.unavailable,
                ErrorKind::Conflict => &self.conflict,
                _ => panic!("{what}: unexpected error {e}"),
            },
        };
        counter.fetch_add(1, Ordering::SeqCst);
        result
    }

    fn answered(&self) -> usize {
        self.ok.load(Ordering::SeqCst)
            + self.unknown.load(Ordering::SeqCst)
            + self.unavailable.load(Ordering::SeqCst)
            + self.conflict.load(Ordering::SeqCst)
    }

    fn report(&self) -> String {
        format!(
            "ok {}, OutcomeUnknown {}, Unavailable {}, Conflict {}, slowest call {} ms",
            self.ok.load(Ordering::SeqCst),
            self.unknown.load(Ordering::SeqCst),
            self.unavailable.load(Ordering::SeqCst),
            self.conflict.load(Ordering::SeqCst),
            self.slowest_ms.load(Ordering::SeqCst),
        )
    }
}

/// What became of each write, by the answer it got.
#[derive(Default)]
struct Answers<K> {
    acked: Mutex<Vec<K>>,
    unknown: Mutex<Vec<K>>,
    refused: Mutex<Vec<K>>,
}

impl<K> Answers<K> {
    fn record<T>(&self, key: K, result: &Result<T>) {
        let list = match result {
            Ok(_) => &self.acked,
            Err(e) if e.kind() == ErrorKind::OutcomeUnknown => &self.unknown,
            Err(_) => &self.refused,
        };
        list.lock().unwrap().push(key);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

/// Sequential whole writes of a ~500-byte session, wait off and on alternately, on a healthy
/// master with one replica: the latency cost of WAIT, printed.
async fn measure_wait_cost(master: &RedisServer) {
    let off = RedisSessionProvider::connect(options(master.url(), "cost:", false)).await.unwrap();
    let on = RedisSessionProvider::connect(options(master.url(), "cost:", true)).await.unwrap();
    let mut data = SessionData::new();
    data.insert("blob".into(), json!("x".repeat(450)));
    let (mut off_times, mut on_times) = (Vec::new(), Vec::new());
    for i in 0..600 {
        for (provider, times) in [(&off, &mut off_times), (&on, &mut on_times)] {
            let started = Instant::now();
            provider.set_session(&format!("c{i}"), data.clone(), None).await.unwrap();
            if i >= 100 {
                times.push(started.elapsed());
            }
        }
    }
    off_times.sort();
    on_times.sort();
    println!(
        "write latency, master + 1 replica on loopback (500 sequential writes each): \
         wait off p50 {:.0} µs p99 {:.0} µs; wait on p50 {:.0} µs p99 {:.0} µs",
        percentile(&off_times, 0.5),
        percentile(&off_times, 0.99),
        percentile(&on_times, 0.5),
        percentile(&on_times, 0.99),
    );
    // Concurrent writers through one provider: WAIT blocks the connection it runs on until it
    // returns, so writes (and reads) sharing that connection queue behind it.
    for (name, provider) in [("off", &off), ("on", &on)] {
        let started = Instant::now();
        let writes = (0..16).map(|w| {
            let data = data.clone();
            async move {
                for i in 0..100 {
                    provider.set_session(&format!("t{w}-{i}"), data.clone(), None).await.unwrap();
                }
            }
        });
        futures_util::future::join_all(writes).await;
        println!("16 concurrent writers, wait {name}: {:.0} writes/s", 1600.0 / started.elapsed().as_secs_f64());
    }
    off.clear().await.unwrap();
}

/// A master and its replica under a load of distinct whole writes. The replication link breaks
/// first (the replica is frozen with SIGSTOP and the master drops it with `CLIENT KILL TYPE
/// replica`, as a partition would), the load goes on for 100 answers, then the master is
/// killed (SIGKILL), the replica resumes, drains what reached it and is promoted (`REPLICAOF NO
/// ONE`) and the load moves to it. Returns the acknowledged writes the new master lacks.
async fn single_master_failover(wait: bool) -> usize {
    let mut master = RedisServer::start();
    let replica = RedisServer::start_replica_of(&master);
    if wait {
        measure_wait_cost(&master).await;
    }
    let connect = |server: &RedisServer| RedisSessionProvider::connect(options(server.url(), "fo:", wait));
    let target = Arc::new(RwLock::new(Arc::new(connect(&master).await.unwrap())));
    let tally = Arc::new(Tally::default());
    let answers = Arc::new(Answers::<String>::default());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (target, tally, answers, stop) = (target.clone(), tally.clone(), answers.clone(), stop.clone());
            tokio::spawn(async move {
                let mut data = SessionData::new();
                data.insert("blob".into(), json!("x".repeat(200)));
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let id = format!("w{w}-{i}");
                    let provider = target.read().unwrap().clone();
                    let result = tally.call("set_session", provider.set_session(&id, data.clone(), None)).await;
                    answers.record(id, &result);
                    if result.is_err() {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            })
        })
        .collect();

    wait_until("200 writes answered", || tally.answered() >= 200).await;
    replica.signal(libc::SIGSTOP);
    assert!(master.cli(&["CLIENT", "KILL", "TYPE", "replica"]).trim().parse::<u32>().unwrap() >= 1);
    let at = tally.answered();
    wait_until("100 more writes answered", || tally.answered() >= at + 100).await;
    master.stop(libc::SIGKILL);
    let killed = Instant::now();
    replica.signal(libc::SIGCONT);
    // Down once it has read all the old master sent before it died.
    wait_until("the replica lost its master", || replica.info("replication").contains("master_link_status:down")).await;
    assert_eq!(replica.cli(&["REPLICAOF", "NO", "ONE"]).trim(), "OK");
    // A replica for the new master, so that writes with WAIT succeed there too.
    let replica2 = RedisServer::start_replica_of(&replica);
    *target.write().unwrap() = Arc::new(connect(&replica).await.unwrap());
    let promoted = killed.elapsed();
    let acked_before = tally.ok.load(Ordering::SeqCst);
    wait_until("100 writes acknowledged by the new master", || tally.ok.load(Ordering::SeqCst) >= acked_before + 100)
        .await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await.unwrap();
    }

    let new_master = connect(&replica).await.unwrap();
    let mut lost = 0;
    let acked = answers.acked.lock().unwrap().clone();
    for id in &acked {
        if !new_master.has_session(id).await.unwrap() {
            lost += 1;
        }
    }
    let refused = answers.refused.lock().unwrap().clone();
    for id in &refused {
        assert!(!new_master.has_session(id).await.unwrap(), "write {id} answered Unavailable was applied");
    }
    let unknown_applied = {
        let unknown = answers.unknown.lock().unwrap().clone();
        let mut applied = 0;
        for id in &unknown {
            applied += usize::from(new_master.has_session(id).await.unwrap());
        }
        format!("{applied} of {}", unknown.len())
    };
    println!(
        "single master, {}: {} acknowledged writes, {lost} lost; OutcomeUnknown writes applied: {unknown_applied}; \
         calls: {}; kill to promotion and repoint: {} ms",
        mode(wait),
        answers.acked.lock().unwrap().len(),
        tally.report(),
        promoted.as_millis(),
    );
    drop(replica2);
    lost
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_master_failover_loses_acknowledged_writes_only_without_wait() {
    let lost_without = single_master_failover(false).await;
    let lost_with = single_master_failover(true).await;
    // The writes acknowledged while the link was broken exist only on the killed master.
    assert!(lost_without > 0, "the broken link should have cost acknowledged writes without WAIT");
    assert_eq!(lost_with, 0, "with wait_replicas = 1 no acknowledged write may be lost");
}

/// `port` of the master owning each slot, from `CLUSTER NODES` as `node` sees it.
fn slot_owners(node: &RedisServer) -> HashMap<u16, u16> {
    let mut owners = HashMap::new();
    for line in node.cli(&["CLUSTER", "NODES"]).lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 9 || !fields[2].contains("master") || fields[2].contains("fail") {
            continue;
        }
        let port: u16 = fields[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
        for range in &fields[8..] {
            let (first, last) = range.split_once('-').unwrap_or((range, range));
            for slot in first.parse::<u16>().unwrap()..=last.parse().unwrap() {
                owners.insert(slot, port);
            }
        }
    }
    owners
}

/// One mode's load on the cluster: counters of many users across slots, each update appending
/// its own operation number to the user's `ops`.
struct ClusterLoad {
    wait: bool,
    prefix: String,
    provider: Arc<RedisSessionProvider>,
    tally: Tally,
    /// The reads of [`Self::reader`].
    reads: Tally,
    /// Operation numbers by answer, and the user of each.
    answers: Answers<u64>,
    user_of: Mutex<HashMap<u64, String>>,
    /// Users whose slot is on the master that is killed.
    victims: Mutex<HashSet<String>>,
    /// A victim's update that started after this instant and succeeded ends the outage.
    outage_from: Mutex<Option<Instant>>,
    recovered_at: Mutex<Option<Instant>>,
}

const CLUSTER_USERS: usize = 48;
const CLUSTER_WORKERS: usize = 6;

impl ClusterLoad {
    fn user(&self, k: usize) -> String {
        format!("user-{k}")
    }

    async fn worker(self: Arc<Self>, w: usize, stop: Arc<AtomicBool>, next_op: Arc<AtomicU64>) {
        let module = PotoModule::new().with_provider(self.provider.clone());
        let users: Vec<String> = (w..CLUSTER_USERS).step_by(CLUSTER_WORKERS).map(|k| self.user(k)).collect();
        for round in 0.. {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let user = &users[round % users.len()];
            let op = next_op.fetch_add(1, Ordering::SeqCst);
            self.user_of.lock().unwrap().insert(op, user.clone());
            let started = Instant::now();
            let update = module.update_user_session_for(user, |session| {
                let ops = session.entry("ops").or_insert_with(|| json!([]));
                ops.as_array_mut().expect("ops is an array").push(json!(op));
                Ok(())
            });
            let result = self.tally.call("update_user_session", update).await;
            self.answers.record(op, &result);
            if result.is_ok() && self.victims.lock().unwrap().contains(user) {
                let outage = *self.outage_from.lock().unwrap();
                if outage.is_some_and(|from| started > from) {
                    self.recovered_at.lock().unwrap().get_or_insert_with(Instant::now);
                }
            }
            if result.is_err() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// Single-command reads (`get_session`) of every user, until stopped: none may take much
    /// longer than the command timeout, the dead master's included.
    async fn reader(self: Arc<Self>, stop: Arc<AtomicBool>) {
        for round in 0.. {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let user = self.user(round % CLUSTER_USERS);
            if self.reads.call("get_session", self.provider.get_session(&user)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    /// After the run: every acknowledged operation is applied (with WAIT; without, the lost
    /// ones are counted), nothing applied was answered Unavailable or Conflict, and the index
    /// and the keys agree.
    async fn check(&self, cluster: &RedisCluster) -> usize {
        let mut applied = HashSet::new();
        for k in 0..CLUSTER_USERS {
            let user = self.user(k);
            let read = async || self.provider.get_session(&user).await;
            let Some(session) = settled("get_session", read).await else { continue };
            for op in session.get("ops").and_then(Value::as_array).into_iter().flatten() {
                assert!(applied.insert(op.as_u64().unwrap()), "{user}: operation {op} applied twice");
            }
        }
        let acked: HashSet<u64> = self.answers.acked.lock().unwrap().iter().copied().collect();
        let unknown: HashSet<u64> = self.answers.unknown.lock().unwrap().iter().copied().collect();
        let refused: HashSet<u64> = self.answers.refused.lock().unwrap().iter().copied().collect();
        let lost = acked.difference(&applied).count();
        if self.wait {
            assert_eq!(lost, 0, "{}: acknowledged updates lost", mode(self.wait));
        }
        // acknowledged ≤ applied ≤ acknowledged + OutcomeUnknown, per user (with WAIT).
        let user_of = self.user_of.lock().unwrap().clone();
        for k in 0..CLUSTER_USERS {
            let user = self.user(k);
            let of_user = |set: &HashSet<u64>| set.iter().filter(|op| user_of[op] == user).count();
            let (a, n, u) = (of_user(&acked), of_user(&applied), of_user(&unknown));
            assert!(n <= a + u, "{user}: {n} applied > {a} acknowledged + {u} unknown");
            if self.wait {
                assert!(a <= n, "{user}: {a} acknowledged > {n} applied");
            }
        }
        let wrongly = refused.intersection(&applied).count();
        assert_eq!(wrongly, 0, "{}: updates answered Unavailable or Conflict were applied", mode(self.wait));
        let unknown_applied = unknown.intersection(&applied).count();

        // Index and keys agree, over every master.
        let (mut sessions, mut exp, mut act) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for master in cluster.masters() {
            let pattern = format!("{}*", self.prefix);
            for key in master.cli(&["--scan", "--pattern", &pattern]).lines() {
                let (_, rest) = key.split_once('}').unwrap();
                let members = |set: &mut BTreeSet<String>| {
                    set.extend(master.cli(&["ZRANGE", key, "0", "-1"]).lines().map(str::to_owned));
                };
                match rest {
                    ":i:exp" => members(&mut exp),
                    ":i:act" => members(&mut act),
                    ":i:seq" | "" => {} // the shard's version counter, the prefix's meta key
                    _ => {
                        sessions.insert(rest.strip_prefix(":s:").expect("a session key").to_owned());
                    }
                }
            }
        }
        assert_eq!(sessions, exp, "{}: session keys and expiry index differ", mode(self.wait));
        assert_eq!(sessions, act, "{}: session keys and activity index differ", mode(self.wait));
        assert_eq!(settled("count", async || self.provider.count().await).await, sessions.len() as u64);
        let listed = settled("get_active_sessions", async || self.provider.get_active_sessions().await).await;
        let listed: BTreeSet<String> = listed.into_iter().collect();
        assert_eq!(listed, sessions);

        println!(
            "cluster, {}: {} updates acknowledged, {lost} lost; {} OutcomeUnknown of which {unknown_applied} applied; \
             {} refused (Unavailable/Conflict), none applied; {} sessions, index agrees; updates: {}; reads: {}",
            mode(self.wait),
            acked.len(),
            unknown.len(),
            refused.len(),
            sessions.len(),
            self.tally.report(),
            self.reads.report(),
        );
        lost
    }
}

/// 3 masters with a replica each; one master is killed (SIGKILL) under updates from two
/// providers (wait off and on); the cluster promotes its replica; both providers recover by
/// themselves; the old master is started again and rejoins as a replica (until then the
/// promoted master has no replica, so updates there with WAIT are OutcomeUnknown).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_failover_keeps_index_and_acknowledged_updates() {
    let mut cluster =
        RedisCluster::start_with(3, 1, &["--cluster-node-timeout", "1000", "--repl-diskless-sync-delay", "0"]);
    let stop = Arc::new(AtomicBool::new(false));
    let next_op = Arc::new(AtomicU64::new(0));
    let mut loads = Vec::new();
    for wait in [false, true] {
        let prefix = format!("fo{}:", u8::from(wait));
        let provider = RedisSessionProvider::connect(options(cluster.url(), &prefix, wait)).await.unwrap();
        loads.push(Arc::new(ClusterLoad {
            wait,
            prefix,
            provider: Arc::new(provider),
            tally: Tally::default(),
            reads: Tally::default(),
            answers: Answers::default(),
            user_of: Mutex::new(HashMap::new()),
            victims: Mutex::new(HashSet::new()),
            outage_from: Mutex::new(None),
            recovered_at: Mutex::new(None),
        }));
    }

    // The victim: the master of user-0's slot (with WAIT).
    let owners = slot_owners(&cluster.nodes[0]);
    let slot_of = |key: &str| -> u16 { cluster.nodes[0].cli(&["CLUSTER", "KEYSLOT", key]).trim().parse().unwrap() };
    let victim_port = owners[&slot_of(&loads[1].provider.session_key("user-0"))];
    for load in &loads {
        let mut victims = load.victims.lock().unwrap();
        for k in 0..CLUSTER_USERS {
            let user = load.user(k);
            if owners[&slot_of(&load.provider.session_key(&user))] == victim_port {
                victims.insert(user);
            }
        }
    }
    let victim_id = cluster.node(victim_port).cli(&["CLUSTER", "MYID"]).trim().to_owned();
    let replica_port = cluster
        .nodes
        .iter()
        .find(|n| n.info("replication").contains(&format!("master_port:{victim_port}")))
        .map(|n| n.port)
        .expect("the victim has a replica");

    let workers: Vec<_> = loads
        .iter()
        .flat_map(|load| {
            (0..CLUSTER_WORKERS).map(|w| tokio::spawn(load.clone().worker(w, stop.clone(), next_op.clone())))
        })
        .collect();
    let readers: Vec<_> = loads.iter().map(|load| tokio::spawn(load.clone().reader(stop.clone()))).collect();
    wait_until("100 updates acknowledged in each mode", || {
        loads.iter().all(|l| l.tally.ok.load(Ordering::SeqCst) >= 100)
    })
    .await;

    // As in the single-master test, the replication link breaks first (the replica frozen,
    // dropped by its master) and the load goes on for 100 answers per mode: without WAIT the
    // updates acknowledged meanwhile exist only on the master about to die.
    cluster.node(replica_port).signal(libc::SIGSTOP);
    assert_eq!(cluster.node(victim_port).cli(&["CLIENT", "KILL", "TYPE", "replica"]).trim(), "1");
    let at: Vec<usize> = loads.iter().map(|l| l.tally.answered()).collect();
    wait_until("100 more updates answered in each mode", || {
        loads.iter().zip(&at).all(|(l, at)| l.tally.answered() >= at + 100)
    })
    .await;

    let killed = Instant::now();
    for load in &loads {
        *load.outage_from.lock().unwrap() = Some(killed);
    }
    cluster.node_mut(victim_port).stop(libc::SIGKILL);
    cluster.node(replica_port).signal(libc::SIGCONT);
    wait_until("the replica is promoted", || cluster.node(replica_port).info("replication").contains("role:master"))
        .await;
    let promoted = killed.elapsed();
    wait_until("updates of the killed master's users succeed without WAIT", || {
        loads[0].recovered_at.lock().unwrap().is_some()
    })
    .await;
    let recovered_off = loads[0].recovered_at.lock().unwrap().unwrap() - killed;
    // With WAIT, the promoted master has no replica to acknowledge: its users' updates run
    // there but are answered OutcomeUnknown, never Ok.
    let unknown = loads[1].tally.unknown.load(Ordering::SeqCst);
    wait_until("updates with WAIT answered OutcomeUnknown on the master without replica", || {
        loads[1].tally.unknown.load(Ordering::SeqCst) >= unknown + 3
    })
    .await;
    assert!(loads[1].recovered_at.lock().unwrap().is_none(), "acknowledged by a master without replica");

    // The old master comes back and becomes the new master's replica: WAIT can succeed there again.
    let rejoin_started = Instant::now();
    *loads[1].outage_from.lock().unwrap() = Some(rejoin_started);
    cluster.node_mut(victim_port).restart();
    wait_until("the old master replicates the new one", || {
        let info = cluster.node(victim_port).info("replication");
        info.contains("role:slave") && info.contains("master_link_status:up")
    })
    .await;
    wait_until("updates of the killed master's users succeed with WAIT", || {
        loads[1].recovered_at.lock().unwrap().is_some()
    })
    .await;
    let recovered_on = loads[1].recovered_at.lock().unwrap().unwrap() - killed;
    let at: Vec<usize> = loads.iter().map(|l| l.tally.ok.load(Ordering::SeqCst)).collect();
    wait_until("100 more updates acknowledged in each mode", || {
        loads.iter().zip(&at).all(|(l, at)| l.tally.ok.load(Ordering::SeqCst) >= at + 100)
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    for task in workers.into_iter().chain(readers) {
        task.await.unwrap();
    }

    println!(
        "cluster failover (cluster-node-timeout 1000 ms), master {victim_id:.8} on port {victim_port} killed: \
         replica promoted after {} ms; updates of its users succeed again after {} ms without WAIT; \
         old master restarted {} ms after the kill, and with WAIT its users' updates succeed again {} ms after the kill",
        promoted.as_millis(),
        recovered_off.as_millis(),
        (rejoin_started - killed).as_millis(),
        recovered_on.as_millis(),
    );
    wait_until("every node sees the cluster ok", || {
        cluster.nodes.iter().all(|n| n.cli(&["CLUSTER", "INFO"]).contains("cluster_state:ok"))
    })
    .await;
    for load in &loads {
        println!(
            "  {}: {} of {CLUSTER_USERS} users on the killed master",
            mode(load.wait),
            load.victims.lock().unwrap().len()
        );
        load.check(&cluster).await;
    }
}

/// Every write path waits for its replicas: against a master whose replica is frozen each one
/// is OutcomeUnknown naming how many acknowledged, yet ran; what wrote nothing is answered as
/// usual; with the replica back every path succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_write_path_waits_for_its_replicas() {
    use poto_sessions::{CasOutcome, VersionedProvider};
    let master = RedisServer::start();
    let replica = RedisServer::start_replica_of(&master);
    let p = RedisSessionProvider::connect(options(master.url(), "paths:", true)).await.unwrap();
    let session = |n: i64| {
        let mut data = SessionData::new();
        data.insert("n".into(), json!(n));
        data
    };
    p.set_session("u", session(1), None).await.unwrap();
    let version = p.get_versioned("u").await.unwrap().unwrap().version;

    replica.signal(libc::SIGSTOP);
    let unknown = |what: &str, result: Result<()>| {
        let e = result.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::OutcomeUnknown, "{what}: {e}");
        assert!(e.to_string().contains("only 0 of 1 replicas acknowledged"), "{what}: {e}");
    };
    unknown("set_session", p.set_session("a", session(1), None).await);
    unknown("compare_and_set", p.compare_and_set("u", Some(version), session(2), None).await.map(drop));
    let before = p.get_versioned("u").await.unwrap().unwrap();
    let result = p.compare_and_set_changes("u", before.version, &before.data, session(3), None).await;
    unknown("compare_and_set_changes", result.map(drop));
    unknown("set_field", p.set_field("u", "k", json!(1), None, None).await.map(drop));
    unknown("touch", p.touch("u", None).await.map(drop));
    unknown("insert_if_absent", p.insert_if_absent("b", session(1), None).await.map(drop));
    unknown("delete_session", p.delete_session("b").await);
    unknown("cleanup_old_sessions", p.cleanup_old_sessions(Duration::ZERO).await.map(drop));
    p.set_session("c", session(1), None).await.expect_err("set_session");
    unknown("clear", p.clear().await.map(drop));
    // What wrote nothing: a stale compare-and-set, a create of an existing session, a delete of
    // an absent one, a touch of an absent one, a cleanup or clear that found nothing.
    p.set_session("e", session(1), None).await.expect_err("set_session");
    let stale = p.get_versioned("e").await.unwrap().unwrap().version + 1;
    assert!(matches!(p.compare_and_set("e", Some(stale), session(2), None).await.unwrap(), CasOutcome::Conflict(_)));
    assert_eq!(p.insert_if_absent("e", session(5), None).await.unwrap()["n"], json!(1));
    p.delete_session("absent").await.unwrap();
    assert!(!p.touch("absent", None).await.unwrap());
    p.delete_session("e").await.expect_err("delete_session");
    assert_eq!(p.cleanup_old_sessions(Duration::ZERO).await.unwrap(), 0);
    assert_eq!(p.clear().await.unwrap(), 0);

    replica.signal(libc::SIGCONT);
    replica.wait_replicating();
    p.set_session("u", session(1), None).await.unwrap();
    let version = p.get_versioned("u").await.unwrap().unwrap().version;
    assert!(matches!(p.compare_and_set("u", Some(version), session(2), None).await.unwrap(), CasOutcome::Applied(_)));
    let before = p.get_versioned("u").await.unwrap().unwrap();
    let result = p.compare_and_set_changes("u", before.version, &before.data, session(3), None).await.unwrap();
    assert!(matches!(result, CasOutcome::Applied(_)));
    assert!(p.set_field("u", "k", json!(1), None, None).await.unwrap());
    assert!(p.touch("u", None).await.unwrap());
    p.insert_if_absent("b", session(1), None).await.unwrap();
    p.delete_session("b").await.unwrap();
    assert_eq!(p.cleanup_old_sessions(Duration::ZERO).await.unwrap(), 1);
    p.set_session("u", session(1), None).await.unwrap();
    assert_eq!(p.clear().await.unwrap(), 1);
    // Acknowledged means on the replica: the clear is there.
    assert_eq!(replica.cli(&["EXISTS", &p.session_key("u")]).trim(), "0");

    // Asking for more replicas than there are: every write is OutcomeUnknown, and says so.
    let two = RedisSessionProvider::connect(options(master.url(), "paths:", true).wait_replicas(2)).await.unwrap();
    let e = two.set_session("x", session(1), None).await.unwrap_err();
    assert!(e.to_string().contains("only 1 of 2 replicas"), "{e}");
    // wait_timeout above command_timeout is refused when the provider is made.
    let long = options(master.url(), "paths:", true).wait_timeout(COMMAND_TIMEOUT * 2);
    assert_eq!(RedisSessionProvider::new(long).unwrap_err().kind(), ErrorKind::InvalidArgument);
}
