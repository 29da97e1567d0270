'use strict';
// A poto-sessions custom provider on PostgreSQL (the seed's PostgresSessionProvider, complete):
// one row per session in a table of its own, the session's JSON as text, a version from an
// identity column for compare-and-set, and an expiry column for the TTL. See README.md here.

const DEFAULT_TABLE = 'poto_sessions';
const DEFAULT_TTL_MS = 24 * 60 * 60 * 1000;
// Leaves room for the index names' suffixes within PostgreSQL's 63-byte identifiers.
const TABLE_NAME = /^[a-z_][a-z0-9_]{0,47}$/;
const SERIALIZATION_FAILURE = '40001';

/**
 * Sessions in a PostgreSQL table. `pool` is a `pg` Pool (or anything with its `query`); the
 * table (default `poto_sessions`) scopes `clear`, `count` and listing, so several stores can
 * share a database. `ttlMs` applies to writes that give none (default 24 h).
 */
class PostgresSessionProvider {
  #sql;

  constructor(pool, { table = DEFAULT_TABLE, ttlMs = DEFAULT_TTL_MS } = {}) {
    if (!pool || typeof pool.query !== 'function') throw new TypeError('PostgresSessionProvider needs a pg Pool');
    if (typeof table !== 'string' || !TABLE_NAME.test(table)) {
      throw new TypeError(`table name ${JSON.stringify(table)} must match ${TABLE_NAME}`);
    }
    if (!(Number.isFinite(ttlMs) && ttlMs > 0)) throw new TypeError('ttlMs must be a positive number of milliseconds');
    this.pool = pool;
    this.table = table;
    this.ttlMs = ttlMs;
    const t = `"${table}"`;
    // Expiry is judged by the database's clock, so every server agrees on it.
    const live = 'expires_at > statement_timestamp()';
    const expiry = 'statement_timestamp() + $4::float8 * interval \'1 millisecond\'';
    this.#sql = {
      get: `SELECT data FROM ${t} WHERE user_id = $1 AND ${live}`,
      getVersioned: `SELECT data, version FROM ${t} WHERE user_id = $1 AND ${live}`,
      has: `SELECT EXISTS (SELECT 1 FROM ${t} WHERE user_id = $1 AND ${live}) AS found`,
      set: `INSERT INTO ${t} (user_id, data, last_activity, expires_at) VALUES ($1, $2, $3, ${expiry})
            ON CONFLICT (user_id) DO UPDATE SET data = EXCLUDED.data, version = DEFAULT,
              last_activity = EXCLUDED.last_activity, expires_at = EXCLUDED.expires_at`,
      // Create only if absent: an expired row counts as absent and is replaced.
      create: `INSERT INTO ${t} AS s (user_id, data, last_activity, expires_at) VALUES ($1, $2, $3, ${expiry})
               ON CONFLICT (user_id) DO UPDATE SET data = EXCLUDED.data, version = DEFAULT,
                 last_activity = EXCLUDED.last_activity, expires_at = EXCLUDED.expires_at
               WHERE s.expires_at <= statement_timestamp()
               RETURNING version`,
      // Under READ COMMITTED a concurrent writer's UPDATE waits for the row lock, then re-checks
      // `version = $5` against the committed row: exactly one of them applies.
      swap: `UPDATE ${t} SET data = $2, last_activity = $3, expires_at = ${expiry}, version = DEFAULT
             WHERE user_id = $1 AND version = $5 AND ${live}
             RETURNING version`,
      delete: `DELETE FROM ${t} WHERE user_id = $1`,
      // Expired rows go too (they are garbage), but only live sessions count as removed.
      cleanup: `WITH gone AS (DELETE FROM ${t} WHERE last_activity < $1 OR expires_at <= statement_timestamp() RETURNING expires_at, last_activity)
                SELECT count(*) FILTER (WHERE expires_at > statement_timestamp() AND last_activity < $1) AS removed FROM gone`,
      ids: `SELECT user_id FROM ${t} WHERE ${live}`,
      count: `SELECT count(*) AS n FROM ${t} WHERE ${live}`,
      clear: `WITH gone AS (DELETE FROM ${t} RETURNING expires_at)
              SELECT count(*) FILTER (WHERE expires_at > statement_timestamp()) AS removed FROM gone`,
    };
  }

  /** The DDL of a table (README.md shows it for the default name). */
  static schema(table = DEFAULT_TABLE) {
    return [
      `CREATE TABLE IF NOT EXISTS "${table}" (`,
      `  user_id       text COLLATE "C" PRIMARY KEY,`,
      `  data          text        NOT NULL,`,
      `  version       bigint      GENERATED ALWAYS AS IDENTITY,`,
      `  last_activity timestamptz NOT NULL,`,
      `  expires_at    timestamptz NOT NULL`,
      `);`,
      `CREATE INDEX IF NOT EXISTS "${table}_expires_at" ON "${table}" (expires_at);`,
      `CREATE INDEX IF NOT EXISTS "${table}_last_activity" ON "${table}" (last_activity);`,
    ].join('\n');
  }

  /**
   * Creates the table and its indexes when missing. Safe to call from every server at
   * start-up: an advisory lock serialises concurrent calls (CREATE ... IF NOT EXISTS alone races).
   */
  async ensureSchema() {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`poto-sessions schema ${this.table}`]);
      await client.query(PostgresSessionProvider.schema(this.table));
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }

  async getSession(userId) {
    const { rows } = await this.pool.query(this.#sql.get, [userId]);
    return rows.length ? this.#parse(userId, rows[0].data) : null;
  }

  /** The session and its version; the version changes on every write and is never reused. */
  async getVersioned(userId) {
    const { rows } = await this.pool.query(this.#sql.getVersioned, [userId]);
    return rows.length ? { data: this.#parse(userId, rows[0].data), version: Number(rows[0].version) } : null;
  }

  async setSession(userId, sessionData, ttlMs) {
    await this.pool.query(this.#sql.set, this.#rowParams(userId, sessionData, ttlMs));
  }

  /**
   * Writes only if the stored version is still `expectedVersion` (undefined: only if no live
   * session exists). Resolves with the new version, or null when another write came first.
   */
  async compareAndSet(userId, expectedVersion, sessionData, ttlMs) {
    const params = this.#rowParams(userId, sessionData, ttlMs);
    try {
      const { rows } =
        expectedVersion === undefined
          ? await this.pool.query(this.#sql.create, params)
          : await this.pool.query(this.#sql.swap, [...params, expectedVersion]);
      return rows.length ? Number(rows[0].version) : null;
    } catch (e) {
      // Under REPEATABLE READ or SERIALIZABLE a racing writer aborts the statement instead:
      // nothing was written, which is "not applied" (the package reads again and retries).
      if (e.code === SERIALIZATION_FAILURE) return null;
      throw e;
    }
  }

  async deleteSession(userId) {
    await this.pool.query(this.#sql.delete, [userId]);
  }

  async hasSession(userId) {
    const { rows } = await this.pool.query(this.#sql.has, [userId]);
    return rows[0].found;
  }

  /**
   * Removes sessions whose lastActivity is strictly older than `maxAgeMs`, judged by this
   * process's clock: the package stamps lastActivity from the writing process's clock.
   */
  async cleanupOldSessions(maxAgeMs) {
    const { rows } = await this.pool.query(this.#sql.cleanup, [new Date(Date.now() - maxAgeMs)]);
    return Number(rows[0].removed);
  }

  async getActiveSessions() {
    const { rows } = await this.pool.query(this.#sql.ids);
    return rows.map((r) => r.user_id);
  }

  async getStats() {
    const userIds = await this.getActiveSessions();
    return { activeSessions: userIds.length, userIds };
  }

  async count() {
    const { rows } = await this.pool.query(this.#sql.count);
    return Number(rows[0].n);
  }

  /** Removes every session of this table; resolves with how many were live. */
  async clear() {
    const { rows } = await this.pool.query(this.#sql.clear);
    return Number(rows[0].removed);
  }

  /** Parameters $1-$4 of a write. Sessions arrive stamped: lastActivity is always set. */
  #rowParams(userId, sessionData, ttlMs) {
    return [userId, JSON.stringify(sessionData), sessionData.lastActivity, ttlMs ?? this.ttlMs];
  }

  /** A stored text back to a session; an unreadable row fails the call, naming the user. */
  #parse(userId, text) {
    let data;
    try {
      data = JSON.parse(text);
    } catch (e) {
      throw new Error(`stored session of user ${JSON.stringify(userId)} in table ${this.table} is not valid JSON: ${e.message}`);
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) {
      throw new Error(`stored session of user ${JSON.stringify(userId)} in table ${this.table} is not a JSON object`);
    }
    return data;
  }
}

module.exports = { PostgresSessionProvider };
