'use strict';
// The example chat server over HTTP: model preference and history per user, shared by two
// server instances through one Redis.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Worker } = require('node:worker_threads');
const { InMemorySessionProvider, RedisSessionProvider } = require('poto-sessions');
const { ChatServerModule, createServer } = require('../examples/chat-server.js');
const { startRedis, uniquePrefix } = require('./helpers.js');

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return async (method, path, user, body) => {
    const res = await fetch(base + path, {
      method,
      headers: user ? { 'x-user-id': user } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: res.status === 204 ? null : await res.json() };
  };
}

test('chat server: in-memory model preference and history', async (t) => {
  const server = createServer(new ChatServerModule({ provider: new InMemorySessionProvider() }));
  t.after(() => server.close());
  const call = await listen(server);
  assert.equal((await call('GET', '/model', 'alice')).body.model, 'llm1');
  assert.equal((await call('PUT', '/model', 'alice', { model: 'llm2' })).body.model, 'llm2');
  assert.equal((await call('PUT', '/model', 'alice', { model: 'nope' })).status, 400);
  const chat = await call('POST', '/chat', 'alice', { message: 'hi' });
  assert.equal(chat.body.reply, '[llm2] you said: hi');
  const session = (await call('GET', '/session', 'alice')).body;
  assert.equal(session.messages.length, 2);
  assert.equal(session.currentModelName, 'llm2');
  assert.equal((await call('GET', '/model', 'bob')).body.model, 'llm1');
  assert.equal((await call('GET', '/model')).status, 401);
  assert.equal((await call('GET', '/stats')).body.activeSessions, 2);
});

test('chat server: two instances share sessions through Redis', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const prefix = uniquePrefix('chat');
  const s1 = createServer(new ChatServerModule({ provider: new RedisSessionProvider(redis.url, { prefix }) }));
  const s2 = createServer(new ChatServerModule({ provider: new RedisSessionProvider(redis.url, { prefix }) }));
  t.after(() => {
    s1.close();
    s2.close();
  });
  const [one, two] = [await listen(s1), await listen(s2)];
  await one('PUT', '/model', 'carol', { model: 'llm3' });
  assert.equal((await two('POST', '/chat', 'carol', { message: 'hello' })).body.model, 'llm3');
  await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? one : two)('POST', '/chat', 'carol', { message: `m${i}` })));
  const { messages } = (await one('GET', '/session', 'carol')).body;
  const said = messages.filter((m) => m.role === 'user').map((m) => m.content).sort();
  assert.deepEqual(said, Array.from({ length: 10 }, (_, i) => `m${i}`), 'a message was lost between instances');
});

test('a second JS thread is refused with a clear error', async () => {
  const worker = new Worker("try { require(process.argv[2]); console.log('loaded') } catch (e) { require('node:worker_threads').parentPort.postMessage(e.message) }", {
    eval: true,
    argv: [require.resolve('poto-sessions')],
  });
  const message = await new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  assert.match(message, /another JS thread/);
  await worker.terminate();
});
