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
    assert.equal(all[sid].views, 2);
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
    await cb((done) => store.set('short', { cookie: { maxAge: 150 }, views: 1 }, done));
    assert.equal((await cb((done) => store.get('short', done))).views, 1);
    await new Promise((r) => setTimeout(r, 600));
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
