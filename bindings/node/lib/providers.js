'use strict';
// The built-in providers (in-memory, Redis) and the provider methods every provider of this
// package has (the seed's UserSessionProvider), over the addon's NativeProvider
// (src/providers.rs).

const native = require('./loader.js');
const { invalid } = require('./errors.js');
const { sessionText, optionsText, checkOptions, wellFormed, checkId, checkMs, parseSession } = require('./values.js');
const { startOp, endOp, run, waitFor, guarded } = require('./bridge.js');
const { customNative } = require('./custom.js');

/**
 * The native provider behind a built-in provider, or the one wrapping a JS provider object
 * (`options`: its {maxSessionBytes}, for a JS object only).
 */
function toNative(provider, options) {
  if (provider instanceof SessionProviderBase) {
    if (options !== undefined && options !== null && optionsText(options, 'provider options') !== '{}') {
      throw invalid('these options are for a provider written in JS; a built-in provider takes its options when made');
    }
    return provider._native;
  }
  return customNative(provider, options);
}

/** Methods of every provider this package builds (the seed's UserSessionProvider). */
class SessionProviderBase {
  /** Runs native call `invoke(op)` (bridge.run), with the caller's async context when it may call JS. */
  _run(invoke) {
    return run(invoke, JSON.parse, undefined, this._callsJs);
  }

  getSession(userId) {
    // The hot path, written out: an in-memory read is ready at once and never leaves this thread.
    if (typeof userId !== 'string' || !wellFormed(userId)) return guarded(() => checkId(userId));
    if (this._memory === true) {
      const now = this._native.getSessionNow(userId);
      return typeof now === 'string' ? Promise.resolve(JSON.parse(now)) : Promise.reject(now);
    }
    const op = startOp(this._callsJs);
    const ready = this._native.getSession(op, userId);
    if (ready === null) return waitFor(op, parseSession);
    endOp(op);
    return typeof ready === 'string' ? Promise.resolve(JSON.parse(ready)) : Promise.reject(ready);
  }

  setSession(userId, sessionData, ttlMs) {
    return guarded(() => {
      checkId(userId);
      const text = sessionText(sessionData, 'session data');
      const ttl = checkMs(ttlMs, 'ttlMs');
      return this._run((op) => this._native.setSession(op, userId, text, ttl));
    });
  }

  deleteSession(userId) {
    return guarded(() => run((op) => this._native.deleteSession(op, checkId(userId))));
  }

  hasSession(userId) {
    return guarded(() => run((op) => this._native.hasSession(op, checkId(userId))));
  }

  /** Restarts the session's TTL (default: the provider's) and stamps lastActivity; false when absent. */
  touch(userId, ttlMs) {
    return guarded(() => {
      checkId(userId);
      const ttl = checkMs(ttlMs, 'ttlMs');
      return this._run((op) => this._native.touch(op, userId, ttl));
    });
  }

  cleanupOldSessions(maxAgeMs) {
    return guarded(() => {
      const ms = checkMs(maxAgeMs, 'maxAgeMs', false);
      return this._run((op) => this._native.cleanupOldSessions(op, ms));
    });
  }

  getActiveSessions() {
    return this._run((op) => this._native.getActiveSessions(op));
  }

  getStats() {
    return this._run((op) => this._native.getStats(op));
  }

  /** Number of live sessions, without listing them. */
  count() {
    return this._run((op) => this._native.count(op));
  }

  /** Removes every session of this provider (its prefix only); resolves with how many. */
  clear() {
    return this._run((op) => this._native.clear(op));
  }
}

/** The text of a built-in provider's options (undefined when none are given). */
const builtInOptions = (options, what) => (options === undefined || options === null ? undefined : optionsText(options, what));

/** The default provider: in-process, lost on restart, not shared between instances. */
class InMemorySessionProvider extends SessionProviderBase {
  /** @param {{ttlMs?: number, maxSessionBytes?: number}} [options] */
  constructor(options) {
    super();
    this._native = native.NativeProvider.memory(builtInOptions(options, 'InMemorySessionProvider options'));
    this._memory = true;
    this._callsJs = false;
  }
}

/**
 * Sessions in Redis, shared by every instance and language. `url` falls back to
 * `options.url`, then `REDIS_URL`, then redis://127.0.0.1:6379. Connects on first use.
 */
class RedisSessionProvider extends SessionProviderBase {
  constructor(url, options) {
    super();
    if (url !== null && typeof url === 'object') {
      options = url;
      url = undefined;
    }
    const opts = { ...(options === undefined || options === null ? {} : checkOptions(options, 'RedisSessionProvider options')) };
    if (url !== undefined && url !== null) {
      if (typeof url !== 'string') throw invalid('redis url must be a string');
      opts.url = url;
    }
    this._native = native.NativeProvider.redis(optionsText(opts, 'RedisSessionProvider options'));
    this._callsJs = false;
  }

  /** Creates the provider and checks now that Redis answers. */
  static async connect(url, options) {
    const provider = new RedisSessionProvider(url, options);
    await provider.count();
    return provider;
  }
}

/**
 * Wraps any provider object (built-in or written in JS) so it has every method of
 * SessionProviderBase, with the package's validation and stamping for JS providers.
 * `options` ({maxSessionBytes}) configure a JS provider object.
 */
function asProvider(provider, options) {
  if (provider instanceof SessionProviderBase) {
    toNative(provider, options); // refuses options meant for a JS provider
    return provider;
  }
  const wrapped = Object.create(SessionProviderBase.prototype);
  wrapped._native = toNative(provider, options);
  wrapped._callsJs = true;
  return wrapped;
}

/**
 * Sets the provider every module without its own uses (the seed's PotoModule.setSessionProvider);
 * `options` ({maxSessionBytes}) configure a JS provider object.
 */
function setSessionProvider(provider, options) {
  native.setSessionProvider(toNative(provider, options));
}

module.exports = {
  SessionProviderBase,
  InMemorySessionProvider,
  RedisSessionProvider,
  asProvider,
  setSessionProvider,
  toNative,
};
