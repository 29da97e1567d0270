'use strict';
// One Node server instance of the cross-language test (same commands as the other workers).
const path = require('node:path');
const { LLMPotoModule, RedisSessionProvider } = require(path.join(__dirname, '../../bindings/node'));

const timeoutMs = process.env.POTO_TIMEOUT_MS ? Number(process.env.POTO_TIMEOUT_MS) : undefined;
const provider = new RedisSessionProvider(undefined, {
  prefix: process.env.POTO_PREFIX || 'poto:',
  connectTimeoutMs: timeoutMs,
  commandTimeoutMs: timeoutMs,
});
const llm = new LLMPotoModule({ provider });
const increment = (s) => { s.n = (s.n ?? 0) + 1; };
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Field writes k1, k2, ... for `seconds`, one line per call (see run.py), through any error.
async function load(user, seconds) {
  const end = Date.now() + seconds * 1000;
  for (let i = 1; Date.now() < end; i++) {
    try {
      await llm.setSessionValueFor(user, `k${i}`, i);
      console.log(`ok ${i} ${Date.now()}`);
    } catch (e) {
      if (!e.code) throw e;
      console.log(`err ${i} ${Date.now()} ${e.code}`);
      await sleep(10);
    }
  }
}

// `inFlight` concurrent loops running the mix of benches/cross_language/bench.py on random users.
async function bench(prefix, seconds, inFlight) {
  if (process.env.POTO_BENCH_WAIT) { // warm up, then start when benches/cross_language/bench.py says so
    await llm.getUserSessionFor(`${prefix}0`);
    console.log('ready');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.pause();
  }
  const names = ['get_user_session', 'set_session_value', 'update_user_session'];
  const latencies = names.map(() => []);
  let errors = 0;
  const end = Date.now() + seconds * 1000;
  const run = async () => {
    for (let i = 0; Date.now() < end; i++) {
      const user = `${prefix}${Math.floor(Math.random() * 1000)}`;
      const op = i % 3;
      const started = process.hrtime.bigint();
      try {
        if (op === 0) await llm.getUserSessionFor(user);
        else if (op === 1) await llm.setSessionValueFor(user, 'v', i);
        else await llm.updateUserSessionFor(user, increment);
        latencies[op].push(Number((process.hrtime.bigint() - started) / 1000n));
      } catch (e) {
        errors++;
      }
    }
  };
  const started = Date.now();
  await Promise.all(Array.from({ length: inFlight }, run));
  const percentiles = (values) => {
    values.sort((a, b) => a - b);
    const pick = (q) => (values.length ? values[Math.min(values.length - 1, Math.floor(values.length * q))] : 0);
    return { count: values.length, p50_us: pick(0.5), p99_us: pick(0.99) };
  };
  const all = latencies.flat();
  const report = { ops: all.length, errors, seconds: (Date.now() - started) / 1000, all: percentiles(all) };
  names.forEach((name, op) => { report[name] = percentiles(latencies[op]); });
  return report;
}

async function main() {
  const [command, ...args] = process.argv.slice(2);
  switch (command) {
    case 'set-model': return llm.updateUserModelFor(args[0], args[1]);
    case 'get-model': return console.log(await llm.getUserModelFor(args[0]));
    case 'set-value': return llm.setSessionValueFor(args[0], args[1], JSON.parse(args[2]));
    case 'get-value': return console.log(JSON.stringify((await llm.getSessionValueFor(args[0], args[1])) ?? null));
    case 'get-session': return console.log(JSON.stringify(await llm.getUserSessionFor(args[0])));
    case 'touch-field': // an update that sets one field and carries every other one
      return llm.updateUserSessionFor(args[0], (s) => { s[args[1]] = 'x'; });
    case 'increment':
      for (let i = 0; i < Number(args[1]); i++) {
        await llm.updateUserSessionFor(args[0], increment);
      }
      return;
    case 'load': return load(args[0], Number(args[1]));
    case 'bench': return console.log(JSON.stringify(await bench(args[0], Number(args[1]), Number(args[2]))));
    default: throw new Error(`unknown command ${command}`);
  }
}
// Exit once stdout is flushed: a pipe takes large writes asynchronously.
main().then(() => process.stdout.write('', () => process.exit(0)), (e) => { console.error(e); process.exit(1); });
