'use strict';
// The JS end of the two queues between the core's runtime and the JS thread (src/bridge.rs).
//
// Operations: each native call gets an operation id. Its outcome is ready at once (in-memory)
// and returned by the call itself, or delivered later through onComplete, in batches. An
// outcome is the result's JSON text, or a SessionError the addon built (src/errors.rs); a call
// still running returns null.
//
// Requests: the core calls into JS (custom providers, update functions, defaults factories)
// through registered targets; a target answers with JSON text (native.reply) or a failure
// (native.replyError(id, code, message)).

const { AsyncResource } = require('node:async_hooks');
const native = require('./loader.js');
const { ErrorCode, SessionError } = require('./errors.js');

// ---------------------------------------------------------------- operations

let nextOp = 1;
const pending = new Map();
// Keeps the process alive while operations are in flight (the addon's wake-up is weak).
const keepAlive = setInterval(() => {}, 1 << 30);
keepAlive.unref();

// The async context of each operation in flight that may call back into JS (custom providers,
// defaults factories): its callbacks run there, so they see the caller's AsyncLocalStorage
// stores (request ids, tracing) rather than those of whoever loaded this package.
const opContexts = new Map();

/**
 * A new operation id. With `callsJs` (the operation may call back into JS) it remembers the
 * caller's async context; operations of the built-in providers never do, and skip that cost.
 */
function startOp(callsJs = true) {
  const op = nextOp;
  nextOp = nextOp >= 0xfffffff0 ? 1 : nextOp + 1;
  if (callsJs) opContexts.set(op, new AsyncResource('poto-sessions'));
  return op;
}

/** Operation `op` ended within its call (its outcome was returned at once). */
function endOp(op) {
  opContexts.delete(op);
}

/** The addon's batch of outcomes: `outcomes[i]` is JSON text or the SessionError of `ids[i]`. */
function onComplete(ids, outcomes) {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    opContexts.delete(id);
    const p = pending.get(id);
    if (p === undefined) continue;
    pending.delete(id);
    const outcome = outcomes[i];
    if (typeof outcome !== 'string') {
      p.reject(p.mapError === undefined ? outcome : p.mapError(outcome));
      continue;
    }
    let value;
    try {
      value = p.parse(outcome);
    } catch (e) {
      p.reject(e);
      continue;
    }
    p.resolve(value);
  }
  if (pending.size === 0) keepAlive.unref();
}

/** A promise of an outcome returned by the call itself. */
function settled(outcome, parse, mapError) {
  if (typeof outcome !== 'string') return Promise.reject(mapError === undefined ? outcome : mapError(outcome));
  try {
    return Promise.resolve(parse(outcome));
  } catch (e) {
    return Promise.reject(e);
  }
}

/**
 * Runs `invoke(op)` (a native call) and returns a promise of its outcome, parsed by `parse`;
 * `mapError` may replace the error a failure rejects with; `callsJs` as for startOp.
 */
function run(invoke, parse = JSON.parse, mapError = undefined, callsJs = true) {
  const op = startOp(callsJs);
  let outcome;
  try {
    outcome = invoke(op);
  } catch (e) {
    opContexts.delete(op);
    return Promise.reject(e);
  }
  if (outcome === null) return waitFor(op, parse, mapError);
  opContexts.delete(op);
  return settled(outcome, parse, mapError);
}

// Operations that did not finish at once wait in the addon until flush(): once per event-loop
// iteration, so the calls of one iteration reach the runtime (and Redis) together.
let flushQueued = false;
function flush() {
  flushQueued = false;
  native.flush();
}

/** A promise of operation `op`, settled by onComplete. */
function waitFor(op, parse, mapError = undefined) {
  if (!flushQueued) {
    flushQueued = true;
    setImmediate(flush);
  }
  if (pending.size === 0) keepAlive.ref();
  return new Promise((resolve, reject) => pending.set(op, { resolve, reject, parse, mapError }));
}

/** Runs `body` and turns a synchronous throw into a rejected promise. */
function guarded(body) {
  try {
    return body();
  } catch (e) {
    return Promise.reject(e);
  }
}

// ---------------------------------------------------------------- requests from the core

let nextTarget = 1;
const targets = new Map();

/**
 * Registers a target the core may call: `{handle(method, args), passThrough}`. `handle` answers
 * with JSON text (or a promise of it). A failure is the provider error it is, except that with
 * `passThrough` (update functions, defaults factories: the caller's own code) an
 * invalid-argument or too-large SessionError keeps its code. Returns the target's id.
 */
function register(target) {
  const id = nextTarget++;
  targets.set(id, target);
  return id;
}

function unregister(id) {
  targets.delete(id);
}

const PASS_THROUGH_CODES = new Set([ErrorCode.INVALID_ARGUMENT, ErrorCode.TOO_LARGE]);

function messageOf(e) {
  if (e instanceof Error) return e.message;
  try {
    return String(e);
  } catch {
    return 'non-printable error';
  }
}

function onRequest(ids, ops, targetIds, methods, args) {
  for (let i = 0; i < ids.length; i++) {
    const context = opContexts.get(ops[i]);
    if (context === undefined) handleRequest(ids[i], targetIds[i], methods[i], args[i]);
    else context.runInAsyncScope(handleRequest, null, ids[i], targetIds[i], methods[i], args[i]);
  }
}

async function handleRequest(id, targetId, method, argText) {
  const target = targets.get(targetId);
  let out;
  try {
    if (target === undefined) throw new Error(`callback target ${targetId} is gone`);
    out = await target.handle(method, JSON.parse(argText));
  } catch (e) {
    const own = target !== undefined && target.passThrough && e instanceof SessionError && PASS_THROUGH_CODES.has(e.code);
    native.replyError(id, own ? e.code : ErrorCode.PROVIDER, messageOf(e));
    return;
  }
  native.reply(id, out);
}

native.init(onComplete, onRequest, SessionError);

module.exports = { startOp, endOp, run, waitFor, guarded, register, unregister };
