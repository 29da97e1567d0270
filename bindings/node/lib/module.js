'use strict';
// PotoModule and LLMPotoModule (the seed's module API) over the addon's NativeModule
// (src/module.rs): the current user comes from context.js; each method has a `...For(userId)`
// form taking the user explicitly.

const { AsyncResource } = require('node:async_hooks');
const native = require('./loader.js');
const { invalid } = require('./errors.js');
const { sessionText, valueText, checkText, checkId, checkMs, parseSession } = require('./values.js');
const { run, guarded, register, unregister } = require('./bridge.js');
const { requireUser } = require('./context.js');
const { toNative, setSessionProvider } = require('./providers.js');

/** The core's default model of new LLM sessions (poto_sessions::llm::DEFAULT_MODEL). */
const DEFAULT_MODEL = native.defaultModel();

// The defaults target of a module goes when the module does.
const moduleTargets = new FinalizationRegistry(unregister);

/** A value the addon returns as JSON text, `''` when unset (then undefined). */
const parseOptional = (text) => (text === '' ? undefined : JSON.parse(text));

/** createDefaultSessionData of the module behind `moduleRef`, as JSON text. */
async function defaultsText(moduleRef, userId) {
  const module = moduleRef.deref();
  if (module === undefined) throw new Error('the module was garbage-collected');
  return sessionText(await module.createDefaultSessionData(userId), 'createDefaultSessionData(userId)');
}

/**
 * Generic session management (the seed's PotoModule). Methods without `For` act on the current
 * user (runWithUser); the `...For(userId, ...)` forms take the user explicitly.
 */
class PotoModule {
  /** @param {{provider?: object, ttlMs?: number, retry?: object}} [options] */
  constructor(options = {}) {
    this._options = options || {};
    this._nativeModule = null;
  }

  static setSessionProvider(provider) {
    setSessionProvider(provider);
  }

  /** Default data of a new session; override it to add fields (call super's). */
  createDefaultSessionData(userId) {
    return JSON.parse(this._native.baseSessionData(String(userId)));
  }

  _isLLM() {
    return false;
  }

  get _native() {
    if (this._nativeModule === null) {
      const o = this._options;
      let defaultsTarget;
      if (this.createDefaultSessionData !== PotoModule.prototype.createDefaultSessionData) {
        const moduleRef = new WeakRef(this);
        defaultsTarget = register({ passThrough: true, handle: (method, args) => defaultsText(moduleRef, args[0]) });
        moduleTargets.register(this, defaultsTarget);
      }
      this._nativeModule = new native.NativeModule(
        o.provider ? toNative(o.provider) : null,
        this._isLLM(),
        this._isLLM() ? this.defaultModel : undefined,
        checkMs(o.ttlMs, 'ttlMs'),
        defaultsTarget,
        o.retry ? valueText(o.retry, 'retry') : undefined,
      );
    }
    return this._nativeModule;
  }

  getUserSession() {
    return guarded(() => this.getUserSessionFor(requireUser()));
  }

  getUserSessionFor(userId) {
    return guarded(() => {
      checkId(userId);
      return run((op) => this._native.getUserSession(op, userId), parseSession);
    });
  }

  /**
   * Applies `fn` to the current user's session atomically: `fn` mutates the object or returns
   * the one to write (it may be async). Under contention `fn` may run more than once; if it
   * throws, nothing is written and its error is rethrown. Resolves with the session as `fn` left
   * it (the store stamps the write's lastActivity itself; this copy does not show it).
   */
  updateUserSession(fn) {
    return guarded(() => this.updateUserSessionFor(requireUser(), fn));
  }

  updateUserSessionFor(userId, fn) {
    return guarded(() => {
      checkId(userId);
      if (typeof fn !== 'function') throw invalid('updateUserSession needs a function');
      // The function runs later, called from the addon: in the caller's async context (current
      // user, and any AsyncLocalStorage of the application). Its own error is what the call
      // rejects with.
      const bound = AsyncResource.bind(fn);
      let thrown;
      const target = register({
        passThrough: true,
        async handle(method, session) {
          try {
            let result = await bound(session);
            if (result === undefined) result = session;
            return sessionText(result, "the update function's result");
          } catch (e) {
            thrown = e;
            throw e;
          }
        },
      });
      return run(
        (op) => this._native.updateUserSession(op, userId, target),
        parseSession,
        (err) => thrown ?? err,
      ).finally(() => unregister(target));
    });
  }

  deleteUserSession() {
    return guarded(() => this.deleteUserSessionFor(requireUser()));
  }

  deleteUserSessionFor(userId) {
    return guarded(() => run((op) => this._native.deleteUserSession(op, checkId(userId))));
  }

  /** `{activeSessions, userIds}` of the module's provider. */
  getSessionStats() {
    return guarded(() => run((op) => this._native.getSessionStats(op)));
  }

  /** Sets one top-level key as one atomic step (no conflict with writes to other keys). */
  setSessionValue(key, value) {
    return guarded(() => this.setSessionValueFor(requireUser(), key, value));
  }

  setSessionValueFor(userId, key, value) {
    return guarded(() => {
      checkId(userId);
      checkText(key, 'session key');
      const text = valueText(value, `value of ${key}`);
      return run((op) => this._native.setSessionValue(op, userId, key, text));
    });
  }

  /** One top-level value of the current user's session, or undefined when unset. */
  getSessionValue(key) {
    return guarded(() => this.getSessionValueFor(requireUser(), key));
  }

  getSessionValueFor(userId, key) {
    return guarded(() => {
      checkId(userId);
      checkText(key, 'session key');
      return run((op) => this._native.getSessionValue(op, userId, key), parseOptional);
    });
  }
}

/**
 * Sessions that remember each user's model preference (the seed's LLMPotoModule), with an
 * optional system prompt and current conversation id (DESIGN §2).
 */
class LLMPotoModule extends PotoModule {
  /** @param {{provider?: object, ttlMs?: number, retry?: object, defaultModel?: string}} [options] */
  constructor(options = {}) {
    super(options);
    const model = (options && options.defaultModel) ?? DEFAULT_MODEL;
    if (typeof model !== 'string' || model === '') throw invalid('defaultModel must be a non-empty string');
    this.defaultModel = model;
  }

  _isLLM() {
    return true;
  }

  /** Records the current user's model choice. */
  updateUserModel(model) {
    return guarded(() => this.updateUserModelFor(requireUser(), model));
  }

  updateUserModelFor(userId, model) {
    return guarded(() => {
      checkId(userId);
      checkText(model, 'model');
      return run((op) => this._native.updateUserModel(op, userId, model));
    });
  }

  /** The current user's model, or the default model when none is recorded. */
  getUserModel() {
    return guarded(() => this.getUserModelFor(requireUser()));
  }

  getUserModelFor(userId) {
    return guarded(() => run((op) => this._native.getUserModel(op, checkId(userId))));
  }

  /** Sets the current user's system prompt (`systemPrompt`). */
  setSystemPrompt(prompt) {
    return guarded(() => this.setSystemPromptFor(requireUser(), prompt));
  }

  setSystemPromptFor(userId, prompt) {
    return guarded(() => {
      checkId(userId);
      checkText(prompt, 'system prompt');
      return run((op) => this._native.setSystemPrompt(op, userId, prompt));
    });
  }

  /** The current user's system prompt, or undefined when none is set. */
  getSystemPrompt() {
    return guarded(() => this.getSystemPromptFor(requireUser()));
  }

  getSystemPromptFor(userId) {
    return guarded(() => run((op) => this._native.getSystemPrompt(op, checkId(userId)), parseOptional));
  }

  /** Sets the current user's current conversation (`currentConversationId`). */
  setCurrentConversationId(conversationId) {
    return guarded(() => this.setCurrentConversationIdFor(requireUser(), conversationId));
  }

  setCurrentConversationIdFor(userId, conversationId) {
    return guarded(() => {
      checkId(userId);
      checkText(conversationId, 'conversation id');
      return run((op) => this._native.setCurrentConversationId(op, userId, conversationId));
    });
  }

  /** The current user's current conversation id, or undefined when none is set. */
  getCurrentConversationId() {
    return guarded(() => this.getCurrentConversationIdFor(requireUser()));
  }

  getCurrentConversationIdFor(userId) {
    return guarded(() => run((op) => this._native.getCurrentConversationId(op, checkId(userId)), parseOptional));
  }
}

module.exports = { PotoModule, LLMPotoModule, DEFAULT_MODEL };
