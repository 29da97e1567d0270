// The seed's calls on the PostgreSQL provider: node examples/postgres/app.js
// Connects with the usual PG* variables (default: postgres@127.0.0.1:5432, database poto_demo).
'use strict';
const { Pool } = require('pg');
const { LLMPotoModule, PotoModule, runWithUser } = require('poto-sessions');
const { PostgresSessionProvider } = require('./postgres-provider.js');

// Adding custom session fields (the seed's "Extension Examples").
class MyModule extends LLMPotoModule {
  createDefaultSessionData(userId) {
    return { ...super.createDefaultSessionData(userId), customField: 'default', anotherField: 0 };
  }
}

async function main() {
  const pool = new Pool({
    host: process.env.PGHOST || '127.0.0.1',
    user: process.env.PGUSER || 'postgres',
    database: process.env.PGDATABASE || 'poto_demo',
  });
  pool.on('error', (e) => console.error('idle PostgreSQL connection failed:', e.message));
  try {
    const sessionProvider = new PostgresSessionProvider(pool);
    await sessionProvider.ensureSchema();
    PotoModule.setSessionProvider(sessionProvider);

    // Two module instances stand for two servers; the database keeps them consistent.
    const server1 = new MyModule();
    const server2 = new MyModule();
    await runWithUser('alice', async () => {
      const session = await server1.getUserSession();
      console.log('new session on', session.currentModelName, 'with customField', session.customField);
      await server1.updateUserSession((s) => {
        s.anotherField += 1;
      });
      await server1.updateUserModel('llm2');
    });
    const model = await runWithUser('alice', () => server2.getUserModel());
    console.log('model read through the other instance:', model);
    console.log(`Active sessions: ${(await server2.getSessionStats()).activeSessions}`);

    const cleaned = await sessionProvider.cleanupOldSessions(24 * 60 * 60 * 1000);
    console.log(`Cleaned ${cleaned} old sessions`);

    try {
      await runWithUser('alice', () => server1.updateUserSession((s) => {
        s.field = 1n; // BigInt has no JSON form: rejected, nothing written
      }));
    } catch (error) {
      console.log('Session update failed:', error.code);
    }
    await runWithUser('alice', () => server1.deleteUserSession());
    if (model !== 'llm2') throw new Error(`expected llm2, read ${model}`);
    console.log('ok');
  } finally {
    await pool.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
