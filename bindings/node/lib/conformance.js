'use strict';
// The core's provider conformance suite, run on any provider (src/lib.rs runConformanceNative).

const native = require('./loader.js');
const { checkMs } = require('./values.js');
const { run, guarded } = require('./bridge.js');
const { SessionProviderBase, toNative } = require('./providers.js');

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
      (t) => JSON.parse(t),
    );
  });
}

module.exports = { runConformance };
