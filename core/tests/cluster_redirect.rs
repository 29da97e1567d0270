//! A slot moved to another master under a running provider: the old owner answers MOVED without
//! running the request, so the provider sends it again to the new owner and the caller sees no
//! error (redis-rs's own retries are off, DESIGN §4.9).

mod support;

use poto_sessions::{RedisOptions, RedisSessionProvider, SessionData, SessionProvider};
use support::RedisCluster;

struct Master {
    id: String,
    port: u16,
    slots: Vec<(u16, u16)>,
}

impl Master {
    fn owns(&self, slot: u16) -> bool {
        self.slots.iter().any(|&(first, last)| (first..=last).contains(&slot))
    }
}

/// Every master with the slot ranges it owns, from `CLUSTER NODES`.
fn masters(cluster: &RedisCluster) -> Vec<Master> {
    let nodes = cluster.nodes[0].cli(&["CLUSTER", "NODES"]);
    nodes
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = fields[1].split(['@', ':']).nth(1).unwrap().parse().unwrap();
            let slots = fields[8..]
                .iter()
                .map(|range| {
                    let (first, last) = range.split_once('-').unwrap_or((range, range));
                    (first.parse().unwrap(), last.parse().unwrap())
                })
                .collect();
            Master { id: fields[0].to_owned(), port, slots }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_follow_a_slot_to_its_new_master() {
    let cluster = RedisCluster::start(3);
    let provider =
        RedisSessionProvider::connect(RedisOptions::new().url(cluster.url()).prefix("moved:")).await.unwrap();
    let key = provider.session_key("u");
    let slot: u16 = cluster.nodes[0].cli(&["CLUSTER", "KEYSLOT", &key]).trim().parse().unwrap();
    let masters = masters(&cluster);
    let old = masters.iter().find(|m| m.owns(slot)).unwrap();
    let new = masters.iter().find(|m| !m.owns(slot)).unwrap();
    let node = |port: u16| cluster.nodes.iter().find(|n| n.port == port).unwrap();
    assert_eq!(node(old.port).cli(&["CLUSTER", "COUNTKEYSINSLOT", &slot.to_string()]).trim(), "0");

    // An empty slot changes owner at once; the new owner learns first, as in a migration.
    let others = masters.iter().filter(|m| m.port != new.port);
    for master in std::iter::once(new).chain(others) {
        let reply = node(master.port).cli(&["CLUSTER", "SETSLOT", &slot.to_string(), "NODE", &new.id]);
        assert_eq!(reply.trim(), "OK");
    }

    provider.set_session("u", SessionData::new(), None).await.unwrap();
    assert_eq!(node(new.port).cli(&["EXISTS", &key]).trim(), "1");
    assert!(provider.get_session("u").await.unwrap().is_some());
}
