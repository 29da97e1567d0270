'use strict';
// An express-session store over any poto-sessions provider (built-in or a JS custom provider).
// Each express session is stored as the provider session `{sess: <the express session>}` under
// its session id, so application fields such as `userId` never collide with the provider's own
// keys; its TTL comes from the session cookie (expires / maxAge), else `ttlMs` (default 24 h).

const { asProvider } = require('./lib/providers.js');

const DAY_MS = 24 * 60 * 60 * 1000;
const classes = new WeakMap();

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
      this.disableTouch = Boolean(options.disableTouch);
    }

    /** Milliseconds this session should live, from its cookie; <= 0 means already expired. */
    ttlOf(sess) {
      const cookie = sess && sess.cookie;
      if (cookie && cookie.expires) return new Date(cookie.expires).getTime() - Date.now();
      if (cookie && typeof cookie.maxAge === 'number') return cookie.maxAge;
      return this.ttlMs;
    }

    get(sid, cb) {
      this.provider.getSession(sid).then((data) => cb(null, data ? data.sess : null), cb);
    }

    set(sid, sess, cb = noop) {
      const ttl = this.ttlOf(sess);
      if (ttl < 1) return this.destroy(sid, cb);
      this.provider.setSession(sid, { sess }, Math.ceil(ttl)).then(() => cb(null), cb);
    }

    touch(sid, sess, cb = noop) {
      if (this.disableTouch) return cb(null);
      const ttl = this.ttlOf(sess);
      if (ttl < 1) return this.destroy(sid, cb);
      this.provider.touch(sid, Math.ceil(ttl)).then(() => cb(null), cb);
    }

    destroy(sid, cb = noop) {
      this.provider.deleteSession(sid).then(() => cb(null), cb);
    }

    /** Every live session, keyed by session id (as express-session's MemoryStore). */
    all(cb) {
      (async () => {
        const out = {};
        for (const sid of await this.provider.getActiveSessions()) {
          const data = await this.provider.getSession(sid);
          if (data) out[sid] = data.sess;
        }
        return out;
      })().then((all) => cb(null, all), cb);
    }

    length(cb) {
      this.provider.count().then((n) => cb(null, n), cb);
    }

    clear(cb = noop) {
      this.provider.clear().then(() => cb(null), cb);
    }

    ids(cb) {
      this.provider.getActiveSessions().then((ids) => cb(null, ids), cb);
    }
  };
  classes.set(Store, cls);
  return cls;
}

function noop() {}

/**
 * A store for express-session: `session({store: createExpressSessionStore({provider}), ...})`.
 * Options: `provider` (required), `session` (the express-session module; default: require'd from
 * the application), `ttlMs` for sessions whose cookie has no expiry (default 24 h), `disableTouch`.
 * Use a provider (or Redis prefix) reserved for express sessions.
 */
function createExpressSessionStore(options = {}) {
  if (!options.provider) throw new TypeError('createExpressSessionStore: `provider` is required');
  const session = options.session || require(require.resolve('express-session', { paths: [process.cwd(), __dirname] }));
  const Cls = storeClass(session);
  return new Cls(options);
}

module.exports = { createExpressSessionStore };
