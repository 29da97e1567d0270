// The seed's flow in TypeScript, compiled by tsc against the installed package's index.d.ts
// (tests/install/run.py), then run with REDIS_URL set.
import { LLMPotoModule, PotoModule, RedisSessionProvider, SessionStats, runWithUser } from 'poto-sessions';

class MyModule extends LLMPotoModule {
  async theme(): Promise<string> {
    const session = await this.getUserSession();
    return typeof session.theme === 'string' ? session.theme : 'none';
  }
}

async function main(): Promise<void> {
  PotoModule.setSessionProvider(new RedisSessionProvider(process.env.REDIS_URL, { prefix: 'poto-ts:' }));
  const server1 = new MyModule();
  const server2 = new MyModule();
  await runWithUser('alice', async () => {
    await server1.updateUserModel('llm2');
    await server1.updateUserSession((s) => {
      s.theme = 'dark';
    });
  });
  const model: string = await runWithUser('alice', () => server2.getUserModel());
  const theme = await runWithUser('alice', () => server2.theme());
  console.log(`alice uses ${model}, theme ${theme}`);
  const stats: SessionStats = await server2.getSessionStats();
  await runWithUser('alice', () => server1.deleteUserSession());
  if (model !== 'llm2' || theme !== 'dark' || stats.activeSessions < 1) process.exit(1);
  console.log('ok');
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
