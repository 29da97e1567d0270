'use strict';
// Test helpers: a private redis-server on a free loopback port with a temp dir, stopped by pid.
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function ping(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setTimeout(500);
    sock.on('connect', () => sock.write('PING\r\n'));
    sock.on('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.on('error', () => resolve(false));
    sock.on('timeout', () => {
      sock.destroy();
      resolve(false);
    });
  });
}

/** Starts redis-server; resolves with {url, port, stop()}. Never touches port 6379. */
async function startRedis() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poto-node-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    if (port === 6379) continue;
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    let exited = false;
    child.on('exit', () => {
      exited = true;
    });
    for (let i = 0; i < 200 && !exited; i++) {
      if (await ping(port)) {
        const stop = () =>
          new Promise((resolve) => {
            if (exited) return resolve();
            child.once('exit', () => {
              fs.rmSync(dir, { recursive: true, force: true });
              resolve();
            });
            child.kill('SIGTERM');
          });
        return { url: `redis://127.0.0.1:${port}`, port, stop };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!exited) child.kill('SIGKILL');
  }
  throw new Error('could not start redis-server');
}

let prefixes = 0;
/** A key prefix no other test uses. */
function uniquePrefix(name) {
  return `t${process.pid}-${name}-${prefixes++}:`;
}

/** A JS custom provider over a Map, with optional versioned reads and compare-and-set. */
function mapProvider({ versioned = true } = {}) {
  const sessions = new Map(); // id -> {data, version, expiresAt}
  let nextVersion = 1;
  const live = (id) => {
    const e = sessions.get(id);
    if (e && e.expiresAt <= Date.now()) {
      sessions.delete(id);
      return undefined;
    }
    return e;
  };
  const provider = {
    calls: 0,
    async getSession(id) {
      provider.calls++;
      const e = live(id);
      return e ? structuredClone(e.data) : null;
    },
    async setSession(id, data, ttlMs) {
      sessions.set(id, { data: structuredClone(data), version: nextVersion++, expiresAt: Date.now() + (ttlMs ?? 86400000) });
    },
    async deleteSession(id) {
      sessions.delete(id);
    },
    async hasSession(id) {
      return live(id) !== undefined;
    },
    async cleanupOldSessions(maxAgeMs) {
      let removed = 0;
      for (const id of [...sessions.keys()]) {
        const e = live(id);
        if (e && Date.now() - Date.parse(e.data.lastActivity) > maxAgeMs) {
          sessions.delete(id);
          removed++;
        }
      }
      return removed;
    },
    async getActiveSessions() {
      return [...sessions.keys()].filter((id) => live(id));
    },
    async clear() {
      const n = (await provider.getActiveSessions()).length;
      sessions.clear();
      return n;
    },
  };
  if (versioned) {
    provider.getVersioned = async (id) => {
      const e = live(id);
      return e ? { data: structuredClone(e.data), version: e.version } : null;
    };
    provider.compareAndSet = async (id, expected, data, ttlMs) => {
      const e = live(id);
      if ((e ? e.version : undefined) !== expected) return null;
      const version = nextVersion++;
      sessions.set(id, { data: structuredClone(data), version, expiresAt: Date.now() + (ttlMs ?? 86400000) });
      return version;
    };
  }
  return provider;
}

module.exports = { startRedis, uniquePrefix, mapProvider, freePort };
