'use strict';
// Options objects map key by key onto the core's options schema; custom providers are adapted by
// the core (one adapter, and one lock, per JS object).
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  InMemorySessionProvider,
  RedisSessionProvider,
  LLMPotoModule,
  PotoModule,
  SessionError,
  asProvider,
  runConformance,
  setSessionProvider,
} = require('poto-sessions');
const { startRedis, uniquePrefix, mapProvider } = require('./helpers.js');

const invalid = (pattern) => (e) => {
  assert.ok(e instanceof SessionError, String(e));
  assert.equal(e.code, 'POTO_INVALID_ARGUMENT', e.message);
  if (pattern) assert.match(e.message, pattern);
  return true;
};

test('an unknown option is POTO_INVALID_ARGUMENT naming the known ones', () => {
  assert.throws(() => new InMemorySessionProvider({ ttl: 5 }), invalid(/unknown option "ttl" \(known: ttlMs, maxSessionBytes\)/));
  assert.throws(() => new RedisSessionProvider({ retry: { budgetMs: 10 } }), invalid(/unknown option "retry" \(known: url, prefix, ttlMs, .*retryBudgetMs.*listPageSize.*sentinelUsername.*tlsInsecure.*waitReplicas, waitTimeoutMs\)/));
  assert.throws(() => new PotoModule({ retry: { budgetMs: 10 } }), invalid(/unknown option "retry" \(known: ttlMs, touchAfterMs, retryBudgetMs, retryBaseDelayMs, retryMaxDelayMs, defaultModel\)/));
  assert.throws(() => asProvider(mapProvider(), { maxBytes: 10 }), invalid(/unknown option "maxBytes" \(known: maxSessionBytes\)/));
});

test('values are checked by kind and range, in JS spelling; undefined values are ignored', () => {
  assert.throws(() => new InMemorySessionProvider({ ttlMs: 'x' }), invalid(/option ttlMs must be a number of milliseconds, got a string/));
  assert.throws(() => new InMemorySessionProvider({ ttlMs: 0 }), invalid(/option ttlMs must be between 1 ms and 100 years/));
  assert.throws(() => new InMemorySessionProvider({ ttlMs: -5 }), invalid(/ttlMs/));
  assert.throws(() => new InMemorySessionProvider({ maxSessionBytes: 1.5 }), invalid(/option maxSessionBytes must be a positive whole number/));
  assert.throws(() => new InMemorySessionProvider({ maxSessionBytes: 0 }), invalid(/maxSessionBytes/));
  assert.throws(() => new RedisSessionProvider({ cluster: 'yes' }), invalid(/option cluster must be a boolean/));
  assert.throws(() => new RedisSessionProvider({ listPageSize: 0 }), invalid(/listPageSize/));
  assert.throws(() => new RedisSessionProvider({ waitReplicas: -1 }), invalid(/option waitReplicas must be a positive whole number/));
  assert.throws(() => new RedisSessionProvider({ waitReplicas: 1, waitTimeoutMs: 3000 }), invalid(/waitTimeoutMs .* must not exceed commandTimeoutMs/));
  new RedisSessionProvider({ waitReplicas: 0 }); // 0: no WAIT
  assert.throws(() => new RedisSessionProvider({ prefix: 7 }), invalid(/option prefix must be a string/));
  assert.throws(() => new PotoModule({ retryMaxDelayMs: null }), invalid(/retryMaxDelayMs/));
  assert.throws(() => new PotoModule({ defaultModel: 'llm2' }), invalid(/defaultModel is an option of LLM modules only/));
  assert.throws(() => new PotoModule([]), invalid(/module options must be an object/));
  assert.throws(() => new InMemorySessionProvider('fast'), invalid(/must be an object/));
  // Absent and undefined are the defaults.
  new InMemorySessionProvider({ ttlMs: undefined, maxSessionBytes: undefined });
  new RedisSessionProvider({ listPageSize: 500, retryBudgetMs: 100, retryBaseDelayMs: 1, retryMaxDelayMs: 20, url: undefined });
  assert.equal(new LLMPotoModule({ defaultModel: undefined }).defaultModel, 'llm1');
});

test('retry options are flat schema keys: a spent budget is POTO_CONFLICT', async () => {
  // A provider without compare-and-set whose store changes under every update would conflict
  // forever; here one with compare-and-set whose every swap fails.
  const stale = mapProvider();
  stale.compareAndSet = async () => null;
  const module = new PotoModule({ provider: stale, retryBudgetMs: 30, retryBaseDelayMs: 1, retryMaxDelayMs: 2 });
  const t0 = Date.now();
  await assert.rejects(module.updateUserSessionFor('u', (s) => void (s.n = 1)), (e) => e.code === 'POTO_CONFLICT');
  assert.ok(Date.now() - t0 < 2000);
});

test('listPageSize reaches the Redis provider: listing pages through many sessions', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const p = new RedisSessionProvider(redis.url, { prefix: uniquePrefix('pages'), listPageSize: 3 });
  await Promise.all(Array.from({ length: 200 }, (_, i) => p.setSession(`u${i}`, { i })));
  const ids = await p.getActiveSessions();
  assert.equal(ids.length, 200);
  assert.equal(new Set(ids).size, 200);
  assert.equal(await p.count(), 200);
});

test('custom providers take {maxSessionBytes}: asProvider, setSessionProvider, runConformance', async (t) => {
  const limited = asProvider(mapProvider(), { maxSessionBytes: 300 });
  await limited.setSession('a', { pad: 'x'.repeat(100) });
  await assert.rejects(limited.setSession('b', { pad: 'x'.repeat(400) }), (e) => e.code === 'POTO_TOO_LARGE');

  const global = mapProvider();
  setSessionProvider(global, { maxSessionBytes: 300 });
  t.after(() => setSessionProvider(new InMemorySessionProvider()));
  await assert.rejects(new PotoModule().setSessionValueFor('u', 'pad', 'x'.repeat(400)), (e) => e.code === 'POTO_TOO_LARGE');
  // The module option `provider` takes the provider as asProvider configured it.
  const own = mapProvider({ versioned: false });
  const module = new PotoModule({ provider: asProvider(own, { maxSessionBytes: 300 }) });
  await assert.rejects(module.setSessionValueFor('u', 'pad', 'x'.repeat(400)), (e) => e.code === 'POTO_TOO_LARGE');
  // The same object again: the same adapter (no options, or the same ones); other options are refused.
  await assert.rejects(new PotoModule({ provider: own }).setSessionValueFor('u', 'pad', 'x'.repeat(400)), (e) => e.code === 'POTO_TOO_LARGE');
  asProvider(own, { maxSessionBytes: 300 });
  assert.throws(() => asProvider(own, { maxSessionBytes: 500 }), invalid(/in use with options/));
  assert.throws(() => asProvider(new InMemorySessionProvider(), { maxSessionBytes: 5 }), invalid(/provider written in JS/));

  const report = await runConformance(mapProvider(), null, { maxSessionBytes: 4096 });
  assert.deepEqual(report.failed, []);
  assert.ok(report.passed.includes('too_large'), JSON.stringify(report));
  await assert.rejects(runConformance(mapProvider(), null, { maxSessionBytes: -1 }), invalid(/maxSessionBytes/));
});

test('the core adapts JS providers: required methods, the versioned pair, result checks', async () => {
  const bare = mapProvider({ versioned: false });
  delete bare.clear;
  assert.throws(() => asProvider(bare), invalid(/custom provider lacks clear/));
  const half = mapProvider({ versioned: false });
  half.getVersioned = async () => null;
  assert.throws(() => asProvider(half), invalid(/getVersioned and compareAndSet go together/));
  const sloppy = mapProvider({ versioned: false });
  sloppy.hasSession = async () => 1;
  await assert.rejects(asProvider(sloppy).hasSession('x'), (e) => e.code === 'POTO_PROVIDER' && /hasSession returned a number, not a boolean/.test(e.message));
  const listing = mapProvider({ versioned: false });
  listing.getActiveSessions = async () => [1, 2];
  await assert.rejects(asProvider(listing).getActiveSessions(), (e) => e.code === 'POTO_PROVIDER' && /getActiveSessions returned/.test(e.message));
  // Without count and getStats, both come from getActiveSessions.
  const plain = asProvider(mapProvider({ versioned: false }));
  await plain.setSession('a', {});
  await plain.setSession('b', {});
  assert.equal(await plain.count(), 2);
  assert.deepEqual((await plain.getStats()).activeSessions, 2);
  // A version given as a BigInt keeps its digits.
  const big = mapProvider();
  const getVersioned = big.getVersioned;
  big.compareAndSet = async () => 12345678901234567n;
  big.getVersioned = async (id) => getVersioned(id);
  await new PotoModule({ provider: big }).updateUserSessionFor('u', (s) => void (s.n = 1));
});

test('two modules over one JS provider without compare-and-set share one lock: 200 increments, 200 counted', async () => {
  const provider = mapProvider({ versioned: false });
  // A slow store, so that a read and its write straddle other updates unless they are serialised.
  const { getSession, setSession } = provider;
  provider.getSession = async (id) => {
    await new Promise((r) => setImmediate(r));
    return getSession(id);
  };
  provider.setSession = async (id, data, ttl) => {
    await new Promise((r) => setImmediate(r));
    return setSession(id, data, ttl);
  };
  const modules = [new PotoModule({ provider }), new LLMPotoModule({ provider })];
  await Promise.all(
    Array.from({ length: 200 }, (_, i) =>
      modules[i % 2].updateUserSessionFor('shared', (s) => {
        s.n = (s.n ?? 0) + 1;
      }),
    ),
  );
  assert.equal((await modules[0].getUserSessionFor('shared')).n, 200);
});
