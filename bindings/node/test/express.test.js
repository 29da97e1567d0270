'use strict';
// The express-session store in a real express app, over HTTP, on memory, Redis and a JS provider.
const test = require('node:test');
const assert = require('node:assert/strict');
const express = require('express');
const session = require('express-session');
const { InMemorySessionProvider, RedisSessionProvider, createExpressSessionStore } = require('poto-sessions');
const { startRedis, uniquePrefix, mapProvider } = require('./helpers.js');

async function startApp(store, cookie = {}) {
  const app = express();
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false, store, cookie }));
  app.get('/count', (req, res) => {
    req.session.views = (req.session.views ?? 0) + 1;
    req.session.userId = 'app-field-named-userId';
    res.json({ views: req.session.views, id: req.sessionID });
  });
  app.get('/peek', (req, res) => res.json({ views: req.session.views ?? 0 }));
  app.get('/logout', (req, res) => req.session.destroy((err) => (err ? res.status(500).end() : res.json({ ok: true }))));
  const server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const base = `http://127.0.0.1:${server.address().port}`;
  let cookieJar = '';
  const get = async (path) => {
    const res = await fetch(base + path, { headers: cookieJar ? { cookie: cookieJar } : {} });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) cookieJar = setCookie.split(';')[0];
    return res.json();
  };
  return { get, close: () => new Promise((r) => server.close(r)), forget: () => (cookieJar = '') };
}

const cb = (fn) => new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

async function exercise(provider) {
  const store = createExpressSessionStore({ provider, session });
  const app = await startApp(store, { maxAge: 60_000 });
  try {
    assert.equal((await app.get('/count')).views, 1);
    const second = await app.get('/count');
    assert.equal(second.views, 2);
    assert.equal((await app.get('/peek')).views, 2);
    const sid = second.id;

    const stored = await cb((done) => store.get(sid, done));
    assert.equal(stored.views, 2);
    assert.equal(stored.userId, 'app-field-named-userId');
    assert.ok(stored.cookie.expires);
    assert.deepEqual(await cb((done) => store.ids(done)), [sid]);
    assert.equal(await cb((done) => store.length(done)), 1);
    const all = await cb((done) => store.all(done));
    assert.deepEqual(all.map((s) => [s.id, s.views]), [[sid, 2]]);
    await cb((done) => store.touch(sid, stored, done));

    app.forget();
    assert.equal((await app.get('/count')).views, 1);
    assert.equal(await cb((done) => store.length(done)), 2);
    await app.get('/logout');
    assert.equal(await cb((done) => store.length(done)), 1);
    assert.equal(await cb((done) => store.get('no-such-session', done)), null);

    // The TTL comes from the cookie: an expired cookie destroys, a short one expires.
    await cb((done) => store.set('expired', { cookie: { expires: new Date(Date.now() - 1000) }, views: 1 }, done));
    assert.equal(await cb((done) => store.get('expired', done)), null);
    await cb((done) => store.set('short', { cookie: { maxAge: 1000 }, views: 1 }, done));
    assert.equal((await cb((done) => store.get('short', done))).views, 1);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await cb((done) => store.get('short', done)), null);

    await cb((done) => store.clear(done));
    assert.equal(await cb((done) => store.length(done)), 0);
    await assert.rejects(cb((done) => store.set('bad', { cookie: {}, n: 1n }, done)), (e) => e.code === 'POTO_INVALID_ARGUMENT');
  } finally {
    await app.close();
  }
}

test('express-session store on the in-memory provider', async () => {
  await exercise(new InMemorySessionProvider());
});

test('express-session store on Redis', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  await exercise(new RedisSessionProvider(redis.url, { prefix: uniquePrefix('express') }));
});

test('express-session store on a JS custom provider', async () => {
  await exercise(mapProvider());
});

/** The same calls on this package's store and on connect-redis 9 (node-redis 5), one redis-server. */
test('side by side with connect-redis: callbacks, promises, shapes and errors', async (t) => {
  const redis = await startRedis();
  const { RedisStore } = require('connect-redis');
  const { createClient } = require('redis');
  const client = createClient({ url: redis.url });
  await client.connect();
  t.after(async () => {
    await client.quit();
    await redis.stop();
  });
  const stores = {
    ours: createExpressSessionStore({ session, provider: new RedisSessionProvider(redis.url, { prefix: uniquePrefix('side') }) }),
    theirs: new RedisStore({ client, prefix: uniquePrefix('side-cr') }),
  };
  const seen = {};
  for (const [name, store] of Object.entries(stores)) {
    const sess = { cookie: { maxAge: 60_000, originalMaxAge: 60_000 }, views: 3 };
    // Promise forms, no callback: connect-redis 8+ style.
    assert.ok(store.set('s1', sess) instanceof Promise);
    await store.set('s1', sess);
    await store.set('s2', { ...sess, views: 4 });
    const got = await store.get('s1');
    const missing = await store.get('nope');
    const all = (await store.all()).sort((a, b) => a.id.localeCompare(b.id));
    const ids = (await store.ids()).sort();
    const length = await store.length();
    await store.touch('s1', got);
    // Callback forms.
    const viaCallback = await cb((done) => store.get('s2', done));
    // Errors reach the promise or the callback; nothing throws synchronously.
    const bad = { cookie: { maxAge: 60_000 }, n: 1n };
    let thrown = null;
    const rejected = await store.set('bad', bad).then(() => null, (e) => e);
    const viaCb = await new Promise((resolve) => {
      try {
        store.set('bad', bad, (err) => resolve(err));
      } catch (e) {
        thrown = e;
        resolve(null);
      }
    });
    await store.destroy('s1');
    const afterDestroy = await store.get('s1');
    await store.clear();
    seen[name] = {
      got: got.views,
      missing,
      all: all.map((s) => [s.id, s.views]),
      ids,
      length,
      viaCallback: viaCallback.views,
      rejected: rejected instanceof Error,
      viaCb: viaCb instanceof Error,
      thrown,
      afterDestroy,
      lengthAfterClear: await store.length(),
    };
  }
  assert.deepEqual(seen.ours, seen.theirs);
  assert.deepEqual(seen.ours.all, [['s1', 3], ['s2', 4]]);
  assert.equal(seen.ours.rejected && seen.ours.viaCb, true);
});

test('touches are lazy: a fresh session is not touched, touchAfterMs: 0 touches every time', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const provider = new RedisSessionProvider(redis.url, { prefix: uniquePrefix('lazy-store') });
  const sess = { cookie: { maxAge: 60_000 }, views: 1 };
  const lastActivity = async () => (await provider.getSession('sid')).lastActivity;
  for (const [touchAfterMs, touched] of [[undefined, false], [0, true]]) {
    const store = createExpressSessionStore({ session, provider, touchAfterMs });
    await store.set('sid', sess);
    const before = await lastActivity();
    await new Promise((r) => setTimeout(r, 5));
    await store.touch('sid', await store.get('sid'));
    assert.equal((await lastActivity()) !== before, touched, `touchAfterMs ${touchAfterMs}`);
  }
  assert.throws(() => createExpressSessionStore({ session, provider, touchAfterMs: -1 }), /touchAfterMs/);
});
