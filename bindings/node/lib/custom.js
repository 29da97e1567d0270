'use strict';
// Custom providers written in JS: any object with the seed's methods, sync or async. The addon
// wraps it (src/custom.rs) in the core's StampedProvider, which validates, stamps and checks what
// it stores and reads; each method call of the core is a request answered here.

const native = require('./loader.js');
const { invalid } = require('./errors.js');
const { sessionText, valueText } = require('./values.js');
const { register, unregister } = require('./bridge.js');

const REQUIRED_METHODS = ['getSession', 'setSession', 'deleteSession', 'hasSession', 'cleanupOldSessions', 'getActiveSessions', 'clear'];
// One native provider per JS object, so every module over it shares one fallback lock.
const natives = new WeakMap();

/** The native provider over JS provider object `provider` (made once per object). */
function customNative(provider, options = {}) {
  if (provider === null || (typeof provider !== 'object' && typeof provider !== 'function')) {
    throw invalid('a session provider must be an object');
  }
  const cached = natives.get(provider);
  if (cached) return cached;
  const missing = REQUIRED_METHODS.filter((m) => typeof provider[m] !== 'function');
  if (missing.length) throw invalid(`custom provider lacks ${missing.join(', ')}`);
  const versioned = typeof provider.getVersioned === 'function';
  if (versioned !== (typeof provider.compareAndSet === 'function')) {
    throw invalid('custom provider: getVersioned and compareAndSet go together');
  }
  const target = register({ passThrough: false, handle: (method, args) => call(provider, method, args) });
  let nat;
  try {
    nat = native.NativeProvider.custom(
      target,
      versioned,
      typeof provider.getStats === 'function',
      typeof provider.count === 'function',
      options.maxSessionBytes,
    );
  } catch (e) {
    unregister(target);
    throw e;
  }
  natives.set(provider, nat);
  return nat;
}

/** Calls `provider[method]` (JSON null arguments as undefined) and returns its result's JSON. */
async function call(provider, method, args) {
  return resultText(method, await provider[method](...args.map((a) => (a === null ? undefined : a))));
}

function resultText(method, r) {
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

module.exports = { customNative };
