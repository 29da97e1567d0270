#!/usr/bin/env node
// Builds the addon with cargo (the workspace's one target dir) and copies it to
// native/poto-sessions.<platform>-<arch>.node, which lib/loader.js loads and `npm pack` ships.
// Usage: node scripts/build.js [--release | --failpoints]
// --failpoints: a test build with core's failpoints (core/src/failpoint.rs), as
// scripts/test-node.sh builds it; never with --release, which is what ships.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const release = process.argv.includes('--release');
const failpoints = process.argv.includes('--failpoints');
if (release && failpoints) {
  console.error('build.js: --failpoints is for test builds only; a --release build never has them');
  process.exit(2);
}
const root = path.resolve(__dirname, '..', '..', '..');
const args = ['build', '-p', 'poto-sessions-node'];
if (release) args.push('--release');
if (failpoints) args.push('--features', 'failpoints');
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });

const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(root, process.env.CARGO_TARGET_DIR)
  : path.join(root, 'target');
const libName = { darwin: 'libpoto_sessions_node.dylib', win32: 'poto_sessions_node.dll' }[process.platform]
  || 'libpoto_sessions_node.so';
const built = path.join(targetDir, release ? 'release' : 'debug', libName);
const dest = path.join(__dirname, '..', 'native', `poto-sessions.${process.platform}-${process.arch}.node`);
fs.mkdirSync(path.dirname(dest), { recursive: true });
// Copy through a temporary name, so a running process keeps its mapped copy intact.
const tmp = `${dest}.${process.pid}.tmp`;
fs.copyFileSync(built, tmp);
fs.renameSync(tmp, dest);
console.log(`built ${path.relative(process.cwd(), dest)} (${release ? 'release' : failpoints ? 'debug, failpoints' : 'debug'})`);
