'use strict';
// The express benchmark (benches/node/express.js) in its smoke mode: one short round of every
// store through a real express app, a private redis-server and autocannon, so the script cannot
// rot. It exits non-zero on any failed request; no figure is checked.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFile } = require('node:child_process');
const path = require('node:path');

const script = path.join(__dirname, '..', '..', '..', 'benches', 'node', 'express.js');

test('the express benchmark runs every store (smoke)', async () => {
  const out = await new Promise((resolve, reject) =>
    execFile(process.execPath, [script, '--smoke'], { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
  for (const store of ['connect-redis 9, disableTouch: true', 'poto-sessions on Redis, touchAfterMs: 0', 'express-session MemoryStore']) {
    assert.ok(out.includes(`| ${store} |`), `no row for ${store} in:\n${out}`);
  }
});
