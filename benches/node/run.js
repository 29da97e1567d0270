'use strict';
// Node benchmark: get / set / update ops/s and p50 / p99 latency with 64 operations in flight,
// poto-sessions beside the stores a Node user would pick: connect-redis on node-redis (same
// redis-server, same run), express-session's MemoryStore and a plain Map.
// Run: bash benches/node/run.sh   (release build; starts its own redis-server on a free port)
// Env: BENCH_OPS (Redis ops per case, default 100000), BENCH_MEM_OPS (default 400000).
// The package and its devDependencies (connect-redis, express-session, redis) resolve from
// bindings/node, whose node_modules run.sh installs; the redis-server launcher is the tests'.
const path = require('node:path');
const { createRequire } = require('node:module');
const { performance } = require('node:perf_hooks');
const nodePackage = path.join(__dirname, '..', '..', 'bindings', 'node');
const requireFromPackage = createRequire(path.join(nodePackage, 'package.json'));
const session = requireFromPackage('express-session');
const { createClient } = requireFromPackage('redis');
const { RedisStore } = requireFromPackage('connect-redis');
const { InMemorySessionProvider, RedisSessionProvider, PotoModule } = requireFromPackage('poto-sessions');
const { startRedis } = require(path.join(nodePackage, 'test', 'helpers.js'));

const IN_FLIGHT = 64;
const KEYS = 1000;
const REDIS_OPS = Number(process.env.BENCH_OPS || 100000);
const MEM_OPS = Number(process.env.BENCH_MEM_OPS || 400000);

// A typical express session (~250 bytes of JSON).
const payload = (i) => ({
  cookie: { originalMaxAge: 86400000, expires: '2030-01-01T00:00:00.000Z', httpOnly: true, path: '/' },
  views: i,
  user: { id: `user-${i % KEYS}`, name: 'Alice Example', roles: ['reader', 'writer'] },
  currentModelName: 'llm2',
  flash: [],
});
const key = (i) => `sess-${i % KEYS}`;

async function measure(op, total) {
  const latencies = new Float64Array(total);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      const t0 = performance.now();
      await op(i);
      latencies[i] = performance.now() - t0;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort();
  const pct = (p) => latencies[Math.min(total - 1, Math.floor(total * p))] * 1000; // µs
  return { opsPerSec: total / seconds, p50: pct(0.5), p99: pct(0.99) };
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

const rows = [];
function report(store, operation, r, note = '') {
  rows.push({ store, operation, ...r, note });
  console.log(
    `${store.padEnd(44)} ${operation.padEnd(7)} ${Math.round(r.opsPerSec).toString().padStart(9)} ops/s  p50 ${r.p50.toFixed(0).padStart(6)} µs  p99 ${r.p99.toFixed(0).padStart(6)} µs ${note}`,
  );
}

async function updateCase(label, module, total) {
  // Each update increments a counter of one of 16 users (4 updaters per user at a time); afterwards the counters must add up.
  const users = 16;
  await Promise.all(Array.from({ length: users }, (_, u) => module.deleteUserSessionFor(`upd-${u}`)));
  const r = await measure(
    (i) =>
      module.updateUserSessionFor(`upd-${i % users}`, (s) => {
        s.n = (s.n ?? 0) + 1;
      }),
    total,
  );
  let sum = 0;
  for (let u = 0; u < users; u++) sum += (await module.getUserSessionFor(`upd-${u}`)).n ?? 0;
  report(label, 'update', r, `lost updates: ${total - sum}`);
  return total - sum;
}

async function naiveUpdateCase(label, get, set, total) {
  // What an app does with a store that has no atomic update: read, change, write back.
  const users = 16;
  for (let u = 0; u < users; u++) await set(`upd-${u}`, { ...payload(0), n: 0 });
  const r = await measure(async (i) => {
    const id = `upd-${i % users}`;
    const s = await get(id);
    s.n += 1;
    await set(id, s);
  }, total);
  let sum = 0;
  for (let u = 0; u < users; u++) sum += (await get(`upd-${u}`)).n;
  report(label, 'update', r, `get+set, lost updates: ${total - sum}`);
}

async function main() {
  console.log(`node ${process.version}, ${IN_FLIGHT} in flight, ${KEYS} session ids, Redis ops/case ${REDIS_OPS}, memory ops/case ${MEM_OPS}`);
  const redis = await startRedis();
  try {
    // --- Redis
    const client = createClient({ url: redis.url });
    await client.connect();
    const connectRedis = new RedisStore({ client, prefix: 'cr:' });
    const crGet = (id) => cb((done) => connectRedis.get(id, done));
    const crSet = (id, s) => cb((done) => connectRedis.set(id, s, done));
    const poto = new RedisSessionProvider(redis.url, { prefix: 'bench:' });
    const potoModule = new PotoModule({ provider: poto });

    for (let i = 0; i < KEYS; i++) {
      await crSet(key(i), payload(i));
      await poto.setSession(key(i), payload(i));
    }
    // Warm-up, then alternate so both see the same server state.
    await measure((i) => poto.getSession(key(i)), 5000);
    await measure((i) => crGet(key(i)), 5000);
    const res = {};
    res.potoGet = await measure((i) => poto.getSession(key(i)), REDIS_OPS);
    report('poto-sessions RedisSessionProvider', 'get', res.potoGet);
    res.crGet = await measure((i) => crGet(key(i)), REDIS_OPS);
    report('connect-redis 9 + node-redis 5', 'get', res.crGet);
    res.potoSet = await measure((i) => poto.setSession(key(i), payload(i)), REDIS_OPS);
    report('poto-sessions RedisSessionProvider', 'set', res.potoSet);
    res.crSet = await measure((i) => crSet(key(i), payload(i)), REDIS_OPS);
    report('connect-redis 9 + node-redis 5', 'set', res.crSet);
    const lostRedis = await updateCase('poto-sessions PotoModule on Redis', potoModule, Math.min(REDIS_OPS, 20000));
    await naiveUpdateCase('connect-redis 9 + node-redis 5', crGet, crSet, Math.min(REDIS_OPS, 20000));
    await client.quit();

    // --- In memory
    const mem = new InMemorySessionProvider();
    const memModule = new PotoModule({ provider: mem });
    const memoryStore = new session.MemoryStore();
    const msGet = (id) => cb((done) => memoryStore.get(id, done));
    const msSet = (id, s) => cb((done) => memoryStore.set(id, s, done));
    const map = new Map();
    const mapGet = async (id) => JSON.parse(map.get(id));
    const mapSet = async (id, s) => void map.set(id, JSON.stringify(s));
    for (let i = 0; i < KEYS; i++) {
      await mem.setSession(key(i), payload(i));
      await msSet(key(i), payload(i));
      await mapSet(key(i), payload(i));
    }
    await measure((i) => mem.getSession(key(i)), 20000);
    res.memGet = await measure((i) => mem.getSession(key(i)), MEM_OPS);
    report('poto-sessions InMemorySessionProvider', 'get', res.memGet);
    res.msGet = await measure((i) => msGet(key(i)), MEM_OPS);
    report('express-session MemoryStore', 'get', res.msGet);
    res.mapGet = await measure((i) => mapGet(key(i)), MEM_OPS);
    report('Map (JSON text, async)', 'get', res.mapGet);
    res.memSet = await measure((i) => mem.setSession(key(i), payload(i)), MEM_OPS);
    report('poto-sessions InMemorySessionProvider', 'set', res.memSet);
    res.msSet = await measure((i) => msSet(key(i), payload(i)), MEM_OPS);
    report('express-session MemoryStore', 'set', res.msSet);
    res.mapSet = await measure((i) => mapSet(key(i), payload(i)), MEM_OPS);
    report('Map (JSON text, async)', 'set', res.mapSet);
    const lostMem = await updateCase('poto-sessions PotoModule in memory', memModule, Math.min(MEM_OPS, 100000));
    await naiveUpdateCase('express-session MemoryStore', msGet, msSet, Math.min(MEM_OPS, 100000));

    const ratio = (a, b) => (a.opsPerSec / b.opsPerSec).toFixed(2);
    console.log('\ntargets:');
    console.log(`  Redis get vs connect-redis:        ${ratio(res.potoGet, res.crGet)}x (target >= 1.5x)`);
    console.log(`  Redis set vs connect-redis:        ${ratio(res.potoSet, res.crSet)}x (target >= 1.2x)`);
    console.log(`  memory get vs MemoryStore:         ${ratio(res.memGet, res.msGet)}x (target >= 1x)`);
    console.log(`  memory set vs MemoryStore:         ${ratio(res.memSet, res.msSet)}x (target >= 1x)`);
    console.log(`  lost updates (Redis, memory):      ${lostRedis}, ${lostMem} (target 0)`);
    if (process.env.BENCH_JSON) require('node:fs').writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
  } finally {
    await redis.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
