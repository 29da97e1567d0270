'use strict';
// Module and LLM API: current user from AsyncLocalStorage, subclass defaults, atomic updates,
// JS custom providers under the module API, provider errors.
const test = require('node:test');
const assert = require('node:assert/strict');
const {
  InMemorySessionProvider,
  RedisSessionProvider,
  LLMPotoModule,
  PotoModule,
  SessionError,
  currentUser,
  runWithUser,
  setSessionProvider,
} = require('poto-sessions');
const { startRedis, uniquePrefix, mapProvider } = require('./helpers.js');

test('the current user comes from runWithUser (AsyncLocalStorage)', async () => {
  const module = new PotoModule({ provider: new InMemorySessionProvider() });
  await assert.rejects(module.getUserSession(), (e) => e instanceof SessionError && e.code === 'POTO_NOT_AUTHENTICATED');
  const [a, b] = await Promise.all([
    runWithUser('alice', async () => {
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(currentUser(), 'alice');
      return module.getUserSession();
    }),
    runWithUser('bob', () => module.getUserSession()),
  ]);
  assert.equal(a.userId, 'alice');
  assert.equal(b.userId, 'bob');
  assert.equal(currentUser(), undefined);
});

test("seed's Extension Example: createDefaultSessionData override", async () => {
  class MyModule extends LLMPotoModule {
    createDefaultSessionData(userId) {
      return { ...super.createDefaultSessionData(userId), customField: 'default', anotherField: 0 };
    }

    async myMethod() {
      const session = await this.getUserSession();
      return session.customField;
    }
  }
  const module = new MyModule({ provider: new InMemorySessionProvider() });
  assert.equal(await runWithUser('carol', () => module.myMethod()), 'default');
  const session = await module.getUserSessionFor('carol');
  assert.equal(session.currentModelName, 'llm1');
  assert.equal(session.anotherField, 0);
  assert.equal(session.userId, 'carol');
  assert.match(session.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('an async defaults factory, and one that throws', async () => {
  const provider = new InMemorySessionProvider();
  class AsyncDefaults extends PotoModule {
    async createDefaultSessionData(userId) {
      await new Promise((r) => setTimeout(r, 1));
      return { userId, plan: 'free' };
    }
  }
  assert.equal((await new AsyncDefaults({ provider }).getUserSessionFor('dan')).plan, 'free');
  class Failing extends PotoModule {
    createDefaultSessionData() {
      throw new Error('no defaults today');
    }
  }
  await assert.rejects(new Failing({ provider }).getUserSessionFor('eve'), (e) => e.code === 'POTO_PROVIDER' && /no defaults today/.test(e.message));
  assert.equal(await provider.hasSession('eve'), false);
});

test('updateUserSession: mutate, return, async, and a throw changes nothing', async () => {
  const provider = new InMemorySessionProvider();
  const module = new PotoModule({ provider });
  await runWithUser('frank', async () => {
    await module.updateUserSession((s) => {
      s.someField = 'value';
    });
    let written = await module.updateUserSession((s) => ({ ...s, n: 1 }));
    assert.equal(written.someField, 'value');
    assert.equal(written.n, 1);
    written = await module.updateUserSession(async (s) => {
      await new Promise((r) => setTimeout(r, 1));
      s.n += 1;
    });
    assert.equal(written.n, 2);
    const before = await provider.getSession('frank');
    const boom = new Error('boom');
    await assert.rejects(
      module.updateUserSession((s) => {
        s.n = 99;
        throw boom;
      }),
      (e) => e === boom,
    );
    await assert.rejects(module.updateUserSession(async () => Promise.reject(boom)), (e) => e === boom);
    assert.deepEqual(await provider.getSession('frank'), before);
    await module.updateUserSession((s) => {
      assert.equal(currentUser(), 'frank', 'the update function runs in the caller’s context');
    });
    await module.setSessionValue('theme', 'dark');
    assert.equal(await module.getSessionValue('theme'), 'dark');
    assert.equal(await module.getSessionValue('missing'), undefined);
    const stats = await module.getSessionStats();
    assert.deepEqual(stats, { activeSessions: 1, userIds: ['frank'] });
    await module.deleteUserSession();
    assert.equal(await provider.hasSession('frank'), false);
  });
});

async function contended(module, user, updaters = 64, each = 5) {
  await Promise.all(
    Array.from({ length: updaters }, () =>
      runWithUser(user, async () => {
        for (let i = 0; i < each; i++) {
          await module.updateUserSession((s) => {
            s.n = (s.n ?? 0) + 1;
          });
        }
      }),
    ),
  );
  return (await module.getUserSessionFor(user)).n;
}

test('64 concurrent updaters lose nothing: memory, JS provider, JS provider without CAS', async () => {
  assert.equal(await contended(new PotoModule({ provider: new InMemorySessionProvider() }), 'c'), 320);
  assert.equal(await contended(new PotoModule({ provider: mapProvider() }), 'c'), 320);
  assert.equal(await contended(new PotoModule({ provider: mapProvider({ versioned: false }) }), 'c'), 320);
});

test('Redis: cross-instance consistency and 64 updaters through two connections', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const prefix = uniquePrefix('module');
  const server1 = new LLMPotoModule({ provider: new RedisSessionProvider(redis.url, { prefix }) });
  const server2 = new LLMPotoModule({ provider: await RedisSessionProvider.connect({ url: redis.url, prefix }) });
  await runWithUser('alice', () => server1.updateUserModel('llm2'));
  assert.equal(await runWithUser('alice', () => server2.getUserModel()), 'llm2');
  await Promise.all(
    Array.from({ length: 64 }, (_, i) =>
      (i % 2 ? server1 : server2).updateUserSessionFor('counter', (s) => {
        s.n = (s.n ?? 0) + 1;
      }),
    ),
  );
  assert.equal((await server1.getUserSessionFor('counter')).n, 64);
  await assert.rejects(
    new RedisSessionProvider('redis://127.0.0.1:1', { connectTimeoutMs: 500 }).getSession('x'),
    (e) => e.code === 'POTO_UNAVAILABLE',
  );
  assert.throws(() => new RedisSessionProvider(redis.url, { prefix: 'bad{' }), (e) => e.code === 'POTO_INVALID_ARGUMENT');
});

test('a JS custom provider works under the module API and the global setting', async (t) => {
  const provider = mapProvider();
  setSessionProvider(provider);
  t.after(() => setSessionProvider(new InMemorySessionProvider()));
  const llm = new LLMPotoModule();
  await runWithUser('gina', async () => {
    assert.equal(await llm.getUserModel(), 'llm1');
    await llm.updateUserModel('llm3');
    assert.equal(await llm.getUserModel(), 'llm3');
  });
  assert.ok(provider.calls > 0);
  assert.deepEqual(await provider.getActiveSessions(), ['gina']);
  const raw = await provider.getSession('gina');
  assert.equal(raw.userId, 'gina');
  assert.equal(raw.currentModelName, 'llm3');
  assert.ok(raw.createdAt && raw.lastActivity, 'the core stamps sessions of JS providers');
});

test("callbacks run in their caller's async context (the application's AsyncLocalStorage)", async () => {
  const { AsyncLocalStorage } = require('node:async_hooks');
  const requestId = new AsyncLocalStorage();
  const seen = [];
  const provider = mapProvider();
  const getSession = provider.getSession.bind(provider);
  provider.getSession = async (id) => {
    seen.push(['provider', id, requestId.getStore()]);
    return getSession(id);
  };
  class Tracked extends PotoModule {
    createDefaultSessionData(userId) {
      seen.push(['defaults', userId, requestId.getStore()]);
      return { ...super.createDefaultSessionData(userId), request: requestId.getStore() };
    }
  }
  const module = new Tracked({ provider });
  const wrapped = require('poto-sessions').asProvider(provider);
  // Concurrent requests, each with its own store: every callback sees its own request's.
  await Promise.all(
    ['r1', 'r2', 'r3'].map((req, i) =>
      requestId.run(req, async () => {
        await new Promise((r) => setTimeout(r, i));
        const session = await module.getUserSessionFor(`user-${req}`);
        assert.equal(session.request, req);
        await wrapped.getSession(`user-${req}`);
      }),
    ),
  );
  assert.ok(seen.length >= 6, JSON.stringify(seen));
  for (const [, id, store] of seen) assert.equal(`user-${store}`, id, JSON.stringify(seen));
});

test('a rejected promise or a throw in a JS provider is POTO_PROVIDER with its message', async () => {
  const rejecting = mapProvider();
  rejecting.getSession = async () => {
    throw new Error('database is down');
  };
  const throwing = mapProvider({ versioned: false });
  throwing.setSession = () => {
    throw new TypeError('sync failure');
  };
  const module = new PotoModule({ provider: rejecting });
  await assert.rejects(module.getUserSessionFor('x'), (e) => e.code === 'POTO_PROVIDER' && /database is down/.test(e.message));
  await assert.rejects(new PotoModule({ provider: throwing }).updateUserSessionFor('x', () => {}), (e) => e.code === 'POTO_PROVIDER' && /sync failure/.test(e.message));
  const weird = mapProvider({ versioned: false });
  weird.getSession = async () => 'not a session';
  await assert.rejects(new PotoModule({ provider: weird }).getUserSessionFor('x'), (e) => e.code === 'POTO_PROVIDER');
  assert.throws(() => setSessionProvider({ getSession() {} }), (e) => e.code === 'POTO_INVALID_ARGUMENT');
});

test('ESM import gives the same classes', async () => {
  const esm = await import('poto-sessions');
  assert.equal(esm.LLMPotoModule, LLMPotoModule);
  assert.equal(esm.default.PotoModule, PotoModule);
  assert.equal(typeof esm.createExpressSessionStore, 'function');
});

test('Redis: REDIS_URL fallback, and the event loop keeps running while Redis is paused', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const saved = process.env.REDIS_URL;
  process.env.REDIS_URL = redis.url;
  t.after(() => (saved === undefined ? delete process.env.REDIS_URL : (process.env.REDIS_URL = saved)));
  const provider = new RedisSessionProvider({ prefix: uniquePrefix('env') });
  await provider.setSession('u', { n: 1 });

  const { createClient } = require('redis');
  const admin = createClient({ url: redis.url });
  admin.on('error', () => {});
  await admin.connect();
  await admin.sendCommand(['CLIENT', 'PAUSE', '300', 'ALL']);
  let ticks = 0;
  let done = false;
  const read = provider.getSession('u').finally(() => (done = true));
  while (!done) {
    await new Promise((r) => setImmediate(r));
    ticks++;
  }
  assert.equal((await read).n, 1);
  assert.ok(ticks > 1, `the event loop did not turn while Redis was paused (${ticks})`);
  await admin.quit();
});

test('LLM methods on a module that is not an LLM module are POTO_INVALID_ARGUMENT (issue 10, defect 7)', async () => {
  const provider = new InMemorySessionProvider();
  const plain = new PotoModule({ provider });
  const invalid = (e) => e instanceof SessionError && e.code === 'POTO_INVALID_ARGUMENT' && /not an LLM module/.test(e.message);
  await assert.rejects(LLMPotoModule.prototype.getUserModelFor.call(plain, 'u'), invalid);
  await assert.rejects(LLMPotoModule.prototype.updateUserModelFor.call(plain, 'u', 'llm2'), invalid);
  await assert.rejects(LLMPotoModule.prototype.setSystemPromptFor.call(plain, 'u', 'p'), invalid);
  await assert.rejects(LLMPotoModule.prototype.getSystemPromptFor.call(plain, 'u'), invalid);
  await assert.rejects(LLMPotoModule.prototype.setCurrentConversationIdFor.call(plain, 'u', 'c'), invalid);
  await assert.rejects(LLMPotoModule.prototype.getCurrentConversationIdFor.call(plain, 'u'), invalid);
  assert.equal(await provider.hasSession('u'), false, 'nothing was written');
});

test("LLM module: the core's default model, system prompt and current conversation (DESIGN §2)", async () => {
  for (const provider of [new InMemorySessionProvider(), mapProvider()]) {
    const llm = new LLMPotoModule({ provider });
    assert.equal(llm.defaultModel, 'llm1', "the core's DEFAULT_MODEL");
    assert.equal(new LLMPotoModule({ provider, defaultModel: 'llm9' }).defaultModel, 'llm9');
    await runWithUser('ada', async () => {
      assert.equal(await llm.getSystemPrompt(), undefined);
      assert.equal(await llm.getCurrentConversationId(), undefined);
      await llm.setSystemPrompt('You are terse. "Quotes", émoji 🙂\nand lines');
      await llm.setCurrentConversationId('conv-42');
      assert.equal(await llm.getSystemPrompt(), 'You are terse. "Quotes", émoji 🙂\nand lines');
      assert.equal(await llm.getCurrentConversationId(), 'conv-42');
      assert.equal(await llm.getUserModel(), 'llm1');
    });
    assert.equal(await llm.getSystemPromptFor('ada'), 'You are terse. "Quotes", émoji 🙂\nand lines');
    await llm.setCurrentConversationIdFor('ada', '');
    assert.equal(await llm.getCurrentConversationIdFor('ada'), '');
    await llm.setSystemPromptFor('bob', 'be kind');
    assert.equal(await runWithUser('bob', () => llm.getSystemPrompt()), 'be kind');
    const stored = await provider.getSession('ada');
    assert.equal(stored.systemPrompt, 'You are terse. "Quotes", émoji 🙂\nand lines');
    assert.equal(stored.currentConversationId, '');
    assert.equal(stored.currentModelName, 'llm1');

    const isCode = (code) => (e) => e instanceof SessionError && e.code === code;
    await assert.rejects(llm.setSystemPrompt('x'), isCode('POTO_NOT_AUTHENTICATED'));
    await assert.rejects(llm.getCurrentConversationId(), isCode('POTO_NOT_AUTHENTICATED'));
    await assert.rejects(llm.setSystemPromptFor('ada', 5), isCode('POTO_INVALID_ARGUMENT'));
    await assert.rejects(llm.setSystemPromptFor('ada', 'a\uD800'), isCode('POTO_INVALID_ARGUMENT'));
    await assert.rejects(llm.setCurrentConversationIdFor('ada', null), isCode('POTO_INVALID_ARGUMENT'));
    await assert.rejects(llm.getSystemPromptFor(7), isCode('POTO_INVALID_ARGUMENT'));
    assert.equal(await llm.getCurrentConversationIdFor('ada'), '', 'a rejected write changed nothing');
  }
});

test('reads touch lazily: a fresh read writes nothing, touchAfterMs: 0 touches every read', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  for (const provider of [new InMemorySessionProvider(), new RedisSessionProvider(redis.url, { prefix: uniquePrefix('lazy') })]) {
    const lazy = new PotoModule({ provider });
    const eager = new PotoModule({ provider, touchAfterMs: 0 });
    const first = await lazy.getUserSessionFor('reader');
    await sleep(5);
    assert.deepEqual(await lazy.getUserSessionFor('reader'), first);
    assert.equal((await provider.getSession('reader')).lastActivity, first.lastActivity);
    await sleep(5);
    await eager.getUserSessionFor('reader');
    assert.notEqual((await provider.getSession('reader')).lastActivity, first.lastActivity);
  }
});
