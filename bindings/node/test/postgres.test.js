'use strict';
// The PostgreSQL provider of examples/postgres on a real server, in a database of its own (created
// here, dropped at the end). scripts/test-node.sh makes sure a server runs (scripts/start-postgres.sh)
// and exports PGHOST/PGPORT/PGUSER; without a server these tests fail, they do not skip.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { promisify } = require('node:util');
const pg = require('pg');
const { ErrorCode, LLMPotoModule, PotoModule, asProvider, runConformance, runWithUser } = require('poto-sessions');
const { PostgresSessionProvider } = require('../examples/postgres/postgres-provider.js');

const exampleDir = path.join(__dirname, '..', 'examples', 'postgres');
const database = `poto_test_${process.pid}_${crypto.randomBytes(4).toString('hex')}`;
const server = {
  host: process.env.PGHOST || '127.0.0.1',
  port: Number(process.env.PGPORT || 5432),
  user: process.env.PGUSER || 'postgres',
};
const admin = new pg.Client({ ...server, database: 'postgres' });
const pools = [];
let created = false;

function newPool(options = {}) {
  const pool = new pg.Pool({ ...server, database, max: 8, ...options });
  pool.on('error', () => {}); // an idle connection's failure surfaces on the next query
  pools.push(pool);
  return pool;
}

/**
 * `updates` concurrent increments of one counter spread over `modules`. Waits for every one to
 * settle before asserting: teardown must not end a pool under a pending query (pg-pool never
 * settles a query queued on an ended pool, and the pending operation would keep the process up).
 */
async function concurrentIncrements(modules, updates) {
  const outcomes = await Promise.allSettled(
    Array.from({ length: updates }, (_, i) =>
      modules[i % modules.length].updateUserSessionFor('counter', (s) => {
        s.n = (s.n ?? 0) + 1;
      }),
    ),
  );
  const failures = outcomes.filter((o) => o.status === 'rejected').map((o) => o.reason.message);
  assert.deepEqual(failures, []);
  assert.equal((await modules[0].getUserSessionFor('counter')).n, updates);
}

/** `n` providers on one table, each with its own pool (as separate servers would have). */
function providers(table, n = 2, poolOptions = {}) {
  return Array.from({ length: n }, () => new PostgresSessionProvider(newPool(poolOptions), { table }));
}

test.before(async () => {
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`PostgreSQL at ${server.host}:${server.port} (user ${server.user}) is unavailable: ${e.message}; run scripts/start-postgres.sh`);
  }
  await admin.query(`CREATE DATABASE "${database}" ENCODING 'UTF8' TEMPLATE template0`);
  created = true;
});

test.after(async () => {
  await Promise.all(pools.map((p) => p.end()));
  if (created) await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
  await admin.end();
});

test('conformance suite: two pools on one table; clear() keeps other tables', async () => {
  const [a, b] = providers('conf_sessions');
  const [other] = providers('other_sessions', 1);
  await Promise.all([a.ensureSchema(), b.ensureSchema(), other.ensureSchema()]);
  await asProvider(other).setSession('bystander', { kept: true });

  const report = await runConformance(a, b, { maxSessionBytes: 1024 * 1024, ttlUnitMs: 500 });
  assert.deepEqual(report.failed, [], JSON.stringify(report.failed, null, 2));
  assert.ok(report.passed.includes('compare_and_set') && report.passed.includes('contended_updates'), String(report.passed));
  assert.ok(report.passed.length >= 16, `only ${report.passed.length} checks ran`);

  assert.deepEqual(await other.getActiveSessions(), ['bystander']);
  assert.equal(await a.count(), 0);
});

test('module API on two pools: sessions, model, values, exact concurrent updates', async () => {
  const [a, b] = providers('module_sessions');
  await a.ensureSchema();
  const retry = { retryBudgetMs: 30000 };
  PotoModule.setSessionProvider(a);
  const server1 = new LLMPotoModule({ ...retry }); // the global provider
  const server2 = new LLMPotoModule({ provider: b, ...retry });

  await runWithUser('alice', async () => {
    const session = await server1.getUserSession();
    assert.equal(session.userId, 'alice');
    assert.equal(session.currentModelName, 'llm1');
    await server1.updateUserSession((s) => {
      s.zeta = 1;
      s.alpha = 'é🙂';
    });
    await server1.updateUserModel('llm2');
    await server1.setSessionValue('theme', 'dark');
  });
  assert.equal(await runWithUser('alice', () => server2.getUserModel()), 'llm2');
  assert.equal(await server2.getSessionValueFor('alice', 'theme'), 'dark');

  // The row holds the very text that JSON.stringify gives for what is read back.
  const stored = await asProvider(b).getSession('alice');
  const { rows } = await a.pool.query('SELECT data FROM module_sessions WHERE user_id = $1', ['alice']);
  assert.equal(rows[0].data, JSON.stringify(stored));

  await concurrentIncrements([server1, server2], 40);
  assert.deepEqual((await server2.getSessionStats()).userIds.sort(), ['alice', 'counter']);

  await runWithUser('alice', () => server2.deleteUserSession());
  assert.equal(await a.hasSession('alice'), false);
});

test('serializable sessions: a racing write aborts the statement, and updates still all apply', async () => {
  const [a, b] = providers('serializable_sessions', 2, { options: '-c default_transaction_isolation=serializable' });
  await a.ensureSchema();
  const { rows } = await b.pool.query('SHOW transaction_isolation');
  assert.equal(rows[0].transaction_isolation, 'serializable');
  const retry = { retryBudgetMs: 30000 };
  await concurrentIncrements([new PotoModule({ provider: a, ...retry }), new PotoModule({ provider: b, ...retry })], 40);
});

test('a bad stored row fails reads and updates with the documented error and is left as it was', async () => {
  const [p] = providers('corrupt_sessions', 1);
  await p.ensureSchema();
  const rows = {
    broken: '{"userId":"broken","n":',
    list: '[1,2]',
    stamp: '{"userId":"stamp","lastActivity":5}',
  };
  for (const [id, text] of Object.entries(rows)) {
    await p.pool.query(
      `INSERT INTO corrupt_sessions (user_id, data, last_activity, expires_at) VALUES ($1, $2, now(), now() + interval '1 hour')`,
      [id, text],
    );
  }
  const module = new PotoModule({ provider: p });
  const provider = asProvider(p);
  const calls = (id) => [
    () => provider.getSession(id),
    () => module.getUserSessionFor(id),
    () =>
      module.updateUserSessionFor(id, (s) => {
        s.n = 1;
      }),
    () => module.setSessionValueFor(id, 'n', 1),
  ];
  // Text that is not a JSON object: the provider throws, naming the user (POTO_PROVIDER).
  for (const id of ['broken', 'list']) {
    for (const call of calls(id)) {
      await assert.rejects(call, (e) => {
        assert.equal(e.code, ErrorCode.PROVIDER, e.message);
        assert.match(e.message, new RegExp(`user "${id}" in table corrupt_sessions is not (valid JSON|a JSON object)`));
        return true;
      });
    }
  }
  // A JSON object with a malformed reserved field: the core's check (POTO_CORRUPT_DATA).
  for (const call of calls('stamp')) {
    await assert.rejects(call, (e) => {
      assert.equal(e.code, ErrorCode.CORRUPT_DATA, e.message);
      assert.match(e.message, /"stamp"/);
      return true;
    });
  }
  const after = await p.pool.query('SELECT user_id, data FROM corrupt_sessions');
  assert.deepEqual(Object.fromEntries(after.rows.map((r) => [r.user_id, r.data])), rows);
});

test('table names are checked: the name is part of SQL text', () => {
  const pool = newPool();
  for (const table of ['sessions; DROP TABLE x', 'Sessions', '1abc', '', 'a'.repeat(49)]) {
    assert.throws(() => new PostgresSessionProvider(pool, { table }), TypeError, table);
  }
  assert.throws(() => new PostgresSessionProvider(null), TypeError);
});

test('the example app runs on the database; README shows the schema ensureSchema creates', async () => {
  const env = { ...process.env, PGHOST: server.host, PGPORT: String(server.port), PGUSER: server.user, PGDATABASE: database };
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(exampleDir, 'app.js')], { env });
  assert.match(stdout, /model read through the other instance: llm2/);
  assert.match(stdout, /Session update failed: POTO_INVALID_ARGUMENT/);
  assert.match(stdout, /^ok$/m);
  const check = new PostgresSessionProvider(newPool());
  assert.equal(await check.hasSession('alice'), false);

  const readme = fs.readFileSync(path.join(exampleDir, 'README.md'), 'utf8');
  assert.ok(readme.includes(PostgresSessionProvider.schema()), 'README.md does not show the current schema');
});
