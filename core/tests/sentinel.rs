//! Redis Sentinel and replicas, on real servers (support::SentinelDeployment: a master, a
//! replica, three sentinels on loopback):
//! - `redis+sentinel://` URLs, good and bad;
//! - the conformance suite through Sentinel, with passwords on the data nodes and the sentinels;
//! - a provider on a read-only replica reads, lists and counts, and refuses writes saying why;
//! - under load, the master killed, then (second test) demoted by `SENTINEL FAILOVER`: calls
//!   fail fast with Unavailable / OutcomeUnknown, then succeed by themselves on the new master
//!   through the same provider (the gap is printed, not asserted);
//! - with no sentinel answering, a call fails with Unavailable instead of waiting;
//! - `rediss+sentinel://` (support::SentinelDeployment::start_tls: TLS between every process):
//!   the conformance suite with the test CA, `Unavailable` saying why with another CA, and a
//!   `SENTINEL FAILOVER` under load followed over TLS.

mod support;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poto_sessions::conformance::{run_conformance, ConformanceOptions};
use poto_sessions::{ErrorKind, PotoModule, RedisOptions, RedisSessionProvider, SessionError, SessionProvider};
use serde_json::{json, Map, Value};
use support::{RedisServer, SentinelDeployment, TestCerts, SENTINEL_DOWN_AFTER_MS, SENTINEL_SERVICE};

/// Connect and reply timeout of the providers under test.
const TIMEOUT: Duration = Duration::from_millis(500);
/// A call slower than this has hung: a hang detector, not a performance check (a call may ask
/// the sentinels, connect, and send, each within its timeout).
const HANG: Duration = Duration::from_secs(15);
/// Generous bound for a stage of a test to be reached.
const STAGE: Duration = Duration::from_secs(60);

fn session(pairs: Value) -> Map<String, Value> {
    pairs.as_object().unwrap().clone()
}

fn options(url: String) -> RedisOptions {
    RedisOptions::new().url(url).connect_timeout(TIMEOUT).command_timeout(TIMEOUT)
}

#[test]
fn sentinel_urls() {
    let ok = [
        "redis+sentinel://127.0.0.1:26379/mymaster",
        "redis+sentinel://h1:26379,h2:26380,h3/mymaster/3",
        "redis+sentinel://:pw@h1,h2/mymaster",
        "redis+sentinel://user:p%40ss@[::1]:26379/mymaster",
        "rediss+sentinel://h1:26379/mymaster",
        "rediss+sentinel://h1:26379/mymaster#insecure",
    ];
    for url in ok {
        // Constructing connects nothing: the URL is only checked.
        assert!(RedisSessionProvider::new(options(url.into())).is_ok(), "{url}");
    }
    let bad = [
        "redis+sentinel://h1:26379",
        "redis+sentinel://h1:26379/",
        "redis+sentinel://h1:26379/mymaster/notadb",
        "redis+sentinel://h1:26379/mymaster/0/more",
        "redis+sentinel://h1,,h2/mymaster",
        "redis+sentinel://h1:port/mymaster",
        "redis+sentinel://h1/mymaster?db=1",
        "redis+sentinel://:hunter2@h1:x/mymaster",
    ];
    for url in bad {
        let err = RedisSessionProvider::new(options(url.into())).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{url}: {err}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
    // Sentinel credentials on a URL that names no Sentinel would be ignored: refused instead.
    for plain in ["redis://:hunter2@h:1", "rediss://h:1", "redis+cluster://h:1,h:2"] {
        let err =
            RedisSessionProvider::new(options(plain.into()).sentinel_username("s").sentinel_password("p")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{plain}: {err}");
        let message = err.to_string();
        assert!(message.contains("sentinel_username, sentinel_password given, but the url"), "{message}");
        assert!(message.contains("is not a Sentinel url: use redis+sentinel://") && !message.contains("hunter2"));
    }
    let debug = format!("{:?}", options("redis+sentinel://h/m".into()).sentinel_password("hunter3"));
    assert!(!debug.contains("hunter3"), "{debug}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_sentinel() {
    let deployment = SentinelDeployment::start(Some("data-pw"), Some("sentinel-pw"));
    let url = deployment.url();
    // The sentinels' password is an option, the URL's the data nodes'.
    let wrong = RedisSessionProvider::connect(options(url.clone()).sentinel_password("nope")).await.unwrap_err();
    assert_eq!(wrong.kind(), ErrorKind::Unavailable, "{wrong}");
    assert!(!wrong.to_string().contains("data-pw") && !wrong.to_string().contains("nope"), "{wrong}");
    let report = run_conformance(
        || {
            let options = RedisOptions::new().url(url.clone()).prefix("conf:").sentinel_password("sentinel-pw");
            async move { Ok(Arc::new(RedisSessionProvider::connect(options).await?) as Arc<dyn SessionProvider>) }
        },
        ConformanceOptions::default(),
    )
    .await;
    assert!(report.is_ok(), "{report}");
    // What the suite wrote is on the master the sentinels name.
    let master = deployment.master_port().unwrap();
    assert_eq!(master, deployment.nodes[0].port);
    assert!(deployment.nodes[0].cli(&["EXISTS", "conf:{meta}"]).trim() == "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_through_sentinel_over_tls() {
    let certs = TestCerts::generate();
    let deployment = SentinelDeployment::start_tls(&certs);
    let url = deployment.tls_url();
    let master = deployment.master_port().unwrap();
    // The sentinels name the master's TLS port, the one a rediss+sentinel:// client needs.
    assert_eq!(Some(master), deployment.nodes[0].tls_port);
    // Every link is TLS: the replica syncs from the master's TLS port, and the sentinels know
    // the replica and each other by their TLS ports (what they announce with tls-replication).
    let ports = |out: String| -> Vec<u16> {
        let lines: Vec<&str> = out.lines().collect();
        lines.windows(2).filter(|w| w[0] == "port").filter_map(|w| w[1].trim().parse().ok()).collect()
    };
    assert!(deployment.nodes[1].info("replication").contains(&format!("master_port:{master}\r")));
    let first = &deployment.sentinels[0];
    assert_eq!(ports(first.cli(&["SENTINEL", "REPLICAS", SENTINEL_SERVICE])), [deployment.nodes[1].tls_port.unwrap()]);
    let mut others = ports(first.cli(&["SENTINEL", "SENTINELS", SENTINEL_SERVICE]));
    others.sort();
    let mut expected: Vec<u16> = deployment.sentinels[1..].iter().map(|s| s.tls_port.unwrap()).collect();
    expected.sort();
    assert_eq!(others, expected);

    // Another CA: the sentinels' certificates are refused, within the connect timeout.
    let started = Instant::now();
    let wrong = RedisSessionProvider::connect(options(url.clone()).tls_ca_file(certs.path("other-ca.crt"))).await;
    let took = started.elapsed();
    let wrong = wrong.err().expect("connected without trusting the CA");
    println!("another CA: failed in {took:?}: {wrong}");
    assert_eq!(wrong.kind(), ErrorKind::Unavailable, "{wrong}");
    assert!(took < TIMEOUT + TLS_MARGIN, "took {took:?}: {wrong}");
    let message = wrong.to_string();
    assert!(message.contains(SENTINEL_SERVICE) && message.contains("unknown CA"), "{message}");

    // Development only: no verification of the sentinels nor of the master.
    let insecure = RedisSessionProvider::connect(options(url.clone()).prefix("insecure:").tls_insecure(true)).await;
    let insecure = insecure.expect("tls_insecure connects without the CA");
    insecure.set_session("u", session(json!({"n": 1})), None).await.unwrap();
    assert_eq!(insecure.get_session("u").await.unwrap().unwrap()["n"], json!(1));

    let report = run_conformance(
        || {
            let options = options(url.clone()).prefix("conf:").tls_ca_file(certs.path("ca.crt"));
            async move { Ok(Arc::new(RedisSessionProvider::connect(options).await?) as Arc<dyn SessionProvider>) }
        },
        ConformanceOptions::default(),
    )
    .await;
    assert!(report.is_ok(), "{report}");
    assert_eq!(deployment.master_port(), Some(master));
    assert_eq!(deployment.nodes[0].cli(&["EXISTS", "conf:{meta}"]).trim(), "1");
}

/// What a refused TLS connection may take beyond the connect timeout (a slow machine): no
/// latency test.
const TLS_MARGIN: Duration = Duration::from_secs(5);

async fn eventually(
    what: &str,
    mut done: impl FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send>>,
) {
    let deadline = Instant::now() + STAGE;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replica_serves_reads_and_refuses_writes() {
    let master = RedisServer::start();
    let port = master.port.to_string();
    let replica = RedisServer::start_with(&["--save", "", "--appendonly", "no", "--replicaof", "127.0.0.1", &port]);
    let writer = RedisSessionProvider::connect(options(master.url()).prefix("rr:")).await.unwrap();
    for user in ["ann", "bob", "cat"] {
        writer.set_session(user, session(json!({"userId": user, "n": 1})), None).await.unwrap();
    }
    // Created before the replica has the data: its first call must not fail on a missing marker.
    let reader = Arc::new(RedisSessionProvider::connect(options(replica.url()).prefix("rr:")).await.unwrap());
    let r = reader.clone();
    eventually("the replica has every session", move || {
        let r = r.clone();
        Box::pin(async move { r.count().await.ok() == Some(3) })
    })
    .await;

    let ann = reader.get_session("ann").await.unwrap().expect("ann's session on the replica");
    assert_eq!(ann["n"], json!(1));
    assert!(reader.get_session_json("bob").await.unwrap().is_some());
    assert!(reader.has_session("cat").await.unwrap());
    assert!(!reader.has_session("nobody").await.unwrap());
    assert!(reader.get_session("nobody").await.unwrap().is_none());
    let mut ids = reader.get_active_sessions().await.unwrap();
    ids.sort();
    assert_eq!(ids, ["ann", "bob", "cat"]);
    let stats = reader.get_stats().await.unwrap();
    assert_eq!(stats.active_sessions, 3);

    // Every kind of write is refused before it runs, and says why.
    let writes: Vec<(&str, poto_sessions::Result<()>)> = vec![
        ("set_session", reader.set_session("ann", session(json!({"n": 2})), None).await),
        ("delete_session", reader.delete_session("ann").await),
        ("touch", reader.touch("ann", None).await.map(|_| ())),
        ("cleanup_old_sessions", reader.cleanup_old_sessions(Duration::from_millis(1)).await.map(|_| ())),
    ];
    for (what, result) in writes {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err}");
        assert!(err.to_string().contains("read-only replica"), "{what}: {err}");
    }
    assert_eq!(reader.get_session("ann").await.unwrap().unwrap()["n"], json!(1), "nothing was written");

    // A prefix nobody wrote yet (no format marker on the replica): reads still answer.
    let fresh = RedisSessionProvider::connect(options(replica.url()).prefix("fresh:")).await.unwrap();
    assert!(fresh.get_session("ann").await.unwrap().is_none());
    assert_eq!(fresh.count().await.unwrap(), 0);
    assert!(fresh.get_active_sessions().await.unwrap().is_empty());
    let err = fresh.set_session("ann", session(json!({})), None).await.unwrap_err();
    assert!(err.kind() == ErrorKind::Unavailable && err.to_string().contains("read-only replica"), "{err}");
    // Once the master wrote there, the same replica provider reads it.
    let fresh_writer = RedisSessionProvider::connect(options(master.url()).prefix("fresh:")).await.unwrap();
    fresh_writer.set_session("dan", session(json!({"n": 4})), None).await.unwrap();
    let fresh = Arc::new(fresh);
    let f = fresh.clone();
    eventually("the replica has the new prefix's session", move || {
        let f = f.clone();
        Box::pin(async move { f.get_session("dan").await.ok().flatten().is_some() })
    })
    .await;
    assert_eq!(fresh.count().await.unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sentinel_answering_fails_fast() {
    // Nothing listens on the first two; the third accepts connections and never answers.
    let closed: Vec<u16> =
        (0..2).map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()).collect();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "redis+sentinel://127.0.0.1:{},127.0.0.1:{},127.0.0.1:{}/{SENTINEL_SERVICE}",
        closed[0],
        closed[1],
        silent.local_addr().unwrap().port()
    );
    let provider = RedisSessionProvider::new(options(url)).unwrap();
    for _ in 0..3 {
        let started = Instant::now();
        let result = tokio::time::timeout(HANG, provider.get_session("u")).await.expect("get_session hung");
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains(SENTINEL_SERVICE), "{err}");
        println!("no sentinel answering: failed in {:?}: {err}", started.elapsed());
        let write = tokio::time::timeout(HANG, provider.set_session("u", session(json!({})), None)).await;
        assert_eq!(write.expect("set_session hung").unwrap_err().kind(), ErrorKind::Unavailable);
    }
    drop(silent);
}

const TASKS: usize = 4;

/// What the load saw, shared by its tasks.
#[derive(Default)]
struct Load {
    stop: AtomicBool,
    /// Set once the sentinels named the new master.
    promoted: AtomicBool,
    /// Per task: calls, successes, and the updates acknowledged / of unknown outcome.
    calls: AtomicUsize,
    acked: Mutex<[usize; TASKS]>,
    unknown: Mutex<[usize; TASKS]>,
    unavailable: AtomicUsize,
    outcome_unknown: AtomicUsize,
    /// Tasks that succeeded after the promotion.
    recovered: AtomicUsize,
    /// Per task, the longest time between two successful calls, and the slowest failed call.
    longest_gap: Mutex<[Duration; TASKS]>,
    slowest_failure: Mutex<Duration>,
    /// Messages of the errors, a few of each kind.
    samples: Mutex<Vec<String>>,
}

/// Increments of `counter-{t}` and reads of it, through one module and provider, until stopped.
async fn task(load: Arc<Load>, module: PotoModule, provider: Arc<RedisSessionProvider>, t: usize) {
    let user = format!("counter-{t}");
    let mut last_ok = Instant::now();
    let mut recovered = false;
    while !load.stop.load(Ordering::SeqCst) {
        let promoted = load.promoted.load(Ordering::SeqCst);
        let started = Instant::now();
        let update = module.update_user_session_for(&user, |s| {
            let n = s.get("n").and_then(Value::as_u64).unwrap_or(0);
            s.insert("n".into(), json!(n + 1));
            Ok(())
        });
        let result: Result<(), SessionError> = match tokio::time::timeout(HANG, update).await.expect("update hung") {
            Ok(_) => {
                load.acked.lock().unwrap()[t] += 1;
                match tokio::time::timeout(HANG, provider.get_session(&user)).await.expect("get_session hung") {
                    Ok(read) => {
                        assert!(read.is_some(), "an acknowledged update's session is absent");
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => {
                if e.kind() == ErrorKind::OutcomeUnknown {
                    load.unknown.lock().unwrap()[t] += 1;
                }
                Err(e)
            }
        };
        load.calls.fetch_add(1, Ordering::SeqCst);
        match result {
            Ok(()) => {
                let gap = last_ok.elapsed();
                {
                    let longest = &mut load.longest_gap.lock().unwrap()[t];
                    *longest = (*longest).max(gap);
                }
                last_ok = Instant::now();
                if promoted && !recovered {
                    recovered = true;
                    load.recovered.fetch_add(1, Ordering::SeqCst);
                }
            }
            Err(e) => {
                let took = started.elapsed();
                {
                    let mut slowest = load.slowest_failure.lock().unwrap();
                    *slowest = (*slowest).max(took);
                }
                match e.kind() {
                    ErrorKind::Unavailable => load.unavailable.fetch_add(1, Ordering::SeqCst),
                    ErrorKind::OutcomeUnknown => load.outcome_unknown.fetch_add(1, Ordering::SeqCst),
                    _ => panic!("unexpected error during a failover: {e}"),
                };
                {
                    let text = e.to_string();
                    let head: String = text.chars().take(40).collect();
                    let mut samples = load.samples.lock().unwrap();
                    if samples.len() < 6 && !samples.iter().any(|s| s.starts_with(&head)) {
                        samples.push(text);
                    }
                }
                // A failover fails calls at once; do not spin on them.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + STAGE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[derive(Clone, Copy, Debug)]
enum Failover {
    /// SIGKILL of the master: the sentinels see it down after `down-after-milliseconds`.
    Kill,
    /// `SENTINEL FAILOVER <service>` with the master up: it is demoted to a replica.
    Command,
}

async fn failover_under_load(how: Failover) {
    let deployment = SentinelDeployment::start(None, None);
    let options = options(deployment.url());
    failover_of(deployment, options, how).await;
}

/// A failover of `deployment` under load from a provider made with `options`.
async fn failover_of(mut deployment: SentinelDeployment, options: RedisOptions, how: Failover) {
    let old = deployment.master_port().unwrap();
    let provider = Arc::new(RedisSessionProvider::connect(options.prefix("fo:")).await.unwrap());
    let module = PotoModule::new().with_provider(provider.clone());
    let load = Arc::new(Load::default());
    let tasks: Vec<_> =
        (0..TASKS).map(|t| tokio::spawn(task(load.clone(), module.clone(), provider.clone(), t))).collect();
    let acked = || load.acked.lock().unwrap().iter().sum::<usize>();
    wait_until("the load is under way", || acked() >= 100).await;

    let before = (acked(), load.calls.load(Ordering::SeqCst));
    let triggered = Instant::now();
    tokio::task::block_in_place(|| match how {
        Failover::Kill => deployment.node_mut(old).stop(libc::SIGKILL),
        Failover::Command => {
            let reply = deployment.sentinels[0].cli(&["SENTINEL", "FAILOVER", SENTINEL_SERVICE]);
            assert_eq!(reply.trim(), "OK", "SENTINEL FAILOVER: {reply}");
        }
    });
    let new = tokio::task::block_in_place(|| deployment.wait_for_new_master(old));
    let promoted_after = triggered.elapsed();
    // The provider follows once its writes land on the new master (a write to a demoted master
    // that the sentinels have not reconfigured yet never reaches the new one).
    let probe = provider.session_key("probe");
    let deadline = Instant::now() + STAGE;
    for i in 0.. {
        let _ = provider.set_session("probe", session(json!({"i": i})), None).await;
        if tokio::task::block_in_place(|| deployment.node(new).cli(&["EXISTS", &probe])).trim() == "1" {
            break;
        }
        assert!(Instant::now() < deadline, "the provider never wrote to the new master");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let followed_after = triggered.elapsed();
    load.promoted.store(true, Ordering::SeqCst);
    wait_until("every task succeeds on the new master", || load.recovered.load(Ordering::SeqCst) == TASKS).await;
    let recovered_after = triggered.elapsed();
    // A little more load on the new master, then stop.
    let settled = acked();
    wait_until("the load goes on", || acked() >= settled + 100).await;
    load.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }

    // The same provider now reads and writes the new master.
    provider.set_session("after", session(json!({"on": "new master"})), None).await.unwrap();
    let new_node = deployment.node(new);
    let key = provider.session_key("after");
    assert_eq!(new_node.cli(&["EXISTS", &key]).trim(), "1", "the write is on the new master ({new}: {key})");
    // No update was applied that was not acknowledged or of unknown outcome; acknowledged ones
    // may be lost (asynchronous replication: the master acknowledged before the replica had it).
    let mut lost = 0;
    for t in 0..TASKS {
        let stored = provider.get_session(&format!("counter-{t}")).await.unwrap();
        let n = stored.and_then(|s| s.get("n").and_then(Value::as_u64)).unwrap_or(0) as usize;
        let (ok, unknown) = (load.acked.lock().unwrap()[t], load.unknown.lock().unwrap()[t]);
        assert!(n <= ok + unknown, "counter-{t} is {n}: {ok} acknowledged, {unknown} of unknown outcome");
        lost += ok.saturating_sub(n);
    }
    let gaps = *load.longest_gap.lock().unwrap();
    println!(
        "failover by {how:?} (down-after {SENTINEL_DOWN_AFTER_MS} ms, timeouts {TIMEOUT:?}): master {old} -> {new}; \
         sentinels agreed after {promoted_after:?}; the provider wrote to the new master after {followed_after:?}; every task succeeded again {recovered_after:?} after the trigger; \
         longest stretch without a success per task {gaps:?}; slowest failed call {:?}; \
         {} calls ({} before the trigger, {} updates acknowledged before it), {} unavailable, {} outcome unknown; \
         acknowledged updates lost: {lost}",
        *load.slowest_failure.lock().unwrap(),
        load.calls.load(Ordering::SeqCst),
        before.1,
        before.0,
        load.unavailable.load(Ordering::SeqCst),
        load.outcome_unknown.load(Ordering::SeqCst),
    );
    for sample in load.samples.lock().unwrap().iter() {
        println!("  e.g. {sample}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_when_the_master_is_killed() {
    failover_under_load(Failover::Kill).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_by_sentinel_command_while_the_master_is_up() {
    failover_under_load(Failover::Command).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failover_by_sentinel_command_over_tls() {
    let certs = TestCerts::generate();
    let deployment = SentinelDeployment::start_tls(&certs);
    let options = options(deployment.tls_url()).tls_ca_file(certs.path("ca.crt"));
    failover_of(deployment, options, Failover::Command).await;
}
