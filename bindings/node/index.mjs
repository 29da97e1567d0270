// ES module entry: the same objects as the CommonJS entry.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const poto = require('./index.js');

export const {
  ErrorCode,
  SessionError,
  InMemorySessionProvider,
  RedisSessionProvider,
  SessionProviderBase,
  asProvider,
  setSessionProvider,
  PotoModule,
  LLMPotoModule,
  runWithUser,
  currentUser,
  runConformance,
} = poto;
export function createExpressSessionStore(options) {
  return poto.createExpressSessionStore(options);
}
export default poto;
