'use strict';
// No panic leaves a call waiting: with a failpoint armed (core/src/failpoint.rs; scripts/test-node.sh
// builds the addon with `--failpoints`), the promise rejects with SessionError POTO_INTERNAL, in
// the awaited future (ready at once or finished on the runtime) and in a task it waits on, and
// the next call resolves. A promise left pending shows as the generous `settles` deadline, not as
// a timed assertion.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const path = require('node:path');
const native = require('../lib/loader.js');
const { InMemorySessionProvider, PotoModule, RedisSessionProvider, SessionError } = require('poto-sessions');
const { asProvider } = require('../lib/providers.js');
const { startRedis, uniquePrefix, mapProvider } = require('./helpers.js');

const LOST_MS = 120000; // far beyond any call here: reaching it means the call was left waiting
const armed = typeof native.armFailpoint === 'function';
const skip = armed ? false : 'an addon built without failpoints (node scripts/build.js --failpoints)';
if (!armed && process.env.POTO_FAILPOINTS_REQUIRED) {
  throw new Error('POTO_FAILPOINTS_REQUIRED is set, but this addon has no failpoints: nothing here would run');
}

function settles(promise) {
  let timer;
  const lost = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error('the call was left waiting')), LOST_MS);
  });
  return Promise.race([promise, lost]).finally(() => clearTimeout(timer));
}

async function failsThenWorks(point, call) {
  native.armFailpoint(point, 1);
  await assert.rejects(settles(call()), (e) => {
    assert.ok(e instanceof SessionError, `not a SessionError: ${e}`);
    assert.equal(e.code, 'POTO_INTERNAL', e.message);
    assert.match(e.message, new RegExp(`panicked.*${point.replace('.', '\\.')}`));
    return true;
  });
  await settles(call());
}

test('in-memory provider: reads and writes', { skip }, async () => {
  const store = new InMemorySessionProvider();
  await store.setSession('ada', { n: 1 });
  await failsThenWorks('memory.get', () => store.getSession('ada'));
  await failsThenWorks('memory.set', () => store.setSession('ada', { n: 2 }));
});

test('module update path', { skip }, async () => {
  const module = new PotoModule({ provider: new InMemorySessionProvider() });
  await failsThenWorks('module.update', () => module.updateUserSessionFor('ada', (s) => { s.n = 1; }));
});

test('redis provider: a command of each access, on the runtime', { skip }, async () => {
  const redis = await startRedis();
  try {
    const store = new RedisSessionProvider(redis.url, { prefix: uniquePrefix('panics') });
    await store.setSession('ada', { n: 1 });
    await failsThenWorks('redis.read', () => store.getSession('ada'));
    await failsThenWorks('redis.write', () => store.setSession('ada', { n: 2 }));
    const module = new PotoModule({ provider: store });
    await failsThenWorks('module.update', () => module.updateUserSessionFor('ada', (s) => { s.n = 3; }));
  } finally {
    await redis.stop();
  }
});

test('custom provider host call path', { skip }, async () => {
  const store = asProvider(mapProvider());
  await failsThenWorks('host.call', () => store.getSession('ada'));
  const module = new PotoModule({ provider: mapProvider() });
  await failsThenWorks('host.call', () => module.getUserSessionFor('ada'));
});

test('many calls in flight: each armed hit rejects, the others resolve', { skip }, async () => {
  const store = new InMemorySessionProvider();
  native.armFailpoint('memory.set', 5);
  const outcomes = await settles(Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.setSession(`u${i}`, { i }))));
  const rejected = outcomes.filter((o) => o.status === 'rejected');
  assert.equal(rejected.length, 5);
  for (const o of rejected) assert.equal(o.reason.code, 'POTO_INTERNAL');
});

test('a release build refuses failpoints', () => {
  // Checked before anything is built: the shipped (--release) addon never has them.
  assert.throws(
    () => execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'build.js'), '--release', '--failpoints'], { stdio: 'pipe' }),
    (e) => e.status === 2 && /test builds only/.test(String(e.stderr)),
  );
});
