'use strict';
// Custom providers written in JS: any object with the seed's methods, sync or async. The core
// adapts it (src/custom.rs over the core's host_provider): it checks which methods the object
// has, reads each result, falls back where a method is optional, validates and stamps what is
// stored, and keeps the per-user lock. Here each method call of the core is answered: the method
// runs and its result goes back as JSON.

const native = require('./loader.js');
const { invalid } = require('./errors.js');
const { valueText, optionsText } = require('./values.js');
const { register, unregister } = require('./bridge.js');

/** The names of the methods a provider object may have (the core's list). */
const METHODS = native.customProviderMethods();

// One native provider per JS object, so every module over it shares one adapter (and its lock).
const natives = new WeakMap();

/**
 * The native provider over JS provider object `provider` (made once per object), with
 * `options` ({maxSessionBytes}) the first time. Asking again with other options is refused: the
 * object has one adapter.
 */
function customNative(provider, options) {
  if (provider === null || (typeof provider !== 'object' && typeof provider !== 'function')) {
    throw invalid('a session provider must be an object');
  }
  const text = options === undefined || options === null ? undefined : optionsText(options, 'custom provider options');
  const cached = natives.get(provider);
  if (cached) {
    if (text !== undefined && text !== '{}' && text !== cached.text) {
      throw invalid(`this provider object is in use with options ${cached.text ?? '{}'}: one object has one set of options`);
    }
    return cached.native;
  }
  const methods = METHODS.filter((m) => typeof provider[m] === 'function');
  const target = register({ passThrough: false, handle: (method, args) => call(provider, method, args) });
  let nat;
  try {
    nat = native.NativeProvider.custom(target, methods, text);
  } catch (e) {
    unregister(target);
    throw e;
  }
  natives.set(provider, { native: nat, text });
  return nat;
}

/** Calls `provider[method]` (JSON null arguments as undefined) and returns its result's JSON. */
async function call(provider, method, args) {
  const result = await provider[method](...args.map((a) => (a === null ? undefined : a)));
  if (result === undefined) return 'null';
  // A count or version as a BigInt keeps its digits.
  if (typeof result === 'bigint') return result.toString();
  return valueText(result, `${method} result`);
}

module.exports = { customNative };
