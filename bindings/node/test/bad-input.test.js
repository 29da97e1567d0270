'use strict';
// The bad-input battery: every rejected value is POTO_INVALID_ARGUMENT (or POTO_TOO_LARGE) and
// leaves nothing written; JSON.stringify's rules decide what a session value is.
const test = require('node:test');
const assert = require('node:assert/strict');
const { InMemorySessionProvider, LLMPotoModule, PotoModule, SessionError, runWithUser } = require('poto-sessions');
const { mapProvider } = require('./helpers.js');

const isCode = (code) => (e) => {
  assert.ok(e instanceof SessionError, `not a SessionError: ${e}`);
  assert.equal(e.code, code, e.message);
  return true;
};
const invalid = isCode('POTO_INVALID_ARGUMENT');

function cyclic() {
  const o = { a: 1 };
  o.self = o;
  return o;
}

for (const [name, make] of [
  ['in-memory', () => new InMemorySessionProvider()],
  ['JS custom', () => require('poto-sessions').asProvider(mapProvider())],
]) {
  test(`${name}: non-objects, BigInt and cycles are rejected and nothing is written`, async () => {
    const p = make();
    for (const bad of [null, undefined, 42, 'text', true, [1, 2], () => 1, Symbol('s'), new Date(0), { big: 10n }, { nested: [{ deep: 1n }] }, cyclic(), { toJSON: () => 'x' }]) {
      await assert.rejects(p.setSession('u', bad), invalid, String(typeof bad));
    }
    assert.equal(await p.hasSession('u'), false);
    assert.equal(await p.count(), 0);
  });

  test(`${name}: ids are checked (type, empty, NUL, huge)`, async () => {
    const p = make();
    for (const id of [undefined, null, 7, {}, ['a']]) {
      await assert.rejects(p.getSession(id), invalid);
      await assert.rejects(p.setSession(id, {}), invalid);
    }
    await assert.rejects(p.setSession('', {}), invalid);
    await assert.rejects(p.setSession('a\0b', {}), invalid);
    await assert.rejects(p.setSession('x'.repeat(513), {}), isCode('POTO_TOO_LARGE'));
    await assert.rejects(p.getSession('x'.repeat(100000)), isCode('POTO_TOO_LARGE'));
    await p.setSession('y'.repeat(512), {});
    for (const id of ['*', '?', '[a]', 'a:b', '{x}', 'ü 🙂']) await p.setSession(id, { id });
    for (const id of ['*', '?', '[a]', 'a:b', '{x}', 'ü 🙂']) assert.equal((await p.getSession(id)).id, id);
    assert.equal(await p.count(), 7);
  });

  test(`${name}: lone surrogates in ids are refused, so two ids never share a session`, async () => {
    const p = make();
    for (const id of ['\uD800', '\uDC00', 'a\uD83Db', 'x\uDE42']) {
      await assert.rejects(p.setSession(id, { secret: 'alice' }), invalid);
      await assert.rejects(p.getSession(id), invalid);
      await assert.rejects(p.deleteSession(id), invalid);
    }
    assert.equal(await p.count(), 0);
    await p.setSession('\uD83D\uDE42', { ok: true }); // a valid pair (🙂) is an ordinary id
    assert.equal((await p.getSession('🙂')).ok, true);
  });

  test(`${name}: JSON.stringify rules (Date, toJSON, undefined, -0, NaN)`, async () => {
    const p = make();
    await p.setSession('v', {
      when: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6)),
      custom: { toJSON: () => ({ replaced: true }) },
      gone: undefined,
      list: [undefined, () => 1, 1],
      nan: NaN,
      inf: -Infinity,
      big: 2 ** 53 - 1,
      float: 0.1,
      text: 'é\u0000"\\\n🙂',
    });
    const got = await p.getSession('v');
    assert.equal(got.when, '2025-01-02T03:04:05.006Z');
    assert.deepEqual(got.custom, { replaced: true });
    assert.equal('gone' in got, false);
    assert.deepEqual(got.list, [null, null, 1]);
    assert.equal(got.nan, null);
    assert.equal(got.inf, null);
    assert.equal(got.big, 2 ** 53 - 1);
    assert.equal(got.float, 0.1);
    assert.equal(got.text, 'é\u0000"\\\n🙂');
    await assert.rejects(p.setSession('v', { userId: 'someone-else' }), invalid);
    assert.equal((await p.getSession('v')).when, '2025-01-02T03:04:05.006Z');
  });

  test(`${name}: bad TTLs and ages`, async () => {
    const p = make();
    for (const ttl of [0, -1, NaN, Infinity, '10']) await assert.rejects(p.setSession('t', {}, ttl), invalid, String(ttl));
    await assert.rejects(p.cleanupOldSessions(-5), invalid);
    await assert.rejects(p.cleanupOldSessions(), invalid);
    assert.equal(await p.hasSession('t'), false);
  });
}

test('module: a throwing or invalid update function leaves the session unchanged', async () => {
  const provider = new InMemorySessionProvider();
  const module = new LLMPotoModule({ provider });
  await module.setSessionValueFor('u', 'n', 1);
  const before = await provider.getSession('u');
  const thrown = new RangeError('nope');
  await assert.rejects(module.updateUserSessionFor('u', (s) => { s.n = 2; throw thrown; }), (e) => e === thrown);
  await assert.rejects(module.updateUserSessionFor('u', (s) => { s.n = 10n; }), invalid);
  await assert.rejects(module.updateUserSessionFor('u', () => 'not an object'), invalid);
  await assert.rejects(module.updateUserSessionFor('u', (s) => { s.self = s; }), invalid);
  await assert.rejects(module.updateUserSessionFor('u', (s) => ({ ...s, userId: 'other' })), invalid);
  await assert.rejects(module.updateUserSessionFor('u', 'not a function'), invalid);
  assert.deepEqual(await provider.getSession('u'), before);

  await assert.rejects(module.setSessionValueFor('u', 'k', 1n), invalid);
  await assert.rejects(module.setSessionValueFor('u', 'k', undefined), invalid);
  await assert.rejects(module.setSessionValueFor('u', 'k', cyclic()), invalid);
  await assert.rejects(module.setSessionValueFor('u', 'lastActivity', 'x'), invalid);
  await assert.rejects(module.setSessionValueFor('u', 'userId', 'x'), invalid);
  await assert.rejects(module.setSessionValueFor('u', 42, 'x'), invalid);
  await assert.rejects(module.setSessionValueFor('u', 'k\uD800', 'x'), invalid);
  await assert.rejects(module.getSessionValueFor('u', '\uDC00'), invalid);
  await assert.rejects(module.updateUserModelFor('u', 'llm\uD800'), invalid);
  await assert.rejects(module.getUserSessionFor('\uD800'), invalid);
  assert.throws(() => runWithUser('\uDC00', () => 1), invalid);
  await assert.rejects(module.updateUserModelFor('u', ''), invalid);
  await assert.rejects(module.updateUserModelFor('u', 5), invalid);
  await assert.rejects(module.getUserSessionFor('x'.repeat(600)), isCode('POTO_TOO_LARGE'));
  assert.deepEqual(await provider.getSession('u'), before);

  class BadDefaults extends PotoModule {
    createDefaultSessionData() {
      return { big: 1n };
    }
  }
  await assert.rejects(new BadDefaults({ provider }).getUserSessionFor('w'), invalid);
  assert.equal(await provider.hasSession('w'), false);
  assert.throws(() => runWithUser(5, () => 1), invalid);
  assert.throws(() => new InMemorySessionProvider({ ttlMs: -1 }), invalid);
  assert.throws(() => new LLMPotoModule({ defaultModel: '' }), invalid);
});

test('too large sessions are POTO_TOO_LARGE and not written', async () => {
  const p = new InMemorySessionProvider({ maxSessionBytes: 1000 });
  await assert.rejects(p.setSession('big', { blob: 'x'.repeat(2000) }), isCode('POTO_TOO_LARGE'));
  assert.equal(await p.hasSession('big'), false);
});
