// The seed's examples in JavaScript: node examples/seed-example.js
// In-memory by default; with REDIS_URL set, sessions go to that Redis (prefix 'poto-demo:').
'use strict';
const { InMemorySessionProvider, LLMPotoModule, PotoModule, RedisSessionProvider, runWithUser } = require('poto-sessions');

// Adding custom session fields (the seed's "Extension Examples").
class MyModule extends LLMPotoModule {
  createDefaultSessionData(userId) {
    return { ...super.createDefaultSessionData(userId), customField: 'default', anotherField: 0 };
  }

  async myMethod() {
    const session = await this.getUserSession();
    return session.customField;
  }
}

async function main() {
  // Configuration: in-memory needs nothing; production sets Redis once at start-up.
  const provider = process.env.REDIS_URL
    ? new RedisSessionProvider(process.env.REDIS_URL, { prefix: 'poto-demo:' })
    : new InMemorySessionProvider();
  PotoModule.setSessionProvider(provider);

  // Cross-instance consistency: two module instances (two servers) on one store.
  const server1 = new MyModule();
  const server2 = new MyModule();
  await runWithUser('alice', async () => {
    console.log('customField:', await server1.myMethod());
    await server1.updateUserSession((session) => {
      session.someField = 'value';
    });
    await server1.updateUserModel('llm2');
  });
  const model = await runWithUser('alice', () => server2.getUserModel());
  console.log('model read through the other instance:', model);
  const stats = await server2.getSessionStats();
  console.log(`Active sessions: ${stats.activeSessions}`);

  // Session cleanup, as the seed schedules it (here: once).
  const cleaned = await provider.cleanupOldSessions(24 * 60 * 60 * 1000);
  console.log(`Cleaned ${cleaned} old sessions`);

  // Error handling.
  try {
    await runWithUser('alice', () => server1.updateUserSession((session) => {
      session.field = 1n; // BigInt has no JSON form: rejected, nothing written
    }));
  } catch (error) {
    console.log('Session update failed:', error.code);
  }
  await runWithUser('alice', () => server1.deleteUserSession());
  if (model !== 'llm2') process.exit(1);
  console.log('ok');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
