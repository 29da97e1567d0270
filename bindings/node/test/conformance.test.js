'use strict';
// The core's provider conformance suite, run from JS on every kind of provider.
const test = require('node:test');
const assert = require('node:assert/strict');
const { InMemorySessionProvider, RedisSessionProvider, runConformance } = require('poto-sessions');
const { startRedis, uniquePrefix, mapProvider } = require('./helpers.js');

function assertPassed(report, skipped = []) {
  assert.deepEqual(report.failed, [], JSON.stringify(report.failed, null, 2));
  assert.equal(report.ok, true);
  assert.deepEqual(report.skipped.map((s) => s.name), skipped);
  assert.ok(report.passed.length + skipped.length >= 16, `only ${report.passed.length} checks ran`);
}

test('conformance: in-memory provider', async () => {
  assertPassed(await runConformance(new InMemorySessionProvider(), null, { maxSessionBytes: 1024 * 1024 }));
});

test('conformance: Redis provider, two connections', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const prefix = uniquePrefix('conf');
  const a = new RedisSessionProvider(redis.url, { prefix });
  const b = new RedisSessionProvider(redis.url, { prefix });
  assertPassed(await runConformance(a, b, { maxSessionBytes: 1024 * 1024 }));
});

test('conformance: JS custom provider with compare-and-set', async () => {
  assertPassed(await runConformance(mapProvider(), null, { maxSessionBytes: 1024 * 1024 }));
});

test('conformance: JS custom provider without compare-and-set (per-process lock)', async () => {
  // Without maxSessionBytes and compare-and-set, those checks are skipped, not passed.
  assertPassed(await runConformance(mapProvider({ versioned: false })), ['too_large', 'compare_and_set']);
});

test('conformance reports failures of a broken provider', async () => {
  const broken = mapProvider({ versioned: false });
  broken.getActiveSessions = async () => ['someone-else'];
  const report = await runConformance(broken);
  assert.equal(report.ok, false);
  assert.ok(report.failed.some((f) => f.name === 'ids_are_data'), JSON.stringify(report.failed));
});
