'use strict';
// An express-session store over any poto-sessions provider (built-in or a JS custom provider),
// shaped like connect-redis: every method takes an optional callback and returns a promise, and
// nothing it does can throw outside them. Each express session is stored as the provider session
// `{sess: <the express session>}` under its session id, so application fields such as `userId`
// never collide with the provider's own keys; its TTL comes from the session cookie (expires /
// maxAge), else `ttlMs` (default 24 h).

const { asProvider } = require('./lib/providers.js');

const DAY_MS = 24 * 60 * 60 * 1000;
/** Default `touchAfterMs`, as the modules' `touch_after` (DESIGN §4.10). */
const TOUCH_AFTER_MS = 60_000;
/** Sessions read but not yet touched or saved whose lastActivity the store remembers. */
const REMEMBERED = 10_000;
const classes = new WeakMap();

/**
 * Runs `body` (sync or async) and settles `cb` with its outcome when one is given; returns a
 * promise either way, of the callback's return value when there is a callback.
 */
function settle(body, cb) {
  const outcome = (async () => body())();
  if (typeof cb !== 'function') return outcome;
  return outcome.then((value) => cb(null, value), (err) => cb(err));
}

function storeClass(session) {
  const Store = session && session.Store;
  if (typeof Store !== 'function') throw new TypeError('createExpressSessionStore: pass the express-session module as `session`');
  let cls = classes.get(Store);
  if (cls) return cls;

  cls = class PotoSessionStore extends Store {
    constructor(options) {
      super();
      this.provider = asProvider(options.provider);
      this.ttlMs = options.ttlMs ?? DAY_MS;
      this.touchAfterMs = options.touchAfterMs ?? TOUCH_AFTER_MS;
      if (typeof this.touchAfterMs !== 'number' || !(this.touchAfterMs >= 0)) {
        throw new TypeError('createExpressSessionStore: touchAfterMs must be a number of milliseconds >= 0');
      }
      this.disableTouch = Boolean(options.disableTouch);
      /** sid → the stored lastActivity (ms) seen by get(), for the touch that ends the request. */
      this.seen = new Map();
    }

    /** Milliseconds this session should live, from its cookie; <= 0 means already expired. */
    ttlOf(sess) {
      const cookie = sess && sess.cookie;
      if (cookie && cookie.expires) return new Date(cookie.expires).getTime() - Date.now();
      if (cookie && typeof cookie.maxAge === 'number') return cookie.maxAge;
      return this.ttlMs;
    }

    remember(sid, lastActivity) {
      const ms = Date.parse(lastActivity);
      if (Number.isNaN(ms)) return;
      if (this.seen.size >= REMEMBERED) this.seen.delete(this.seen.keys().next().value);
      this.seen.set(sid, ms);
    }

    /** The lastActivity get() saw, forgotten once asked for. */
    recall(sid) {
      const ms = this.seen.get(sid);
      this.seen.delete(sid);
      return ms;
    }

    get(sid, cb) {
      return settle(async () => {
        const data = await this.provider.getSession(sid);
        if (!data) return null;
        this.remember(sid, data.lastActivity);
        return data.sess;
      }, cb);
    }

    set(sid, sess, cb) {
      return settle(async () => {
        this.recall(sid);
        const ttl = this.ttlOf(sess);
        if (ttl < 1) return void (await this.provider.deleteSession(sid));
        await this.provider.setSession(sid, { sess }, Math.ceil(ttl));
      }, cb);
    }

    /**
     * Restarts the session's TTL, lazily: when this request's get() saw a lastActivity more
     * recent than `touchAfterMs` (capped at half the TTL), nothing is sent. The comparison
     * uses this process's clock against the stamp the provider wrote (the Redis server's
     * clock), so clock skew between the two shifts when touches happen by that much.
     */
    touch(sid, sess, cb) {
      return settle(async () => {
        const last = this.recall(sid);
        if (this.disableTouch) return;
        const ttl = this.ttlOf(sess);
        if (ttl < 1) return void (await this.provider.deleteSession(sid));
        const touchAfter = Math.min(this.touchAfterMs, ttl / 2);
        if (last !== undefined && touchAfter > 0 && Date.now() - last < touchAfter) return;
        await this.provider.touch(sid, Math.ceil(ttl));
      }, cb);
    }

    destroy(sid, cb) {
      return settle(async () => {
        this.recall(sid);
        await this.provider.deleteSession(sid);
      }, cb);
    }

    /** Every live session, each with its `id` (express-session's documented shape, as connect-redis). */
    all(cb) {
      return settle(async () => {
        const out = [];
        for (const sid of await this.provider.getActiveSessions()) {
          const data = await this.provider.getSession(sid);
          if (data && data.sess && typeof data.sess === 'object') out.push(Object.assign(data.sess, { id: sid }));
        }
        return out;
      }, cb);
    }

    length(cb) {
      return settle(() => this.provider.count(), cb);
    }

    clear(cb) {
      return settle(async () => {
        this.seen.clear();
        await this.provider.clear();
      }, cb);
    }

    ids(cb) {
      return settle(() => this.provider.getActiveSessions(), cb);
    }
  };
  classes.set(Store, cls);
  return cls;
}

/**
 * A store for express-session: `session({store: createExpressSessionStore({provider}), ...})`.
 * Options: `provider` (required), `session` (the express-session module; default: require'd from
 * the application), `ttlMs` for sessions whose cookie has no expiry (default 24 h),
 * `touchAfterMs` (default 60 s; 0: every touch is sent), `disableTouch`.
 * Use a provider (or Redis prefix) reserved for express sessions.
 */
function createExpressSessionStore(options = {}) {
  if (!options.provider) throw new TypeError('createExpressSessionStore: `provider` is required');
  const session = options.session || require(require.resolve('express-session', { paths: [process.cwd(), __dirname] }));
  const Cls = storeClass(session);
  return new Cls(options);
}

module.exports = { createExpressSessionStore };
