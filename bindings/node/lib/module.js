'use strict';
// PotoModule and LLMPotoModule (the seed's module API) over the addon's NativeModule
// (src/module.rs): the current user comes from context.js; each method has a `...For(userId)`
// form taking the user explicitly.

const { AsyncResource } = require('node:async_hooks');
const native = require('./loader.js');
const { invalid } = require('./errors.js');
const { sessionText, valueText, optionsText, checkOptions, checkText, checkId, parseSession } = require('./values.js');
const { run, guarded, register, unregister } = require('./bridge.js');
const { requireUser } = require('./context.js');
const { toNative, setSessionProvider } = require('./providers.js');

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
  /**
   * @param {{provider?: object, ttlMs?: number, touchAfterMs?: number, retryBudgetMs?: number, retryBaseDelayMs?: number,
   *   retryMaxDelayMs?: number}} [options] `provider` is the module's own; every other key is an
   *   option of the core's schema, checked here.
   */
  constructor(options) {
    const { provider, ...values } = options === undefined || options === null ? {} : checkOptions(options, 'module options');
    const text = optionsText(values, 'module options');
    let defaultsTarget;
    // A subclass's createDefaultSessionData runs for each new session; the base one stays native.
    if (this.createDefaultSessionData !== PotoModule.prototype.createDefaultSessionData) {
      const moduleRef = new WeakRef(this);
      defaultsTarget = register({ passThrough: true, handle: (method, args) => defaultsText(moduleRef, args[0]) });
    }
    try {
      this._native = new native.NativeModule(provider ? toNative(provider) : null, this._isLLM(), defaultsTarget, text);
    } catch (e) {
      if (defaultsTarget !== undefined) unregister(defaultsTarget);
      throw e;
    }
    if (defaultsTarget !== undefined) moduleTargets.register(this, defaultsTarget);
  }

  /** Sets the provider of every module without its own; `options` configure a JS provider object. */
  static setSessionProvider(provider, options) {
    setSessionProvider(provider, options);
  }

  /** Default data of a new session; override it to add fields (call super's). */
  createDefaultSessionData(userId) {
    return JSON.parse(this._native.baseSessionData(String(userId)));
  }

  _isLLM() {
    return false;
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
  // The constructor is PotoModule's; its options also take `defaultModel`.

  /** The model of new sessions (and of sessions without one): the option, else the core's 'llm1'. */
  get defaultModel() {
    return this._native.defaultModel;
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

module.exports = { PotoModule, LLMPotoModule };
