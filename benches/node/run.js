'use strict';
// Node benchmark: get / set / update ops/s and p50 / p99 latency with 64 operations in flight,
// poto-sessions beside the stores a Node user would pick: connect-redis on node-redis (same
// redis-server, same run), express-session's MemoryStore and a plain Map.
// Run: bash benches/node/run.sh   (release build; starts its own redis-server on a free port)
// Rounds run every case in turn (order rotated per round); medians and paired ratios at the end,
// with CPU µs per op of the JS thread, the hidden runtime's threads (by name, /proc/self/task),
// the process's other threads and Redis (INFO used_cpu_*).
// Env: BENCH_OPS (Redis ops per case, default 100000), BENCH_MEM_OPS (default 400000),
// BENCH_ROUNDS (default 3).
// The package and its devDependencies (connect-redis, express-session, redis) resolve from
// bindings/node, whose node_modules run.sh installs; the redis-server launcher is the tests'.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createRequire } = require('node:module');
const { performance } = require('node:perf_hooks');
const nodePackage = path.join(__dirname, '..', '..', 'bindings', 'node');
const requireFromPackage = createRequire(path.join(nodePackage, 'package.json'));
const session = requireFromPackage('express-session');
const { createClient } = requireFromPackage('redis');
const { RedisStore } = requireFromPackage('connect-redis');
const { InMemorySessionProvider, RedisSessionProvider, PotoModule, createExpressSessionStore } = requireFromPackage('poto-sessions');
const { startRedis } = require(path.join(nodePackage, 'test', 'helpers.js'));

const IN_FLIGHT = 64;
const KEYS = 1000;
const REDIS_OPS = Number(process.env.BENCH_OPS || 100000);
const MEM_OPS = Number(process.env.BENCH_MEM_OPS || 400000);
const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);

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

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds so far of this process's threads, by role: the JS thread, the hidden runtime's threads, the rest. */
function threadCpu() {
  const out = { js: 0, runtime: 0, other: 0 };
  for (const tid of fs.readdirSync('/proc/self/task')) {
    let stat;
    try {
      stat = fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpu = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    if (Number(tid) === process.pid) out.js += cpu;
    else if (name.startsWith('poto-sessions')) out.runtime += cpu;
    else out.other += cpu;
  }
  return out;
}

async function redisCpu(client) {
  if (!client) return 0;
  const info = await client.info('cpu');
  const get = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)[1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}

/** `measure` plus CPU µs per op: JS thread, runtime threads, other threads, Redis (when `client`). */
async function measureCpu(op, total, client) {
  const [t0, r0] = [threadCpu(), await redisCpu(client)];
  const r = await measure(op, total);
  const [t1, r1] = [threadCpu(), await redisCpu(client)];
  const us = (a, b) => ((b - a) * 1e6) / total;
  return { ...r, js: us(t0.js, t1.js), runtime: us(t0.runtime, t1.runtime), other: us(t0.other, t1.other), redis: us(r0, r1) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  console.log(
    `node ${process.version}, ${IN_FLIGHT} in flight, ${KEYS} session ids, Redis ops/case ${REDIS_OPS}, memory ops/case ${MEM_OPS}, ${ROUNDS} rounds; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const redis = await startRedis();
  try {
    const client = createClient({ url: redis.url });
    await client.connect();
    const connectRedis = new RedisStore({ client, prefix: 'cr:' });
    const crGet = (id) => cb((done) => connectRedis.get(id, done));
    const crSet = (id, s) => cb((done) => connectRedis.set(id, s, done));
    const poto = new RedisSessionProvider(redis.url, { prefix: 'bench:' });
    const potoStore = createExpressSessionStore({ provider: poto, session });
    const psGet = (id) => potoStore.get(id);
    const psSet = (id, s) => potoStore.set(id, s);
    const potoModule = new PotoModule({ provider: poto });
    const mem = new InMemorySessionProvider();
    const memModule = new PotoModule({ provider: mem });
    const memoryStore = new session.MemoryStore();
    const msGet = (id) => cb((done) => memoryStore.get(id, done));
    const msSet = (id, s) => cb((done) => memoryStore.set(id, s, done));
    const map = new Map();
    const mapGet = async (id) => JSON.parse(map.get(id));
    const mapSet = async (id, s) => void map.set(id, JSON.stringify(s));
    for (let i = 0; i < KEYS; i++) {
      await crSet(key(i), payload(i));
      await poto.setSession(key(i), payload(i));
      await mem.setSession(key(i), payload(i));
      await msSet(key(i), payload(i));
      await mapSet(key(i), payload(i));
    }

    // [name, operation, op, Redis?]; each round runs them all, in an order rotated per round.
    const cases = [
      ['poto-sessions RedisSessionProvider', 'get', (i) => poto.getSession(key(i)), true],
      ['poto-sessions express store (Redis)', 'get', (i) => psGet(key(i)), true],
      ['connect-redis 9 + node-redis 5', 'get', (i) => crGet(key(i)), true],
      ['poto-sessions RedisSessionProvider', 'set', (i) => poto.setSession(key(i), payload(i)), true],
      ['poto-sessions express store (Redis)', 'set', (i) => psSet(key(i), payload(i)), true],
      ['connect-redis 9 + node-redis 5', 'set', (i) => crSet(key(i), payload(i)), true],
      ['poto-sessions InMemorySessionProvider', 'get', (i) => mem.getSession(key(i)), false],
      ['express-session MemoryStore', 'get', (i) => msGet(key(i)), false],
      ['Map (JSON text, async)', 'get', (i) => mapGet(key(i)), false],
      ['poto-sessions InMemorySessionProvider', 'set', (i) => mem.setSession(key(i), payload(i)), false],
      ['express-session MemoryStore', 'set', (i) => msSet(key(i), payload(i)), false],
      ['Map (JSON text, async)', 'set', (i) => mapSet(key(i), payload(i)), false],
    ];
    for (const [, , op, onRedis] of cases) await measure(op, onRedis ? 5000 : 20000); // warm-up
    const results = cases.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < cases.length; k++) {
        const c = (k + round) % cases.length;
        const [name, operation, op, onRedis] = cases[c];
        const r = await measureCpu(op, onRedis ? REDIS_OPS : MEM_OPS, onRedis ? client : null);
        results[c].push(r);
        report(name, operation, r, `round ${round + 1}: µs/op JS ${r.js.toFixed(1)} runtime ${r.runtime.toFixed(1)} other ${r.other.toFixed(1)}${onRedis ? ` redis ${r.redis.toFixed(1)}` : ''}`);
      }
    }

    console.log('\nmedians over rounds (CPU µs per op: JS thread / runtime threads / other threads / Redis):');
    const medOf = (c) => {
      const m = (f) => median(results[c].map(f));
      return { opsPerSec: m((r) => r.opsPerSec), p50: m((r) => r.p50), p99: m((r) => r.p99), js: m((r) => r.js), runtime: m((r) => r.runtime), other: m((r) => r.other), redis: m((r) => r.redis) };
    };
    cases.forEach(([name, operation, , onRedis], c) => {
      const r = medOf(c);
      report(name, operation, r, `CPU µs/op ${r.js.toFixed(1)} / ${r.runtime.toFixed(1)} / ${r.other.toFixed(1)}${onRedis ? ` / ${r.redis.toFixed(1)}` : ''}`);
    });
    const ratio = (a, b) => median(results[a].map((r, i) => r.opsPerSec / results[b][i].opsPerSec)).toFixed(2);
    console.log('\ntargets (medians of per-round paired ratios):');
    console.log(`  Redis get vs connect-redis:        provider ${ratio(0, 2)}x, express store ${ratio(1, 2)}x (target >= 1.0x)`);
    console.log(`  Redis set vs connect-redis:        provider ${ratio(3, 5)}x, express store ${ratio(4, 5)}x (target >= 0.5x)`);
    console.log(`  memory get vs MemoryStore:         ${ratio(6, 7)}x (target >= 1.0x)`);
    console.log(`  memory set vs MemoryStore:         ${ratio(9, 10)}x (target >= 0.7x)`);

    const lostRedis = await updateCase('poto-sessions PotoModule on Redis', potoModule, Math.min(REDIS_OPS, 20000));
    await naiveUpdateCase('connect-redis 9 + node-redis 5', crGet, crSet, Math.min(REDIS_OPS, 20000));
    const lostMem = await updateCase('poto-sessions PotoModule in memory', memModule, Math.min(MEM_OPS, 100000));
    await naiveUpdateCase('express-session MemoryStore', msGet, msSet, Math.min(MEM_OPS, 100000));
    console.log(`  lost updates (Redis, memory):      ${lostRedis}, ${lostMem} (target 0)`);
    await client.quit();
    if (process.env.BENCH_JSON) fs.writeFileSync(process.env.BENCH_JSON, JSON.stringify(rows, null, 2));
  } finally {
    await redis.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
