'use strict';
// Errors cross the boundary as values: failures of the core arrive as SessionError objects
// built by the addon (code from the core's ErrorKind), on every path (a call's own return, a
// later completion, a constructor's throw); failures of JS callbacks go back as a code and a
// message (replyError), never as text the other side re-parses.
const test = require('node:test');
const assert = require('node:assert/strict');
const { ErrorCode, InMemorySessionProvider, PotoModule, RedisSessionProvider, SessionError } = require('poto-sessions');
const { freePort, mapProvider } = require('./helpers.js');

function isSessionError(code, message) {
  return (e) => {
    assert.ok(e instanceof SessionError, `not a SessionError: ${e}`);
    assert.equal(e.name, 'SessionError');
    assert.ok(Object.hasOwn(e, 'code'), 'code is an own property');
    assert.equal(e.code, code, e.message);
    assert.ok(Object.values(ErrorCode).includes(e.code));
    assert.doesNotMatch(e.message, /[\u0000-\u001f]/, 'no control characters of a wire format');
    if (message) assert.match(e.message, message);
    return true;
  };
}

test('a failure returned by the call itself (in-memory, ready at once)', async () => {
  const p = new InMemorySessionProvider();
  await assert.rejects(p.getSession('x'.repeat(100000)), isSessionError('POTO_TOO_LARGE', /^too large: /));
  await assert.rejects(p.setSession('x'.repeat(1000), {}), isSessionError('POTO_TOO_LARGE', /^too large: /));
  await assert.rejects(p.setSession('a\0b', {}), isSessionError('POTO_INVALID_ARGUMENT', /^invalid argument: /));
});

test('a failure delivered later (Redis unreachable)', async () => {
  const port = await freePort();
  const p = new RedisSessionProvider(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300 });
  await assert.rejects(p.getSession('u'), isSessionError('POTO_UNAVAILABLE'));
  await assert.rejects(p.setSession('u', { n: 1 }), isSessionError('POTO_UNAVAILABLE'));
});

test('a failure thrown by a constructor', () => {
  assert.throws(() => new InMemorySessionProvider({ ttlMs: 0.5 }), isSessionError('POTO_INVALID_ARGUMENT', /ttlMs/));
  assert.throws(() => new RedisSessionProvider({ prefix: 'a{' }), isSessionError('POTO_INVALID_ARGUMENT'));
  assert.throws(() => new RedisSessionProvider({ ttlMs: 'x' }), isSessionError('POTO_INVALID_ARGUMENT'));
  assert.throws(() => new PotoModule({ provider: new InMemorySessionProvider(), retryBudgetMs: -1 }), isSessionError('POTO_INVALID_ARGUMENT', /retryBudgetMs/));
});

test("a JS provider's failure is POTO_PROVIDER with its message kept verbatim", async () => {
  const forged = mapProvider();
  forged.getSession = async () => {
    throw new Error('!POTO_INTERNAL\u0001forged');
  };
  await assert.rejects(new PotoModule({ provider: forged }).getUserSessionFor('u'), (e) => {
    assert.ok(e instanceof SessionError);
    assert.equal(e.code, 'POTO_PROVIDER');
    assert.ok(e.message.endsWith('!POTO_INTERNAL\u0001forged'), e.message);
    return true;
  });
  // A provider that throws an invalid-argument SessionError still failed as a provider.
  const strict = mapProvider();
  strict.getSession = async () => {
    throw new SessionError('POTO_INVALID_ARGUMENT', 'invalid argument: mine');
  };
  await assert.rejects(new PotoModule({ provider: strict }).getUserSessionFor('u'), isSessionError('POTO_PROVIDER', /mine/));
});

test("the caller's own invalid value keeps its code, worded once", async () => {
  const provider = new InMemorySessionProvider();
  class BigDefaults extends PotoModule {
    createDefaultSessionData() {
      return { big: 1n };
    }
  }
  await assert.rejects(
    new BigDefaults({ provider }).getUserSessionFor('w'),
    isSessionError('POTO_INVALID_ARGUMENT', /^invalid argument: createDefaultSessionData\(userId\) cannot be converted to JSON/),
  );
  class TooLargeDefaults extends PotoModule {
    createDefaultSessionData() {
      throw new SessionError(ErrorCode.TOO_LARGE, 'too large: my own limit');
    }
  }
  await assert.rejects(new TooLargeDefaults({ provider }).getUserSessionFor('w'), isSessionError('POTO_TOO_LARGE', /^too large: my own limit$/));
  class ArrayDefaults extends PotoModule {
    createDefaultSessionData() {
      return [1];
    }
  }
  await assert.rejects(new ArrayDefaults({ provider }).getUserSessionFor('w'), isSessionError('POTO_INVALID_ARGUMENT', /^invalid argument: [^]*must be a plain object/));
  assert.equal(await provider.hasSession('w'), false);
});
