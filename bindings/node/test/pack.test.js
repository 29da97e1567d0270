'use strict';
// npm packs the package, installs the tarball in a fresh folder (no registry needed: the package
// has no dependencies) and runs the seed's example there, via require and via import.
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pkgDir = path.resolve(__dirname, '..');

test('npm pack, install the tarball in a fresh folder, run the seed example', (t) => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'poto-node-pack-'));
  t.after(() => fs.rmSync(work, { recursive: true, force: true }));
  const npmEnv = { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, env: npmEnv, encoding: 'utf8' });
  const [info] = JSON.parse(out.slice(out.indexOf('[')));
  const files = info.files.map((f) => f.path);
  const libFiles = fs.readdirSync(path.join(pkgDir, 'lib')).map((f) => `lib/${f}`);
  assert.ok(libFiles.length > 0);
  for (const f of ['index.js', 'index.mjs', 'index.d.ts', 'express-store.js', 'package.json', ...libFiles, `native/poto-sessions.${process.platform}-${process.arch}.node`]) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files}`);
  }
  assert.ok(!files.some((f) => /^(src|test|examples)\//.test(f)), 'sources, tests or examples were packed');
  // Examples' libraries (pg, express...) are dev dependencies: an install pulls in nothing.
  assert.equal(require('../package.json').dependencies, undefined);

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-package-lock', path.join(work, info.filename)], { cwd: app, env: npmEnv, stdio: 'pipe' });
  fs.copyFileSync(path.join(pkgDir, 'examples', 'seed-example.js'), path.join(app, 'seed-example.js'));
  const env = { ...process.env };
  delete env.REDIS_URL;
  const result = execFileSync(process.execPath, ['seed-example.js'], { cwd: app, env, encoding: 'utf8' });
  assert.match(result, /model read through the other instance: llm2/);
  assert.match(result, /^ok$/m);
  fs.writeFileSync(path.join(app, 'esm.mjs'), "import { LLMPotoModule, runWithUser } from 'poto-sessions';\nconsole.log(await runWithUser('u', () => new LLMPotoModule().getUserModel()));\n");
  assert.equal(execFileSync(process.execPath, ['esm.mjs'], { cwd: app, env, encoding: 'utf8' }).trim(), 'llm1');
});
