// TypeScript declarations of poto-sessions (hand-written to match index.js; checked by compiling
// examples/typed.ts with tsc in scripts/test-node.sh).

/** A session: a JSON object. `userId`, `createdAt` and `lastActivity` are stamped by the provider. */
export interface UserSessionData {
  userId: string;
  /** RFC 3339 UTC with milliseconds (Date.prototype.toISOString()). */
  createdAt?: string;
  lastActivity?: string;
  [key: string]: unknown;
}

/** Session data of an LLMPotoModule. */
export interface LLMSessionData extends UserSessionData {
  currentModelName: string;
  systemPrompt?: string;
  currentConversationId?: string;
}

export interface SessionStats {
  activeSessions: number;
  userIds: string[];
}

export declare const ErrorCode: {
  readonly INVALID_ARGUMENT: 'POTO_INVALID_ARGUMENT';
  readonly CORRUPT_DATA: 'POTO_CORRUPT_DATA';
  readonly TOO_LARGE: 'POTO_TOO_LARGE';
  readonly CONFLICT: 'POTO_CONFLICT';
  readonly UNAVAILABLE: 'POTO_UNAVAILABLE';
  readonly OUTCOME_UNKNOWN: 'POTO_OUTCOME_UNKNOWN';
  readonly PROVIDER: 'POTO_PROVIDER';
  readonly NOT_AUTHENTICATED: 'POTO_NOT_AUTHENTICATED';
  readonly INTERNAL: 'POTO_INTERNAL';
};
export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Every failure of this package. */
export declare class SessionError extends Error {
  readonly code: ErrorCodeValue;
  constructor(code: ErrorCodeValue, message: string, options?: { cause?: unknown });
}

/** The seed's provider interface; every method returns a Promise. */
export interface UserSessionProvider {
  getSession(userId: string): Promise<UserSessionData | null>;
  setSession(userId: string, sessionData: Record<string, unknown>, ttlMs?: number): Promise<void>;
  deleteSession(userId: string): Promise<void>;
  hasSession(userId: string): Promise<boolean>;
  cleanupOldSessions(maxAgeMs: number): Promise<number>;
  getActiveSessions(): Promise<string[]>;
  getStats?(): Promise<SessionStats>;
  count?(): Promise<number>;
  clear(): Promise<number>;
}

/**
 * A provider written in JS. Sessions arrive validated and stamped: store them as given.
 * Optional: `getVersioned` with `compareAndSet` make updates atomic across processes (without
 * them, updates are atomic within one process only). Methods may be sync or async; a throw or a
 * rejection fails the operation with code POTO_PROVIDER and its message.
 */
export interface CustomSessionProvider {
  getSession(userId: string): Promise<Record<string, unknown> | null | undefined> | Record<string, unknown> | null | undefined;
  setSession(userId: string, sessionData: UserSessionData, ttlMs?: number): Promise<unknown> | unknown;
  deleteSession(userId: string): Promise<unknown> | unknown;
  hasSession(userId: string): Promise<boolean> | boolean;
  cleanupOldSessions(maxAgeMs: number): Promise<number> | number;
  getActiveSessions(): Promise<string[]> | string[];
  getStats?(): Promise<SessionStats> | SessionStats;
  count?(): Promise<number> | number;
  clear(): Promise<number> | number;
  /** The session with a version that changes on every write and is never reused for the id. */
  getVersioned?(userId: string): Promise<{ data: Record<string, unknown>; version: number } | null> | { data: Record<string, unknown>; version: number } | null;
  /** Stores only if the version is still `expectedVersion` (undefined: only if absent); resolves with the new version, or null when not stored. */
  compareAndSet?(userId: string, expectedVersion: number | undefined, sessionData: UserSessionData, ttlMs?: number): Promise<number | null> | number | null;
}

/** Options of a provider written in JS (the core's custom-provider options). */
export interface CustomProviderOptions {
  /** Largest session accepted, in bytes (default 1 MiB). */
  maxSessionBytes?: number;
}

/** Any provider accepted by this package. */
export type AnyProvider = SessionProviderBase | CustomSessionProvider;

export declare class SessionProviderBase implements UserSessionProvider {
  getSession(userId: string): Promise<UserSessionData | null>;
  setSession(userId: string, sessionData: Record<string, unknown>, ttlMs?: number): Promise<void>;
  deleteSession(userId: string): Promise<void>;
  hasSession(userId: string): Promise<boolean>;
  /** Restarts the TTL and stamps lastActivity; false when absent. */
  touch(userId: string, ttlMs?: number): Promise<boolean>;
  cleanupOldSessions(maxAgeMs: number): Promise<number>;
  getActiveSessions(): Promise<string[]>;
  getStats(): Promise<SessionStats>;
  count(): Promise<number>;
  clear(): Promise<number>;
}

/**
 * Options objects map key by key onto the core's options schema: an unknown key, or a value of
 * the wrong kind or out of range, is POTO_INVALID_ARGUMENT; `undefined` values are ignored.
 */
export interface InMemoryOptions {
  /** Lifetime of a session after its last write or touch (default 24 h). */
  ttlMs?: number;
  /** Largest session accepted, in bytes (default 1 MiB). */
  maxSessionBytes?: number;
}

export declare class InMemorySessionProvider extends SessionProviderBase {
  constructor(options?: InMemoryOptions);
}

export interface RedisOptions {
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  url?: string;
  /** Default 'poto:'; no '{' or '}'. */
  prefix?: string;
  /** Redis Cluster: `url` lists seed nodes, comma-separated (a redis+cluster:// URL selects it on its own). */
  cluster?: boolean;
  /** Lifetime of a session after its last write or touch (default 24 h). */
  ttlMs?: number;
  /** Time allowed to open a connection (default 5 s). */
  connectTimeoutMs?: number;
  /** Time allowed for one reply (default 2 s). */
  commandTimeoutMs?: number;
  /** Time an atomic update keeps retrying before POTO_CONFLICT (default 5 s). */
  retryBudgetMs?: number;
  /** First backoff ceiling, doubled per retry (the core's default 0.5 ms; at least 1 when set). */
  retryBaseDelayMs?: number;
  /** Largest backoff between retries (default 50 ms). */
  retryMaxDelayMs?: number;
  /** Largest session accepted, in bytes (default 1 MiB). */
  maxSessionBytes?: number;
  /** Ids per shard in one listing reply (default 2000). */
  listPageSize?: number;
  /** User name for the Redis Sentinels of a redis+sentinel:// URL (the URL's credentials are the data nodes'). */
  sentinelUsername?: string;
  /** Password for the Redis Sentinels of a redis+sentinel:// URL (the URL's credentials are the data nodes'). */
  sentinelPassword?: string;
  /**
   * TLS (a rediss:// URL): a PEM bundle of CAs to trust besides the operating system's store
   * (a private CA). Read when the provider is created.
   */
  tlsCaFile?: string;
  /** TLS: the same as `tlsCaFile`, as inline PEM text (e.g. a Kubernetes secret). */
  tlsCaPem?: string;
  /** TLS: a client certificate (PEM chain) for servers that require one; with `tlsKeyFile`. */
  tlsCertFile?: string;
  /** TLS: the private key (PEM) of `tlsCertFile`. */
  tlsKeyFile?: string;
  /** TLS without verifying the server's certificate at all: for development only. */
  tlsInsecure?: boolean;
  /**
   * Replicas that must acknowledge each write (Redis WAIT on the write's node), else
   * POTO_OUTCOME_UNKNOWN: the write ran on the master but a failover may lose it (default 0: no WAIT).
   */
  waitReplicas?: number;
  /** How long a write's WAIT waits for waitReplicas (default 1 s, at most commandTimeoutMs). */
  waitTimeoutMs?: number;
}

export declare class RedisSessionProvider extends SessionProviderBase {
  constructor(url?: string | null, options?: RedisOptions);
  constructor(options: RedisOptions);
  static connect(url?: string | null, options?: RedisOptions): Promise<RedisSessionProvider>;
}

/**
 * A SessionProviderBase over any provider (JS ones gain validation and stamping). `options`
 * configure a provider written in JS; one JS object has one adapter, so its options are those of
 * the first call that gave some.
 */
export declare function asProvider(provider: AnyProvider, options?: CustomProviderOptions): SessionProviderBase;

/** Sets the provider of every module without its own; `options` configure a JS provider. */
export declare function setSessionProvider(provider: AnyProvider, options?: CustomProviderOptions): void;

/** Runs `fn` with `userId` as the current user of the module calls inside it. */
export declare function runWithUser<R, A extends unknown[]>(userId: string, fn: (...args: A) => R, ...args: A): R;
export declare function currentUser(): string | undefined;

export interface ModuleOptions {
  /**
   * Default: the global provider (setSessionProvider), in-memory unless set. A provider written
   * in JS with options: `asProvider(object, { maxSessionBytes })`.
   */
  provider?: AnyProvider;
  /** TTL of the sessions this module writes (default: the provider's). */
  ttlMs?: number;
  /**
   * A read (getUserSession) touches the session only when its lastActivity is older than this
   * (default 60000, capped at half the TTL; 0: every read touches), so a read-only request
   * costs one read.
   */
  touchAfterMs?: number;
  /** Time updateUserSession keeps retrying under contention before POTO_CONFLICT (default: the provider's, 5 s). */
  retryBudgetMs?: number;
  /** First backoff ceiling, doubled per retry (default 0.5 ms; at least 1 when set). */
  retryBaseDelayMs?: number;
  /** Largest backoff between retries (default 50 ms). */
  retryMaxDelayMs?: number;
}

export type UpdateFunction<T extends UserSessionData = UserSessionData> = (session: T) => void | T | Promise<void | T>;

export declare class PotoModule {
  constructor(options?: ModuleOptions);
  static setSessionProvider(provider: AnyProvider, options?: CustomProviderOptions): void;
  /** Default data of a new session; override it (spreading super's) to add fields. */
  protected createDefaultSessionData(userId: string): UserSessionData | Promise<UserSessionData>;
  getUserSession(): Promise<UserSessionData>;
  getUserSessionFor(userId: string): Promise<UserSessionData>;
  /** Applies `fn` atomically: it may run more than once under contention; a throw writes nothing
   * and is rethrown. Resolves with the session as `fn` left it; the store stamps the write's
   * lastActivity itself. */
  updateUserSession(fn: UpdateFunction): Promise<UserSessionData>;
  updateUserSessionFor(userId: string, fn: UpdateFunction): Promise<UserSessionData>;
  deleteUserSession(): Promise<void>;
  deleteUserSessionFor(userId: string): Promise<void>;
  getSessionStats(): Promise<SessionStats>;
  setSessionValue(key: string, value: unknown): Promise<void>;
  setSessionValueFor(userId: string, key: string, value: unknown): Promise<void>;
  /** One top-level value of the user's session, or undefined when unset. */
  getSessionValue(key: string): Promise<unknown>;
  getSessionValueFor(userId: string, key: string): Promise<unknown>;
}

export interface LLMModuleOptions extends ModuleOptions {
  /** Model of new sessions (and of sessions without one); default the core's, 'llm1'. */
  defaultModel?: string;
}

/** Sessions that remember each user's model, system prompt and current conversation. */
export declare class LLMPotoModule extends PotoModule {
  constructor(options?: LLMModuleOptions);
  readonly defaultModel: string;
  protected createDefaultSessionData(userId: string): LLMSessionData;
  /** Records the user's model (`currentModelName`); a non-empty string. */
  updateUserModel(model: string): Promise<void>;
  updateUserModelFor(userId: string, model: string): Promise<void>;
  /** The user's model, or `defaultModel` when none is recorded. */
  getUserModel(): Promise<string>;
  getUserModelFor(userId: string): Promise<string>;
  /** Sets the user's system prompt (`systemPrompt`). */
  setSystemPrompt(prompt: string): Promise<void>;
  setSystemPromptFor(userId: string, prompt: string): Promise<void>;
  /** The user's system prompt, or undefined when none is set. */
  getSystemPrompt(): Promise<string | undefined>;
  getSystemPromptFor(userId: string): Promise<string | undefined>;
  /** Sets the user's current conversation (`currentConversationId`). */
  setCurrentConversationId(conversationId: string): Promise<void>;
  setCurrentConversationIdFor(userId: string, conversationId: string): Promise<void>;
  /** The user's current conversation id, or undefined when none is set. */
  getCurrentConversationId(): Promise<string | undefined>;
  getCurrentConversationIdFor(userId: string): Promise<string | undefined>;
}

export interface ConformanceOptions extends CustomProviderOptions {
  /** Unit of the TTL checks (default 200 ms). */
  ttlUnitMs?: number;
  /** The provider's size limit, checked when given (and the limit of a provider written in JS). */
  maxSessionBytes?: number;
}

export interface ConformanceReport {
  ok: boolean;
  passed: string[];
  /** Checks that do not apply (an ability the provider lacks, an option not given). */
  skipped: { name: string; reason: string }[];
  failed: { name: string; reason: string }[];
}

/** The core's provider conformance suite; clears the store first. */
export declare function runConformance(providerA: AnyProvider, providerB?: AnyProvider | null, options?: ConformanceOptions): Promise<ConformanceReport>;

export interface ExpressSessionStoreOptions {
  provider: AnyProvider;
  /** The express-session module (default: the application's). */
  session?: unknown;
  /** TTL of sessions whose cookie has no expiry (default 24 h). */
  ttlMs?: number;
  /**
   * A touch (an unchanged session at the end of a request) is sent only when the session's
   * lastActivity, as read at the start of the request, is older than this (default 60000,
   * capped at half the TTL; 0: every touch is sent).
   */
  touchAfterMs?: number;
  /** Never send touches: a session's TTL then restarts only when it is saved. */
  disableTouch?: boolean;
}

type StoreCallback<T> = (err: unknown, value?: T) => void;

/**
 * An express-session Store over any provider. Every method takes an optional callback and
 * returns a promise (as connect-redis 8+); errors reach the callback or the promise, never throw.
 */
export interface PotoSessionStore {
  get(sid: string, cb?: StoreCallback<Record<string, any> | null>): Promise<any>;
  set(sid: string, sess: Record<string, any>, cb?: StoreCallback<void>): Promise<any>;
  touch(sid: string, sess: Record<string, any>, cb?: StoreCallback<void>): Promise<any>;
  destroy(sid: string, cb?: StoreCallback<void>): Promise<any>;
  /** Every live session, each carrying its `id`. */
  all(cb?: StoreCallback<Array<Record<string, any> & { id: string }>>): Promise<any>;
  length(cb?: StoreCallback<number>): Promise<any>;
  clear(cb?: StoreCallback<void>): Promise<any>;
  ids(cb?: StoreCallback<string[]>): Promise<any>;
  [key: string]: any;
}

/**
 * Typed as `any` so that it fits express-session's `store` option whichever version of its types
 * the application has; cast to `PotoSessionStore` to call the store yourself.
 */
export declare function createExpressSessionStore(options: ExpressSessionStoreOptions): any;
