'use strict';
// poto-sessions for Node: the class API over the native addon (built from bindings/node/src).
// Each concept lives in its own file under lib/, as the Python package's modules do:
//   loader.js       finds and loads the native addon
//   errors.js       SessionError and ErrorCode (DESIGN §7)
//   values.js       JSON text of sessions and values; id, key and duration checks (DESIGN §2)
//   bridge.js       operations and their completions; requests from the core into JS
//   custom.js       custom providers written in JS
//   providers.js    the built-in providers and the provider methods
//   context.js      the current user (AsyncLocalStorage)
//   module.js       PotoModule and LLMPotoModule
//   conformance.js  the core's provider conformance suite

const { ErrorCode, SessionError } = require('./lib/errors.js');
const { SessionProviderBase, InMemorySessionProvider, RedisSessionProvider, asProvider, setSessionProvider } = require('./lib/providers.js');
const { PotoModule, LLMPotoModule } = require('./lib/module.js');
const { runWithUser, currentUser } = require('./lib/context.js');
const { runConformance } = require('./lib/conformance.js');

module.exports = {
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
};

// The express-session store is loaded on first use (express-session is the app's dependency).
Object.defineProperty(module.exports, 'createExpressSessionStore', {
  enumerable: true,
  get: () => require('./express-store.js').createExpressSessionStore,
});
