'use strict';
// poto-sessions for Node: the class API over the native addon (native/*.node, built from
// bindings/node/src). Values cross as JSON text: JSON.stringify here (so Date, toJSON and
// undefined follow JavaScript's own rules; BigInt and cycles are rejected before anything is
// written) and JSON.parse of what comes back.

const path = require('node:path');
const { AsyncLocalStorage, AsyncResource } = require('node:async_hooks');

// scripts/build.js writes poto-sessions.<platform>-<arch>.node; `napi build --platform` (npm run
// build:napi) adds the libc to the name on Linux.
function loadNative() {
  const base = path.join(__dirname, 'native', `poto-sessions.${process.platform}-${process.arch}`);
  const candidates = [`${base}.node`, `${base}-gnu.node`, `${base}-musl.node`, `${base}-msvc.node`];
  for (const file of candidates) {
    try {
      return require(file);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new Error(`poto-sessions: no native addon for ${process.platform}-${process.arch} (looked for ${candidates.join(', ')}); build it with npm run build`);
}
const native = loadNative();

// ---------------------------------------------------------------- errors (DESIGN §7)

const ErrorCode = Object.freeze({
  INVALID_ARGUMENT: 'POTO_INVALID_ARGUMENT',
  CORRUPT_DATA: 'POTO_CORRUPT_DATA',
  TOO_LARGE: 'POTO_TOO_LARGE',
  CONFLICT: 'POTO_CONFLICT',
  UNAVAILABLE: 'POTO_UNAVAILABLE',
  OUTCOME_UNKNOWN: 'POTO_OUTCOME_UNKNOWN',
  PROVIDER: 'POTO_PROVIDER',
  NOT_AUTHENTICATED: 'POTO_NOT_AUTHENTICATED',
  INTERNAL: 'POTO_INTERNAL',
});

/** Every failure of this package: `err.code` is one of `ErrorCode`. */
class SessionError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'SessionError';
    this.code = code;
  }
}

const invalid = (message, cause) =>
  new SessionError(ErrorCode.INVALID_ARGUMENT, `invalid argument: ${message}`, cause ? { cause } : undefined);

/** `!CODE\u0001message` from the addon to a SessionError. */
function decodeError(text) {
  const sep = text.indexOf('\u0001');
  return sep < 0
    ? new SessionError(ErrorCode.INTERNAL, text.slice(1))
    : new SessionError(text.slice(1, sep), text.slice(sep + 1));
}

function fromNativeThrow(e) {
  return e && typeof e.message === 'string' && e.message.charCodeAt(0) === 33 ? decodeError(e.message) : e;
}

// ---------------------------------------------------------------- values (DESIGN §2)

function sessionText(value, what) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalid(`${what} must be a plain object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`${what} cannot be converted to JSON: ${e.message}`, e);
  }
  if (typeof text !== 'string' || text.charCodeAt(0) !== 123 /* { */) {
    throw invalid(`${what} must convert to a JSON object`);
  }
  return text;
}

function valueText(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw invalid(`${what} cannot be converted to JSON: ${e.message}`, e);
  }
  if (typeof text !== 'string') throw invalid(`${what} (${typeof value}) has no JSON form`);
  return text;
}

// A lone surrogate would reach the addon as U+FFFD, so two different ids (or keys) would name
// one session: such strings are refused. (String#isWellFormed is Node 20+.)
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const wellFormed = typeof ''.isWellFormed === 'function' ? (s) => s.isWellFormed() : (s) => !LONE_SURROGATE.test(s);

/** `text` when it is a string of well-formed UTF-16, else an invalid-argument error. */
function checkText(text, what) {
  if (typeof text !== 'string') throw invalid(`${what} must be a string, got ${text === null ? 'null' : typeof text}`);
  if (!wellFormed(text)) throw invalid(`${what} contains a lone UTF-16 surrogate (not valid Unicode)`);
  return text;
}

function checkId(userId) {
  return checkText(userId, 'user id');
}

function checkMs(ms, what, optional = true) {
  if (ms === undefined || ms === null) {
    if (optional) return undefined;
    throw invalid(`${what} is required`);
  }
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw invalid(`${what} must be a finite number of milliseconds`);
  return ms;
}

// ---------------------------------------------------------------- operations

// Each native call gets an operation id. A result ready at once (in-memory) comes back from the
// call itself; otherwise the addon delivers it later through onComplete, in batches.
let nextOp = 1;
const pending = new Map();
// Keeps the process alive while operations are in flight (the addon's wake-up is weak).
const keepAlive = setInterval(() => {}, 1 << 30);
keepAlive.unref();

function settle(text, parse, mapError) {
  if (text.charCodeAt(0) === 33 /* ! */) {
    const err = decodeError(text);
    throw mapError ? mapError(err) : err;
  }
  return parse(text);
}

// The async context of each operation in flight that may call back into JS (custom providers,
// defaults factories): its callbacks run there, so they see the caller's AsyncLocalStorage
// stores (request ids, tracing) rather than those of whoever loaded this package.
const opContexts = new Map();

/** Remembers the caller's async context for operation `op`. */
function keepContext(op) {
  opContexts.set(op, new AsyncResource('poto-sessions'));
}

function onComplete(ids, outcomes) {
  for (let i = 0; i < ids.length; i++) {
    opContexts.delete(ids[i]);
    const p = pending.get(ids[i]);
    if (p === undefined) continue;
    pending.delete(ids[i]);
    try {
      p.resolve(settle(outcomes[i], p.parse, p.mapError));
    } catch (e) {
      p.reject(e);
    }
  }
  if (pending.size === 0) keepAlive.unref();
}

/** Runs `invoke(op)` (a native call) and returns a promise of its parsed outcome. */
function run(invoke, parse = JSON.parse, mapError = undefined) {
  const op = nextOp;
  nextOp = nextOp >= 0xfffffff0 ? 1 : nextOp + 1;
  let ready;
  keepContext(op);
  try {
    ready = invoke(op);
  } catch (e) {
    opContexts.delete(op);
    return Promise.reject(fromNativeThrow(e));
  }
  if (typeof ready === 'string') {
    opContexts.delete(op);
    try {
      return Promise.resolve(settle(ready, parse, mapError));
    } catch (e) {
      return Promise.reject(e);
    }
  }
  return waitFor(op, parse, mapError);
}

/** A promise of operation `op`, settled by onComplete. */
function waitFor(op, parse, mapError = undefined) {
  if (pending.size === 0) keepAlive.ref();
  return new Promise((resolve, reject) => pending.set(op, { resolve, reject, parse, mapError }));
}

/** Runs `body` and turns a synchronous throw into a rejected promise. */
function guarded(body) {
  try {
    return body();
  } catch (e) {
    return Promise.reject(e);
  }
}

// ---------------------------------------------------------------- JS callbacks

// Targets the addon may call: custom providers, update functions, defaults factories.
let nextTarget = 1;
const targets = new Map();

function register(entry) {
  const id = nextTarget++;
  targets.set(id, entry);
  return id;
}

function messageOf(e) {
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return 'non-printable error';
  }
}

const PASS_THROUGH_CODES = new Set([ErrorCode.INVALID_ARGUMENT, ErrorCode.TOO_LARGE]);

function onRequest(ids, ops, targetIds, methods, args) {
  for (let i = 0; i < ids.length; i++) {
    const context = opContexts.get(ops[i]);
    if (context === undefined) handleRequest(ids[i], targetIds[i], methods[i], args[i]);
    else context.runInAsyncScope(handleRequest, null, ids[i], targetIds[i], methods[i], args[i]);
  }
}

async function handleRequest(id, targetId, method, argText) {
  const target = targets.get(targetId);
  let out;
  try {
    if (target === undefined) throw new Error(`callback target ${targetId} is gone`);
    const args = JSON.parse(argText);
    if (method === 'update') {
      let result = await target.fn(args);
      if (result === undefined) result = args;
      out = sessionText(result, "the update function's result");
    } else if (method === 'defaults') {
      const module = target.module.deref();
      if (module === undefined) throw new Error('the module was garbage-collected');
      out = sessionText(await module.createDefaultSessionData(args[0]), 'createDefaultSessionData(userId)');
    } else {
      out = providerResult(method, await target.provider[method](...args.map((a) => (a === null ? undefined : a))));
    }
  } catch (e) {
    if (target !== undefined && target.kind === 'update') target.error = e;
    // A bad value from an update function or defaults factory is the caller's invalid argument;
    // anything a provider does wrong is a provider error.
    const passThrough = target !== undefined && target.kind !== 'provider' && e instanceof SessionError && PASS_THROUGH_CODES.has(e.code);
    out = passThrough
      ? `!${e.code}\u0001${e.message.replace(/^(invalid argument|too large): /, '')}`
      : `!${ErrorCode.PROVIDER}\u0001${messageOf(e)}`;
  }
  native.reply(id, out);
}

function providerResult(method, r) {
  switch (method) {
    case 'getSession':
      return r === null || r === undefined ? 'null' : sessionText(r, 'getSession result');
    case 'setSession':
    case 'deleteSession':
      return 'null';
    case 'hasSession':
      return r ? 'true' : 'false';
    case 'getVersioned':
      return r === null || r === undefined ? 'null' : `{"version":${Number(r.version)},"data":${sessionText(r.data, 'getVersioned data')}}`;
    case 'compareAndSet':
      return typeof r === 'number' ? String(r) : typeof r === 'bigint' ? r.toString() : 'null';
    default:
      return valueText(r === undefined ? null : r, `${method} result`);
  }
}

native.init(onComplete, onRequest);

// ---------------------------------------------------------------- providers

const REQUIRED_METHODS = ['getSession', 'setSession', 'deleteSession', 'hasSession', 'cleanupOldSessions', 'getActiveSessions', 'clear'];
const customNatives = new WeakMap();

/** The native provider behind a built-in provider, or a new one wrapping a JS provider object. */
function toNative(provider, options = {}) {
  if (provider instanceof SessionProviderBase) return provider._native;
  if (provider === null || (typeof provider !== 'object' && typeof provider !== 'function')) {
    throw invalid('a session provider must be an object');
  }
  const cached = customNatives.get(provider);
  if (cached) return cached;
  const missing = REQUIRED_METHODS.filter((m) => typeof provider[m] !== 'function');
  if (missing.length) throw invalid(`custom provider lacks ${missing.join(', ')}`);
  const versioned = typeof provider.getVersioned === 'function';
  if (versioned !== (typeof provider.compareAndSet === 'function')) {
    throw invalid('custom provider: getVersioned and compareAndSet go together');
  }
  const nat = native.NativeProvider.custom(
    register({ kind: 'provider', provider }),
    versioned,
    typeof provider.getStats === 'function',
    typeof provider.count === 'function',
    options.maxSessionBytes,
  );
  customNatives.set(provider, nat);
  return nat;
}

const parseSession = (t) => JSON.parse(t);

/** Methods of every provider this package builds (the seed's UserSessionProvider). */
class SessionProviderBase {
  getSession(userId) {
    // The hot path, written out: an in-memory read is ready at once and never leaves this thread.
    if (typeof userId !== 'string' || !wellFormed(userId)) return guarded(() => checkId(userId));
    if (this._memory === true) {
      const text = this._native.getSessionNow(userId);
      if (text.charCodeAt(0) === 33 /* ! */) return Promise.reject(decodeError(text));
      return Promise.resolve(JSON.parse(text));
    }
    const op = nextOp;
    nextOp = nextOp >= 0xfffffff0 ? 1 : nextOp + 1;
    keepContext(op);
    const ready = this._native.getSession(op, userId);
    if (typeof ready !== 'string') return waitFor(op, parseSession);
    opContexts.delete(op);
    if (ready.charCodeAt(0) === 33 /* ! */) return Promise.reject(decodeError(ready));
    return Promise.resolve(JSON.parse(ready));
  }

  setSession(userId, sessionData, ttlMs) {
    return guarded(() => {
      checkId(userId);
      const text = sessionText(sessionData, 'session data');
      const ttl = checkMs(ttlMs, 'ttlMs');
      return run((op) => this._native.setSession(op, userId, text, ttl));
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
      return run((op) => this._native.touch(op, userId, ttl));
    });
  }

  cleanupOldSessions(maxAgeMs) {
    return guarded(() => {
      const ms = checkMs(maxAgeMs, 'maxAgeMs', false);
      return run((op) => this._native.cleanupOldSessions(op, ms));
    });
  }

  getActiveSessions() {
    return run((op) => this._native.getActiveSessions(op));
  }

  getStats() {
    return run((op) => this._native.getStats(op));
  }

  /** Number of live sessions, without listing them. */
  count() {
    return run((op) => this._native.count(op));
  }

  /** Removes every session of this provider (its prefix only); resolves with how many. */
  clear() {
    return run((op) => this._native.clear(op));
  }
}

/** The default provider: in-process, lost on restart, not shared between instances. */
class InMemorySessionProvider extends SessionProviderBase {
  constructor(options = {}) {
    super();
    try {
      this._native = native.NativeProvider.memory(checkMs(options.ttlMs, 'ttlMs'), options.maxSessionBytes);
      this._memory = true;
    } catch (e) {
      throw fromNativeThrow(e);
    }
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
    const opts = { ...(options || {}) };
    if (url !== undefined && url !== null) {
      if (typeof url !== 'string') throw invalid('redis url must be a string');
      opts.url = url;
    }
    try {
      this._native = native.NativeProvider.redis(valueText(opts, 'redis options'));
    } catch (e) {
      throw fromNativeThrow(e);
    }
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
 */
function asProvider(provider) {
  if (provider instanceof SessionProviderBase) return provider;
  const wrapped = Object.create(SessionProviderBase.prototype);
  wrapped._native = toNative(provider);
  return wrapped;
}

/** Sets the provider every module without its own uses (the seed's PotoModule.setSessionProvider). */
function setSessionProvider(provider) {
  native.setSessionProvider(toNative(provider));
}

// ---------------------------------------------------------------- current user

const userStorage = new AsyncLocalStorage();

/** Runs `fn(...args)` with `userId` as the current user of every module call inside it. */
function runWithUser(userId, fn, ...args) {
  checkId(userId);
  if (typeof fn !== 'function') throw invalid('runWithUser needs a function');
  return userStorage.run(userId, fn, ...args);
}

/** The current user, or undefined outside runWithUser. */
function currentUser() {
  return userStorage.getStore();
}

function requireUser() {
  const user = userStorage.getStore();
  if (user === undefined) {
    throw new SessionError(ErrorCode.NOT_AUTHENTICATED, 'not authenticated: no current user (use runWithUser)');
  }
  return user;
}

// ---------------------------------------------------------------- modules

const moduleTargets = new FinalizationRegistry((id) => targets.delete(id));

/**
 * Generic session management (the seed's PotoModule). Methods without `For` act on the current
 * user (runWithUser); the `...For(userId, ...)` forms take the user explicitly.
 */
class PotoModule {
  /** @param {{provider?: object, ttlMs?: number, retry?: object}} [options] */
  constructor(options = {}) {
    this._options = options || {};
    this._nativeModule = null;
  }

  static setSessionProvider(provider) {
    setSessionProvider(provider);
  }

  /** Default data of a new session; override it to add fields (call super's). */
  createDefaultSessionData(userId) {
    return JSON.parse(this._native.baseSessionData(String(userId)));
  }

  _isLLM() {
    return false;
  }

  get _native() {
    if (this._nativeModule === null) {
      const o = this._options;
      const overridden = this.createDefaultSessionData !== PotoModule.prototype.createDefaultSessionData;
      let defaultsTarget;
      if (overridden) {
        defaultsTarget = register({ kind: 'defaults', module: new WeakRef(this) });
        moduleTargets.register(this, defaultsTarget);
      }
      try {
        this._nativeModule = new native.NativeModule(
          o.provider ? toNative(o.provider) : null,
          this._isLLM(),
          this._isLLM() ? this.defaultModel : undefined,
          checkMs(o.ttlMs, 'ttlMs'),
          defaultsTarget,
          o.retry ? valueText(o.retry, 'retry') : undefined,
        );
      } catch (e) {
        throw fromNativeThrow(e);
      }
    }
    return this._nativeModule;
  }

  getUserSession() {
    return guarded(() => this.getUserSessionFor(requireUser()));
  }

  getUserSessionFor(userId) {
    return guarded(() => {
      checkId(userId);
      return run((op) => this._native.getUserSession(op, userId), parseSession);
    });
  }

  /**
   * Applies `fn` to the current user's session atomically: `fn` mutates the object or returns
   * the one to write (it may be async). Under contention `fn` may run more than once; if it
   * throws, nothing is written and its error is rethrown. Resolves with the session as `fn` left
   * it (the store stamps the write's lastActivity itself; this copy does not show it).
   */
  updateUserSession(fn) {
    return guarded(() => this.updateUserSessionFor(requireUser(), fn));
  }

  updateUserSessionFor(userId, fn) {
    return guarded(() => {
      checkId(userId);
      if (typeof fn !== 'function') throw invalid('updateUserSession needs a function');
      // The function runs later, called from the addon: in the caller's async context (current
      // user, and any AsyncLocalStorage of the application).
      const entry = { kind: 'update', fn: AsyncResource.bind(fn), error: undefined };
      const target = register(entry);
      const done = () => targets.delete(target);
      return run(
        (op) => this._native.updateUserSession(op, userId, target),
        parseSession,
        (err) => entry.error ?? err,
      ).then(
        (v) => {
          done();
          return v;
        },
        (e) => {
          done();
          throw e;
        },
      );
    });
  }

  deleteUserSession() {
    return guarded(() => this.deleteUserSessionFor(requireUser()));
  }

  deleteUserSessionFor(userId) {
    return guarded(() => run((op) => this._native.deleteUserSession(op, checkId(userId))));
  }

  /** `{activeSessions, userIds}` of the module's provider. */
  getSessionStats() {
    return guarded(() => run((op) => this._native.getSessionStats(op)));
  }

  /** Sets one top-level key as one atomic step (no conflict with writes to other keys). */
  setSessionValue(key, value) {
    return guarded(() => this.setSessionValueFor(requireUser(), key, value));
  }

  setSessionValueFor(userId, key, value) {
    return guarded(() => {
      checkId(userId);
      checkText(key, 'session key');
      const text = valueText(value, `value of ${key}`);
      return run((op) => this._native.setSessionValue(op, userId, key, text));
    });
  }

  /** One top-level value of the current user's session, or undefined when unset. */
  getSessionValue(key) {
    return guarded(() => this.getSessionValueFor(requireUser(), key));
  }

  getSessionValueFor(userId, key) {
    return guarded(() => {
      checkId(userId);
      checkText(key, 'session key');
      return run((op) => this._native.getSessionValue(op, userId, key), (t) => (t === '' ? undefined : JSON.parse(t)));
    });
  }
}

/** Sessions that remember each user's model preference (the seed's LLMPotoModule). */
class LLMPotoModule extends PotoModule {
  /** @param {{provider?: object, ttlMs?: number, retry?: object, defaultModel?: string}} [options] */
  constructor(options = {}) {
    super(options);
    const model = (options && options.defaultModel) ?? 'llm1';
    if (typeof model !== 'string' || model === '') throw invalid('defaultModel must be a non-empty string');
    this.defaultModel = model;
  }

  _isLLM() {
    return true;
  }

  updateUserModel(model) {
    return guarded(() => this.updateUserModelFor(requireUser(), model));
  }

  updateUserModelFor(userId, model) {
    return guarded(() => {
      checkId(userId);
      checkText(model, 'model');
      return run((op) => this._native.updateUserModel(op, userId, model));
    });
  }

  getUserModel() {
    return guarded(() => this.getUserModelFor(requireUser()));
  }

  getUserModelFor(userId) {
    return guarded(() => run((op) => this._native.getUserModel(op, checkId(userId))));
  }
}

// ---------------------------------------------------------------- conformance

/**
 * Runs the provider conformance suite of the Rust core on `providerA` (built-in or a JS object);
 * `providerB` is a second handle on the same store (for a networked store, a second connection),
 * else `providerA` is used twice. It clears the store first: use one reserved for the test.
 */
function runConformance(providerA, providerB, options = {}) {
  return guarded(() => {
    const a = toNative(providerA, options);
    const b = providerB ? toNative(providerB, options) : null;
    // A provider written in JS holds numbers as doubles: integers beyond 2^53 cannot round-trip.
    const jsProvider = !(providerA instanceof SessionProviderBase) || (providerB && !(providerB instanceof SessionProviderBase));
    return run(
      (op) =>
        native.runConformanceNative(op, a, b, checkMs(options.ttlUnitMs, 'ttlUnitMs'), options.maxSessionBytes, Boolean(jsProvider)),
      (t) => {
        const report = JSON.parse(t);
        report.ok = report.failed.length === 0;
        return report;
      },
    );
  });
}

module.exports = {
  ErrorCode,
  SessionError,
  InMemorySessionProvider,
  RedisSessionProvider,
  SessionProviderBase,
  asProvider,
  setSessionProvider,
  PotoModule,
  LLMPotoModule,
  runWithUser,
  currentUser,
  runConformance,
};

// The express-session store is loaded on first use (express-session is the app's dependency).
Object.defineProperty(module.exports, 'createExpressSessionStore', {
  enumerable: true,
  get: () => require('./express-store.js').createExpressSessionStore,
});
