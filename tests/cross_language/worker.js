'use strict';
// One Node server instance of the cross-language test (same commands as the other workers).
const path = require('node:path');
const { LLMPotoModule, RedisSessionProvider } = require(path.join(__dirname, '../../bindings/node'));

async function main() {
  const llm = new LLMPotoModule({ provider: new RedisSessionProvider(undefined, { prefix: process.env.POTO_PREFIX || 'poto:' }) });
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'set-model': return llm.updateUserModelFor(args[0], args[1]);
    case 'get-model': return console.log(await llm.getUserModelFor(args[0]));
    case 'set-value': return llm.setSessionValueFor(args[0], args[1], JSON.parse(args[2]));
    case 'get-value': return console.log(JSON.stringify((await llm.getSessionValueFor(args[0], args[1])) ?? null));
    case 'increment':
      for (let i = 0; i < Number(args[1]); i++) {
        await llm.updateUserSessionFor(args[0], (s) => { s.n = (s.n ?? 0) + 1; });
      }
      return;
    default: throw new Error(`unknown command ${command}`);
  }
}
main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
