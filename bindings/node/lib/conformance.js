'use strict';
// The core's provider conformance suite, run on any provider (src/lib.rs runConformanceNative).

const native = require('./loader.js');
const { checkMs, optionsText } = require('./values.js');
const { run, guarded } = require('./bridge.js');
const { SessionProviderBase, toNative } = require('./providers.js');

/**
 * Runs the provider conformance suite of the Rust core on `providerA` (built-in or a JS object);
 * `providerB` is a second handle on the same store (for a networked store, a second connection),
 * else `providerA` is used twice. It clears the store first: use one reserved for the test.
 * `options`: `ttlUnitMs`, and `maxSessionBytes`: the size limit to check, and the limit of a
 * provider written in JS (its custom-provider options).
 */
function runConformance(providerA, providerB, options = {}) {
  return guarded(() => {
    const { ttlUnitMs, ...custom } = options ?? {};
    const customText = optionsText(custom, 'conformance options');
    const given = customText === '{}' ? undefined : customText;
    const nativeOf = (p) => (p instanceof SessionProviderBase ? toNative(p) : toNative(p, custom));
    const a = nativeOf(providerA);
    const b = providerB ? nativeOf(providerB) : null;
    // A provider written in JS holds numbers as doubles: integers beyond 2^53 cannot round-trip.
    const jsProvider = !(providerA instanceof SessionProviderBase) || (providerB && !(providerB instanceof SessionProviderBase));
    return run((op) => native.runConformanceNative(op, a, b, checkMs(ttlUnitMs, 'ttlUnitMs'), given, Boolean(jsProvider)));
  });
}

module.exports = { runConformance };
