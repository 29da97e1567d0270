'use strict';
// Test helpers: a private redis-server on a free loopback port with a temp dir, stopped by pid;
// optionally also speaking TLS with certificates from a CA made with openssl (makeCerts).
const { execFileSync, spawn } = require('node:child_process');
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

/**
 * Starts redis-server; resolves with {url, port, stop()}. Never touches port 6379. With
 * `tls` (from makeCerts), it also speaks TLS on `tlsPort` (`tlsUrl`: rediss://localhost:port)
 * with `tls.path(serverCert + '.crt')`, requiring client certificates when `authClients`.
 */
async function startRedis({ tls = null, serverCert = 'server', authClients = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poto-node-redis-'));
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    if (port === 6379) continue;
    const tlsPort = tls ? await freePort() : null;
    const tlsArgs = tls
      ? ['--tls-port', String(tlsPort), '--tls-cert-file', tls.path(`${serverCert}.crt`),
         '--tls-key-file', tls.path(`${serverCert}.key`), '--tls-ca-cert-file', tls.path('ca.crt'),
         '--tls-auth-clients', authClients ? 'yes' : 'no']
      : [];
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...tlsArgs, '--dir', dir],
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
        const tlsUrl = tls ? `rediss://localhost:${tlsPort}` : null;
        return { url: `redis://127.0.0.1:${port}`, port, tlsPort, tlsUrl, stop };
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

/** The `openssl ca` configuration of makeCerts (the same as the Rust and Python launchers'). */
const CA_CONFIG = fs.readFileSync(path.join(__dirname, '..', '..', '..', 'tests', 'support', 'test-ca.cnf'), 'utf8');

/**
 * Certificates for TLS tests, made by openssl in a temp dir: `ca.crt` (the test CA),
 * `server.crt`/`.key` (DNS:localhost, IP:127.0.0.1), `client.crt`/`.key`, `other-ca.crt` (an
 * unrelated CA). Returns {dir, path(name), read(name), remove()}.
 */
function makeCerts() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poto-node-certs-'));
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  fs.mkdirSync(path.join(dir, 'db'));
  fs.mkdirSync(path.join(dir, 'newcerts'));
  fs.writeFileSync(path.join(dir, 'db', 'index.txt'), '');
  fs.writeFileSync(path.join(dir, 'db', 'serial'), '1000\n');
  fs.writeFileSync(path.join(dir, 'ca.cnf'), CA_CONFIG.replaceAll('$DIR', dir));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  for (const [name, subject] of [['ca', 'poto test CA'], ['other-ca', 'unrelated CA']]) {
    run('req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${subject}`);
  }
  for (const name of ['server', 'client']) {
    run('req', '-new', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=poto ${name}`);
    run('ca', '-batch', '-notext', '-config', 'ca.cnf', '-extensions', name, '-days', '365',
      '-in', `${name}.csr`, '-out', `${name}.crt`);
  }
  const file = (name) => path.join(dir, name);
  return {
    dir,
    path: file,
    read: (name) => fs.readFileSync(file(name), 'utf8'),
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

module.exports = { startRedis, uniquePrefix, mapProvider, freePort, makeCerts };
