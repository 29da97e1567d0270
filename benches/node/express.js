'use strict';
// End-to-end Node benchmark: an express 5 + express-session app whose store is this package's
// or connect-redis 9 on node-redis 5 (or express-session's MemoryStore against our in-memory
// provider). One private redis-server (free loopback port, temp dir, stopped at the end); each
// store gets its own server process, 500 users log in (each its own cookie), then autocannon,
// in a process of its own, drives a read-only route and a read-and-change route with 64
// connections. Rounds interleave the stores (rotating their order); the table shows medians of
// req/s and p99 and the median of the per-round paired ratios (above 1.00x is ours better), with
// the server's and Redis's CPU per request beside them.
//
// Run: bash benches/node/run.sh --express [--rounds N] [--seconds S] [--commands] [--stores a,b]
//      (release build; --commands prints the Redis commands each request cost, from INFO
//      commandstats; --stores runs only those of STORES below)
//      node benches/node/express.js --smoke   (1 round of 0.2 s, 50 users: checks the script still
//      works)
// The package and its devDependencies resolve from bindings/node.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');
const { createRequire } = require('node:module');

const nodePackage = path.join(__dirname, '..', '..', 'bindings', 'node');
const requireFromPackage = createRequire(path.join(nodePackage, 'package.json'));

const CONNECTIONS = 64;
const DAY_MS = 24 * 60 * 60 * 1000;

/** The stores, each served by its own process. */
const STORES = {
  poto: 'poto-sessions on Redis (defaults)',
  'poto-t0': 'poto-sessions on Redis, touchAfterMs: 0',
  cr: 'connect-redis 9 + node-redis 5 (defaults)',
  'cr-notouch': 'connect-redis 9, disableTouch: true',
  'poto-mem': 'poto-sessions InMemorySessionProvider',
  memstore: 'express-session MemoryStore',
};
/** Rows of the table: [ours, theirs]. */
const PAIRS = [
  ['poto', 'cr'],
  ['poto-t0', 'cr'],
  ['poto', 'cr-notouch'],
  ['poto-mem', 'memstore'],
];
const ROUTES = ['read', 'change'];

// ---------------------------------------------------------------- server process

async function makeStore(kind, redisUrl, session) {
  const { createExpressSessionStore, RedisSessionProvider, InMemorySessionProvider } = requireFromPackage('poto-sessions');
  if (kind === 'poto' || kind === 'poto-t0') {
    const provider = new RedisSessionProvider(redisUrl, { prefix: 'poto:' });
    await provider.count(); // connected before the load starts, as connect-redis below
    return createExpressSessionStore({ provider, session, ...(kind === 'poto-t0' ? { touchAfterMs: 0 } : {}) });
  }
  if (kind === 'poto-mem') return createExpressSessionStore({ provider: new InMemorySessionProvider(), session });
  if (kind === 'memstore') return new session.MemoryStore();
  const { createClient } = requireFromPackage('redis');
  const { RedisStore } = requireFromPackage('connect-redis');
  const client = createClient({ url: redisUrl });
  await client.connect();
  return new RedisStore({ client, prefix: 'sess:', disableTouch: kind === 'cr-notouch' });
}

async function serve(kind, redisUrl) {
  const express = requireFromPackage('express');
  const session = requireFromPackage('express-session');
  const app = express();
  const store = await makeStore(kind, redisUrl, session);
  app.use(session({ store, secret: 'bench secret', resave: false, saveUninitialized: false, cookie: { maxAge: DAY_MS } }));
  // The same ~300-byte session for every store.
  app.get('/login', (req, res) => {
    const i = Number(req.query.u);
    req.session.user = { id: `user-${i}`, name: 'Alice Example', email: `alice${i}@example.com`, roles: ['reader', 'writer'] };
    req.session.currentModelName = 'llm2';
    req.session.views = 0;
    req.session.flash = [];
    res.json({ ok: true });
  });
  app.get('/read', (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'no session' });
    res.json({ user: req.session.user.id, model: req.session.currentModelName, views: req.session.views });
  });
  app.get('/change', (req, res) => {
    if (!req.session.user) return res.status(401).json({ error: 'no session' });
    req.session.views += 1;
    res.json({ user: req.session.user.id, views: req.session.views });
  });
  const server = app.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));
  process.on('message', (m) => {
    if (m === 'stop') process.exit(0);
  });
}

// ---------------------------------------------------------------- load process

/** One load run of `route` for `seconds`; answers the parent with its figures. */
function load({ port, route, cookies, seconds }) {
  const autocannon = requireFromPackage('autocannon');
  let next = 0;
  const latencies = [];
  const instance = autocannon(
    {
      url: `http://127.0.0.1:${port}`,
      connections: CONNECTIONS,
      duration: seconds,
      requests: [
        {
          method: 'GET',
          path: `/${route}`,
          // Each request carries the next user's cookie: the users spread over 64 connections.
          setupRequest: (req) => ({ ...req, headers: { cookie: cookies[next++ % cookies.length] } }),
        },
      ],
    },
    (err, result) => {
      if (err) throw err;
      latencies.sort((a, b) => a - b);
      const p99 = latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] : NaN;
      process.send({
        requests: latencies.length,
        rps: latencies.length / (result.duration || seconds),
        p99,
        bad: result.non2xx + result.errors + result.timeouts,
      });
    },
  );
  // autocannon's own histogram keeps whole milliseconds; keep exact latencies for p99.
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) latencies.push(ms);
  });
}

// ---------------------------------------------------------------- parent

function child(args) {
  return fork(__filename, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

const message = (proc) =>
  new Promise((resolve, reject) => {
    proc.once('message', resolve);
    proc.once('exit', (code) => reject(new Error(`${proc.spawnargs.slice(2).join(' ')} exited with ${code}`)));
  });

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** CPU seconds used so far by process `pid` (utime + stime of /proc/pid/stat). */
function cpuOf(pid) {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** INFO commandstats as {command: {calls, usec}}. */
async function commandStats(client) {
  const out = {};
  for (const m of (await client.info('commandstats')).matchAll(/cmdstat_([^:]+):calls=(\d+),usec=(\d+)/g)) {
    out[m[1]] = { calls: Number(m[2]), usec: Number(m[3]) };
  }
  return out;
}

/** The commands Redis ran between two commandStats, per request: "get 1.00×1.8µs, ...". */
function commandsPerRequest(before, after, requests) {
  return Object.entries(after)
    .map(([name, a]) => [name, a.calls - (before[name]?.calls ?? 0), a.usec - (before[name]?.usec ?? 0)])
    .filter(([, calls]) => calls > requests / 100)
    .sort((x, y) => y[2] - x[2])
    .map(([name, calls, usec]) => `${name} ${(calls / requests).toFixed(2)}×${(usec / calls).toFixed(1)}µs`)
    .join(', ');
}

async function redisCpu(client) {
  const info = await client.info('cpu');
  const get = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)[1]);
  return get('used_cpu_user') + get('used_cpu_sys');
}

/** Runs `route` for `seconds` from load process `proc` (one per turn, run after run). */
async function runLoad(proc, port, route, cookies, seconds) {
  proc.send({ port, route, cookies, seconds });
  const out = await message(proc);
  if (out.bad > 0 || out.requests === 0) throw new Error(`${route}: ${out.bad} failed requests of ${out.requests}`);
  return out;
}

/** One store's turn in a round: fresh server, the users' logins, warm-up, then each route. */
async function turn(kind, redis, client, opts) {
  await client.flushAll();
  const server = child(['--serve', kind, redis.url]);
  const loader = child(['--load']);
  try {
    const { port } = await message(server);
    const cookies = [];
    for (let i = 0; i < opts.users; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/login?u=${i}`);
      if (res.status !== 200) throw new Error(`${kind}: login answered ${res.status}`);
      cookies.push(res.headers.get('set-cookie').split(';')[0]);
    }
    if (opts.warmup > 0) await runLoad(loader, port, 'change', cookies, opts.warmup);
    const out = {};
    for (const route of ROUTES) {
      const [cpu0, redis0, stats0] = [cpuOf(server.pid), await redisCpu(client), await commandStats(client)];
      const r = await runLoad(loader, port, route, cookies, opts.seconds);
      const [cpu1, redis1, stats1] = [cpuOf(server.pid), await redisCpu(client), await commandStats(client)];
      out[route] = {
        ...r,
        serverUs: ((cpu1 - cpu0) * 1e6) / r.requests,
        redisUs: ((redis1 - redis0) * 1e6) / r.requests,
        commands: commandsPerRequest(stats0, stats1, r.requests),
      };
    }
    return out;
  } finally {
    for (const proc of [loader, server]) {
      if (proc.exitCode === null) proc.send('stop');
      await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r()));
    }
  }
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  const argv = process.argv.slice(2);
  const flag = (name, dflt) => {
    const i = argv.indexOf(name);
    return i < 0 ? dflt : Number(argv[i + 1]);
  };
  const smoke = argv.includes('--smoke');
  const opts = smoke
    ? { rounds: 1, seconds: 0.2, warmup: 0, users: 50 }
    : { rounds: flag('--rounds', 3), seconds: flag('--seconds', 5), warmup: flag('--warmup', 1), users: 500 };
  opts.commands = argv.includes('--commands');
  const { startRedis } = require(path.join(nodePackage, 'test', 'helpers.js'));
  const { createClient } = requireFromPackage('redis');
  // --stores a,b: only these stores (and the rows that pair them), e.g. to profile one of them.
  const only = argv.includes('--stores') ? argv[argv.indexOf('--stores') + 1].split(',') : null;
  const kinds = Object.keys(STORES).filter((k) => !only || only.includes(k));
  console.log(
    `node ${process.version}, ${opts.users} users, ${CONNECTIONS} connections, ${opts.rounds} rounds of ${opts.seconds} s per route; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
  );
  const redis = await startRedis();
  const client = createClient({ url: redis.url });
  await client.connect();
  const results = Object.fromEntries(kinds.map((k) => [k, []]));
  try {
    for (let round = 0; round < opts.rounds; round++) {
      // Rotate the order so no store always runs first or right after another.
      const order = kinds.map((_, i) => kinds[(i + round) % kinds.length]);
      for (const kind of order) {
        const r = await turn(kind, redis, client, opts);
        results[kind].push(r);
        console.log(
          `round ${round + 1} ${kind.padEnd(11)} ` +
            ROUTES.map((route) => `${route} ${Math.round(r[route].rps)} req/s p99 ${r[route].p99.toFixed(1)} ms (CPU µs/req: server ${Math.round(r[route].serverUs)}, redis ${r[route].redisUs.toFixed(1)})`).join('   '),
        );
        if (opts.commands) for (const route of ROUTES) console.log(`    ${route}: Redis commands per request: ${r[route].commands}`);
      }
    }
  } finally {
    await client.quit();
    await redis.stop();
  }

  console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  console.log('medians; ratios are medians of per-round paired ratios, ours / theirs (req/s: above 1 is ours faster; p99: below 1 is ours faster)');
  console.log('| ours | theirs | route | ours req/s | theirs req/s | req/s ratio | ours p99 ms | theirs p99 ms | p99 ratio | server CPU µs/req ours / theirs | Redis CPU µs/req ours / theirs |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [ours, theirs] of PAIRS.filter((pair) => pair.every((k) => kinds.includes(k)))) {
    for (const route of ROUTES) {
      const a = results[ours].map((r) => r[route]);
      const b = results[theirs].map((r) => r[route]);
      const med = (xs, f) => median(xs.map(f));
      const ratio = (f) => median(a.map((x, i) => f(x) / f(b[i])));
      console.log(
        `| ${STORES[ours]} | ${STORES[theirs]} | ${route} | ${Math.round(med(a, (x) => x.rps))} | ${Math.round(med(b, (x) => x.rps))} | ` +
          `${ratio((x) => x.rps).toFixed(2)}x | ${med(a, (x) => x.p99).toFixed(1)} | ${med(b, (x) => x.p99).toFixed(1)} | ${ratio((x) => x.p99).toFixed(2)}x | ` +
          `${Math.round(med(a, (x) => x.serverUs))} / ${Math.round(med(b, (x) => x.serverUs))} | ${med(a, (x) => x.redisUs).toFixed(1)} / ${med(b, (x) => x.redisUs).toFixed(1)} |`,
      );
    }
  }
}

const role = process.argv[2];
if (role === '--serve') {
  serve(process.argv[3], process.argv[4]).catch((e) => {
    console.error(e);
    process.exit(1);
  });
} else if (role === '--load') {
  process.on('message', (m) => (m === 'stop' ? process.exit(0) : load(m)));
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
