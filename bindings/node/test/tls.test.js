'use strict';
// TLS from Node against a real `redis-server --tls-port` with a CA the test makes with openssl
// (helpers.js, makeCerts): a verified connection with `tlsCaFile` (and `tlsCaPem`), a client
// certificate, a wrong CA as POTO_UNAVAILABLE saying so within the connect timeout, and options
// refused at construction. The full set of TLS failures is core/tests/tls.rs.
const test = require('node:test');
const assert = require('node:assert/strict');
const { RedisSessionProvider, SessionError } = require('poto-sessions');
const { startRedis, uniquePrefix, makeCerts } = require('./helpers.js');

const failsWith = (code, pattern) => (e) => {
  assert.ok(e instanceof SessionError, String(e));
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};

test('TLS: verified connections, client certificates, a wrong CA', async (t) => {
  const certs = makeCerts();
  t.after(() => certs.remove());
  const redis = await startRedis({ tls: certs });
  t.after(() => redis.stop());

  await t.test('a verified connection with tlsCaFile, and with inline tlsCaPem', async () => {
    for (const trust of [{ tlsCaFile: certs.path('ca.crt') }, { tlsCaPem: certs.read('ca.crt') }]) {
      const p = new RedisSessionProvider(redis.tlsUrl, { prefix: uniquePrefix('tls'), ...trust });
      await p.setSession('alice', { theme: 'dark' });
      assert.equal((await p.getSession('alice')).theme, 'dark');
      await p.deleteSession('alice');
    }
  });

  await t.test('a wrong CA is POTO_UNAVAILABLE within the connect timeout', async () => {
    const p = new RedisSessionProvider(redis.tlsUrl, {
      prefix: uniquePrefix('tls'),
      connectTimeoutMs: 1500,
      tlsCaFile: certs.path('other-ca.crt'),
    });
    const t0 = Date.now();
    await assert.rejects(p.getSession('alice'), failsWith('POTO_UNAVAILABLE', /unknown CA/));
    assert.ok(Date.now() - t0 < 1500 + 5000); // generous: this is no latency test
  });

  await t.test('a server requiring client certificates', async (tt) => {
    const strict = await startRedis({ tls: certs, authClients: true });
    tt.after(() => strict.stop());
    const options = { prefix: uniquePrefix('tls'), tlsCaFile: certs.path('ca.crt') };
    const without = new RedisSessionProvider(strict.tlsUrl, options);
    await assert.rejects(without.getSession('a'), failsWith('POTO_UNAVAILABLE', /requires a client certificate/));
    const withCert = new RedisSessionProvider(strict.tlsUrl, {
      ...options,
      tlsCertFile: certs.path('client.crt'),
      tlsKeyFile: certs.path('client.key'),
    });
    await withCert.setSession('a', { n: 1 });
    assert.equal(await withCert.hasSession('a'), true);
  });

  await t.test('options that cannot work are POTO_INVALID_ARGUMENT at construction', () => {
    const url = 'rediss://localhost:1';
    assert.throws(() => new RedisSessionProvider(url, { tlsCertFile: certs.path('client.crt') }),
      failsWith('POTO_INVALID_ARGUMENT', /tlsCertFile given without tlsKeyFile/));
    assert.throws(() => new RedisSessionProvider(url, { tlsCaFile: '/nonexistent/ca.pem' }),
      failsWith('POTO_INVALID_ARGUMENT', /tlsCaFile: cannot read/));
    assert.throws(() => new RedisSessionProvider('redis://localhost:1', { tlsInsecure: true }),
      failsWith('POTO_INVALID_ARGUMENT', /tlsInsecure given, but the url redis:\/\/localhost:1 is not TLS/));
  });
});
