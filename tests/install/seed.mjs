// The seed's flow as an ES module app writes it, against the installed package
// (tests/install/run.py runs it with REDIS_URL set).
import { LLMPotoModule, PotoModule, RedisSessionProvider, runWithUser } from 'poto-sessions';

const provider = new RedisSessionProvider(process.env.REDIS_URL, { prefix: 'poto-esm:' });
PotoModule.setSessionProvider(provider);
const server1 = new LLMPotoModule();
const server2 = new LLMPotoModule();
await runWithUser('alice', () => server1.updateUserModel('llm2'));
const model = await runWithUser('alice', () => server2.getUserModel());
console.log(`alice uses ${model}`);
const stats = await server2.getSessionStats();
console.log(`active sessions: ${stats.activeSessions}`);
await runWithUser('alice', () => server1.deleteUserSession());
if (model !== 'llm2' || stats.activeSessions < 1) process.exit(1);
console.log('ok');
