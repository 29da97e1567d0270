//! `poto-sessions-admin migrate` on Redis populated by the format-1 scripts themselves
//! (tests/format1/, as release 1 shipped them): in place, interrupted and resumed, and into a
//! new prefix on a cluster while the format-1 "release" keeps writing (blue/green).

#[path = "../../core/tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::process::Command;

use poto_sessions::{ErrorKind, RedisOptions, RedisSessionProvider, SessionProvider, VersionedProvider};
use redis::aio::ConnectionLike;
use redis::{Script, Value as Reply};
use serde_json::{json, Map, Value};
use support::{RedisCluster, RedisServer};

const COMMON: &str = include_str!("format1/common.lua");
const TTL_MS: u64 = 86_400_000;

/// Release 1's writer: its scripts, its keys, its arguments.
struct Format1 {
    write: Script,
    field: Script,
    delete: Script,
    prefix: String,
}

struct Keys {
    session: String,
    exp: String,
    act: String,
    seq: String,
}

impl Format1 {
    fn new(prefix: &str) -> Self {
        Format1 {
            write: Script::new(&format!("{COMMON}{}", include_str!("format1/write.lua"))),
            field: Script::new(&format!("{COMMON}{}", include_str!("format1/field.lua"))),
            delete: Script::new(
                "redis.call('ZREM', KEYS[2], ARGV[1]) redis.call('ZREM', KEYS[3], ARGV[1]) return redis.call('DEL', KEYS[1])",
            ),
            prefix: prefix.to_owned(),
        }
    }

    fn keys(&self, id: &str) -> Keys {
        let base = format!("{}{{{:02}}}:", self.prefix, poto_sessions::redis::shard_of(id));
        Keys {
            session: format!("{base}s:{id}"),
            exp: format!("{base}i:exp"),
            act: format!("{base}i:act"),
            seq: format!("{base}i:seq"),
        }
    }

    /// `set_session(id, data)` of release 1 (userId added, sizes counted as it did).
    async fn set(&self, conn: &mut (impl ConnectionLike + Send), id: &str, data: &Map<String, Value>) {
        let k = self.keys(id);
        let mut fields = vec![("userId".to_owned(), Value::String(id.into()).to_string())];
        fields.extend(data.iter().map(|(name, v)| (name.clone(), v.to_string())));
        let size: usize = fields.iter().filter(|(n, _)| n != "createdAt").map(|(n, v)| n.len() + v.len()).sum();
        let mut call = self.write.key(&k.session);
        call.key(&k.exp).key(&k.act).key(&k.seq).arg(id).arg(TTL_MS).arg("set").arg(0);
        call.arg(if data.contains_key("createdAt") { 1 } else { 0 }).arg(size);
        for (name, text) in &fields {
            call.arg(name).arg(text);
        }
        let _: Reply = call.invoke_async(conn).await.unwrap();
    }

    /// `set_session_value(id, name, value)` of release 1.
    async fn set_field(&self, conn: &mut (impl ConnectionLike + Send), id: &str, name: &str, value: &Value) {
        let k = self.keys(id);
        let written: i64 = self
            .field
            .key(&k.session)
            .key(&k.exp)
            .key(&k.act)
            .key(&k.seq)
            .arg(id)
            .arg(TTL_MS)
            .arg(1 << 20)
            .arg(name)
            .arg(value.to_string())
            .invoke_async(conn)
            .await
            .unwrap();
        assert_eq!(written, 1);
    }

    async fn delete(&self, conn: &mut (impl ConnectionLike + Send), id: &str) {
        let k = self.keys(id);
        let _: i64 = self.delete.key(&k.session).key(&k.exp).key(&k.act).arg(id).invoke_async(conn).await.unwrap();
    }

    /// The session as release 1 read it (every field's JSON), its version, TTL and index scores.
    async fn read(&self, conn: &mut (impl ConnectionLike + Send), id: &str) -> Option<Old> {
        let k = self.keys(id);
        let hash: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("HGETALL").arg(&k.session).query_async(conn).await.unwrap();
        if hash.is_empty() {
            return None;
        }
        let mut data = Map::new();
        let mut version = 0;
        for (name, text) in hash {
            if name == b"\xffv" {
                version = String::from_utf8(text).unwrap().parse().unwrap();
            } else if name[0] != 0xff {
                data.insert(String::from_utf8(name).unwrap(), serde_json::from_slice(&text).unwrap());
            }
        }
        let pttl: i64 = redis::cmd("PTTL").arg(&k.session).query_async(conn).await.unwrap();
        let exp: f64 = redis::cmd("ZSCORE").arg(&k.exp).arg(id).query_async(conn).await.unwrap();
        let act: f64 = redis::cmd("ZSCORE").arg(&k.act).arg(id).query_async(conn).await.unwrap();
        Some(Old { data, version, pttl, exp, act })
    }
}

#[derive(Debug)]
struct Old {
    data: Map<String, Value>,
    version: u64,
    pttl: i64,
    exp: f64,
    act: f64,
}

/// Ids that need JSON escaping or look like patterns and tags.
fn id(i: usize) -> String {
    match i % 8 {
        0 => format!("user-{i}"),
        1 => format!("quote\"{i}\"and\\back\\slash"),
        2 => format!("ctl\u{1}\n\t{i}\u{1f}"),
        3 => format!("astral-😀-{i}-𝄞"),
        4 => format!("{{tag}}{i}*?[x]:{{07}}"),
        5 => format!("ünï-{i}-\u{2028}"),
        6 => format!("/slash/{i}/</script>"),
        _ => format!("{i}"),
    }
}

/// Session contents with keys and values that need escaping, numbers whose text matters.
fn data(i: usize) -> Map<String, Value> {
    let mut data = json!({
        "currentModelName": "llm1",
        "n": i,
        "big": 12345678901234567890u64,
        "list": [],
        "nested": {"q\"uote": "back\\slash", "ctl": "\u{1}\u{7f}", "astral": "😀"},
        format!("key-\"{}\"-\\-\u{2}", i % 3): [1.5, null, true],
    })
    .as_object()
    .unwrap()
    .clone();
    if i % 5 == 0 {
        data.insert("createdAt".into(), json!("2020-01-02T03:04:05.006Z"));
    }
    if i % 7 == 0 {
        data.insert("createdAt".into(), json!("not a timestamp, but a string a client gave"));
    }
    data
}

fn admin(url: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_poto-sessions-admin"))
        .args(["--url", url])
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

fn report(out: &str) -> Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// What format 2 must read back for a format-1 session: the same members, texts intact.
async fn assert_migrated(p: &RedisSessionProvider, id: &str, old: &Old, conn: &mut (impl ConnectionLike + Send)) {
    let got = p.get_versioned(id).await.unwrap().unwrap_or_else(|| panic!("{id:?} is missing"));
    assert_eq!(Value::Object(got.data.clone()), Value::Object(old.data.clone()), "{id:?}");
    assert_eq!(got.version, old.version, "{id:?}: version");
    let json = p.get_session_json(id).await.unwrap().unwrap();
    assert!(json.contains(r#""big":12345678901234567890"#) && json.contains(r#""list":[]"#), "{json}");
    let key = p.session_key(id);
    let pttl: i64 = redis::cmd("PTTL").arg(&key).query_async(conn).await.unwrap();
    assert!(pttl > 0 && pttl <= old.pttl, "{id:?}: pttl {pttl} after {}", old.pttl);
    let base = key.split_once("s:").unwrap().0.to_owned();
    let exp: f64 = redis::cmd("ZSCORE").arg(format!("{base}i:exp")).arg(id).query_async(conn).await.unwrap();
    let act: f64 = redis::cmd("ZSCORE").arg(format!("{base}i:act")).arg(id).query_async(conn).await.unwrap();
    assert_eq!((exp, act), (old.exp, old.act), "{id:?}: index scores");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_place_on_a_populated_redis_interrupted_and_resumed() {
    let server = RedisServer::start();
    let url = server.url();
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let f1 = Format1::new("mig:");
    let n = 3000;
    let writes = (0..n).map(|i| {
        let (f1, mut conn) = (&f1, conn.clone());
        async move { f1.set(&mut conn, &id(i), &data(i)).await }
    });
    futures_join(writes).await;
    for i in (0..n).step_by(3) {
        f1.set_field(&mut conn, &id(i), "theme", &json!({"dark": true, "n": -0.0})).await;
    }
    server.cli(&["SET", "mig:{meta}", "poto-sessions format=1 shards=64"]);
    let mut before = BTreeMap::new();
    for i in 0..n {
        before.insert(id(i), f1.read(&mut conn, &id(i)).await.unwrap());
    }

    // The new release refuses the format-1 prefix, naming the migration.
    let options = RedisOptions::new().url(url.clone()).prefix("mig:");
    let err = RedisSessionProvider::connect(options.clone()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CorruptData);
    assert!(err.to_string().contains("poto-sessions-admin migrate"), "{err}");

    // Interrupted: the first run is killed once it has started converting (wherever that is).
    let mut child = Command::new(env!("CARGO_BIN_EXE_poto-sessions-admin"))
        .args(["--url", &url, "--prefix", "mig:", "migrate"])
        .env_remove("REDIS_URL")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    while server.cli(&["GET", "mig:{meta}"]).trim() == "poto-sessions format=1 shards=64" {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    let _ = child.kill();
    let _ = child.wait();

    let (code, out, err) = admin(&url, &["--prefix", "mig:", "--json", "migrate"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = report(&out);
    assert_eq!(r["converted"].as_u64().unwrap() + r["current"].as_u64().unwrap(), n as u64, "{r}");
    assert_eq!(r["unreadable"], 0, "{r}");
    assert_eq!(server.cli(&["GET", "mig:{meta}"]).trim(), "poto-sessions format=2 shards=64");

    let p = RedisSessionProvider::connect(options).await.unwrap();
    assert_eq!(p.count().await.unwrap(), n as u64);
    for (id, old) in &before {
        assert_migrated(&p, id, old, &mut conn).await;
    }
    // Versions keep growing from the shards' counters: a new write is newer than any old one.
    let newest = before.values().map(|o| o.version).max().unwrap();
    let first = id(1);
    p.set_field(&first, "after", json!(1), None, None).await.unwrap();
    let v = p.get_versioned(&first).await.unwrap().unwrap();
    assert!(v.version > before[&first].version && v.version <= newest + 1 + n as u64);
    assert_eq!(v.data["createdAt"], before[&first].data["createdAt"]);

    // A second run finds nothing to do.
    let (code, out, _) = admin(&url, &["--prefix", "mig:", "--json", "migrate"]);
    assert_eq!(code, 0);
    assert_eq!(report(&out)["converted"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blue_green_into_a_new_prefix_on_a_cluster() {
    let cluster = RedisCluster::start(3);
    let url = cluster.url();
    let nodes: Vec<String> = cluster.nodes.iter().map(|n| format!("redis://127.0.0.1:{}", n.port)).collect();
    let client = redis::cluster::ClusterClient::new(nodes).unwrap();
    let mut conn = client.get_async_connection().await.unwrap();
    let f1 = Format1::new("old:");
    let n = 1000;
    futures_join((0..n).map(|i| {
        let (f1, mut conn) = (&f1, conn.clone());
        async move { f1.set(&mut conn, &id(i), &data(i)).await }
    }))
    .await;
    let _: () = redis::cmd("SET")
        .arg("old:{meta}")
        .arg("poto-sessions format=1 shards=64")
        .query_async(&mut conn)
        .await
        .unwrap();

    // First copy while the old release serves.
    let (code, out, err) = admin(&url, &["--prefix", "old:", "--json", "migrate", "--to", "new:"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(report(&out)["copied"], n);

    // The old release keeps writing: changes, deletes, creates. The new release starts on
    // "new:" and writes some sessions itself.
    let p = RedisSessionProvider::connect(RedisOptions::new().url(url.clone()).prefix("new:")).await.unwrap();
    for i in 0..50 {
        f1.set_field(&mut conn, &id(i), "changed", &json!(i)).await;
    }
    for i in 50..60 {
        f1.delete(&mut conn, &id(i)).await;
    }
    f1.set(&mut conn, "late \"arrival\" 😀", &data(1)).await;
    for i in 40..45 {
        // Changed on both sides: the new release's write wins.
        p.set_field(&id(i), "fromNew", json!(true), None, None).await.unwrap();
    }

    let (code, out, err) = admin(&url, &["--prefix", "old:", "--json", "migrate", "--to", "new:"]);
    assert_eq!(code, 0, "{out}{err}");
    let r = report(&out);
    assert_eq!(r["copied"], 46, "{r}"); // 45 changed in the old prefix only, 1 created
    assert_eq!(r["kept"], 5, "{r}");
    assert_eq!(r["deleted"], 10, "{r}");
    assert_eq!(r["current"], n - 60, "{r}");

    for i in 0..n {
        let old = f1.read(&mut conn, &id(i)).await;
        match i {
            40..=44 => {
                let got = p.get_session(&id(i)).await.unwrap().unwrap();
                assert_eq!(got["fromNew"], true);
                assert!(got.get("changed").is_none(), "the new release's write was overwritten");
            }
            50..=59 => assert!(p.get_session(&id(i)).await.unwrap().is_none()),
            _ => assert_migrated(&p, &id(i), old.as_ref().unwrap(), &mut conn).await,
        }
    }
    let late = f1.read(&mut conn, "late \"arrival\" 😀").await.unwrap();
    assert_migrated(&p, "late \"arrival\" 😀", &late, &mut conn).await;
    assert_eq!(p.count().await.unwrap(), n as u64 - 10 + 1);
    // The old prefix is untouched and still format 1.
    let _: String = redis::cmd("GET").arg("old:{meta}").query_async(&mut conn).await.unwrap();
    assert!(f1.read(&mut conn, &id(0)).await.unwrap().data.contains_key("changed"));
}

/// Runs futures 64 at a time.
async fn futures_join<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut pending = Vec::new();
    for f in futures {
        pending.push(f);
        if pending.len() == 64 {
            join_all(std::mem::take(&mut pending)).await;
        }
    }
    join_all(pending).await;
}

async fn join_all<F: std::future::Future<Output = ()>>(futures: Vec<F>) {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    for f in set {
        f.await;
    }
}
