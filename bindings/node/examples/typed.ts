// The seed's examples in TypeScript, compiled with `tsc --noEmit` by scripts/test-node.sh to
// check index.d.ts against real use. Run the JS equivalent: node examples/seed-example.js
import {
  InMemorySessionProvider,
  LLMPotoModule,
  LLMSessionData,
  PotoModule,
  RedisSessionProvider,
  SessionError,
  SessionStats,
  UserSessionData,
  CustomSessionProvider,
  CustomProviderOptions,
  asProvider,
  createExpressSessionStore,
  runConformance,
  runWithUser,
  setSessionProvider,
} from 'poto-sessions';
import session from 'express-session';
import express from 'express';

interface MySessionData extends LLMSessionData {
  customField: string;
  anotherField: number;
}

class MyModule extends LLMPotoModule {
  protected createDefaultSessionData(userId: string): MySessionData {
    return {
      ...super.createDefaultSessionData(userId),
      customField: 'default',
      anotherField: 0,
    };
  }

  async myMethod(): Promise<string> {
    const session = (await this.getUserSession()) as MySessionData;
    return session.customField;
  }
}

class MapProvider implements CustomSessionProvider {
  private sessions = new Map<string, UserSessionData>();
  async getSession(userId: string) {
    return this.sessions.get(userId) ?? null;
  }
  async setSession(userId: string, data: UserSessionData) {
    this.sessions.set(userId, data);
  }
  async deleteSession(userId: string) {
    this.sessions.delete(userId);
  }
  async hasSession(userId: string) {
    return this.sessions.has(userId);
  }
  async cleanupOldSessions(maxAgeMs: number) {
    let removed = 0;
    for (const [id, s] of this.sessions) {
      if (Date.now() - Date.parse(String(s.lastActivity)) > maxAgeMs) {
        this.sessions.delete(id);
        removed++;
      }
    }
    return removed;
  }
  async getActiveSessions() {
    return [...this.sessions.keys()];
  }
  async clear() {
    const n = this.sessions.size;
    this.sessions.clear();
    return n;
  }
}

async function main(): Promise<void> {
  setSessionProvider(new InMemorySessionProvider({ ttlMs: 60_000 }));
  const limits: CustomProviderOptions = { maxSessionBytes: 64 * 1024 };
  PotoModule.setSessionProvider(new MapProvider(), limits);
  if (process.env.REDIS_URL) {
    PotoModule.setSessionProvider(
      new RedisSessionProvider(process.env.REDIS_URL, { prefix: 'typed:', retryBudgetMs: 5000, listPageSize: 1000 }),
    );
  }
  const own = new PotoModule({ provider: asProvider(new MapProvider(), limits), ttlMs: 3_600_000, retryBudgetMs: 2000 });
  await own.setSessionValueFor('bob', 'theme', 'dark');
  const theme: unknown = await own.getSessionValueFor('bob', 'theme');
  console.log(theme);

  const module = new MyModule();
  const field: string = await runWithUser('alice', () => module.myMethod());
  await runWithUser('alice', async () => {
    await module.updateUserSession((session) => {
      session.someField = 'value';
    });
    await module.updateUserModel('llm2');
    const model: string = await module.getUserModel();
    await module.setSystemPrompt('You are terse.');
    await module.setCurrentConversationIdFor('alice', 'conv-1');
    const prompt: string | undefined = await module.getSystemPrompt();
    const conversation: string | undefined = await module.getCurrentConversationIdFor('alice');
    const stats: SessionStats = await module.getSessionStats();
    console.log(field, model, prompt, conversation, stats.activeSessions);
    await module.deleteUserSession();
  });
  try {
    await module.getUserSession();
  } catch (error) {
    if (error instanceof SessionError && error.code === 'POTO_NOT_AUTHENTICATED') console.log('no user');
  }
  const report = await runConformance(new MapProvider(), null, { ttlUnitMs: 100 });
  console.log(report.ok, report.failed.map((f) => f.name));

  const app = express();
  app.use(session({ secret: 's', resave: false, saveUninitialized: false, store: createExpressSessionStore({ provider: new InMemorySessionProvider(), session }) }));
}

void main();
