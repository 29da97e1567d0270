'use strict';
// Loads the native addon (native/*.node, built from bindings/node/src). scripts/build.js writes
// poto-sessions.<platform>-<arch>.node; `napi build --platform` (npm run build:napi) adds the
// libc to the name on Linux.

const path = require('node:path');

function loadNative() {
  const base = path.join(__dirname, '..', 'native', `poto-sessions.${process.platform}-${process.arch}`);
  const candidates = [`${base}.node`, `${base}-gnu.node`, `${base}-musl.node`, `${base}-msvc.node`];
  for (const file of candidates) {
    try {
      return require(file);
    } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new Error(`poto-sessions: no native addon for ${process.platform}-${process.arch} (looked for ${candidates.join(', ')}); build it with npm run build`);
}

module.exports = loadNative();
