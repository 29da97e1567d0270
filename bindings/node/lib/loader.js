'use strict';
// Loads the native addon, napi-rs style. A build from the repository (scripts/build.js, or
// `npm run build:napi`) leaves it in native/; the published package ships none and instead names
// one package per platform in optionalDependencies (scripts/dist.sh builds
// poto-sessions-linux-x64-gnu), of which npm installs the one matching os/cpu/libc.

const path = require('node:path');

// Linux builds differ by C library: the report's glibc field is absent on musl.
function platformId() {
  let id = `${process.platform}-${process.arch}`;
  if (process.platform === 'linux') {
    const header = process.report && typeof process.report.getReport === 'function' ? process.report.getReport().header : {};
    id += header.glibcVersionRuntime ? '-gnu' : '-musl';
  }
  return id;
}

// The platforms scripts/dist.sh publishes a binary package for.
const PUBLISHED = new Set(['linux-x64-gnu']);

function tryRequire(file) {
  try {
    return require(file);
  } catch (e) {
    if (e.code !== 'MODULE_NOT_FOUND') throw e;
    // A missing dependency of the addon itself must not pass for a missing addon.
    if (!String(e.message).includes(file)) throw e;
    return undefined;
  }
}

function loadNative() {
  const base = path.join(__dirname, '..', 'native', `poto-sessions.${process.platform}-${process.arch}`);
  for (const file of [`${base}.node`, `${base}-gnu.node`, `${base}-musl.node`, `${base}-msvc.node`]) {
    const addon = tryRequire(file);
    if (addon) return addon;
  }
  const id = platformId();
  const pkg = `poto-sessions-${id}`;
  if (PUBLISHED.has(id)) {
    const addon = tryRequire(pkg);
    if (addon) return addon;
    throw new Error(`poto-sessions: the native addon for ${id} is in the optional dependency ${pkg}, which is not installed (was npm run with --omit=optional or --no-optional?): reinstall without that flag, or build from source with Rust and \`npm run build:release\` in bindings/node of the poto-sessions repository.`);
  }
  throw new Error(`poto-sessions: no prebuilt native addon for ${id} (prebuilt: ${[...PUBLISHED].join(', ')}): build it from source with Rust and \`npm run build:release\` in bindings/node of the poto-sessions repository.`);
}

module.exports = loadNative();
