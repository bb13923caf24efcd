import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { describeError, type Logger } from '../../logger.ts';
import { isUnavailable, StoreUnavailableError } from '../store-errors.ts';

export interface PgPoolOptions {
  url: string;
  size: number;
  /** Waiting for a connection (also: the server is down) fails after this long, never hangs. */
  connectTimeoutMs?: number;
  /** A query that takes longer is cancelled by the server (statement_timeout) and given up by the client. */
  queryTimeoutMs?: number;
  logger: Logger;
}

/**
 * node-postgres, loaded only when a database URL is given (dynamic import: the lowdb path never
 * loads it). Timeouts on connecting and on every query, so an unreachable server is an error in
 * seconds, and idle connections dropped by a server restart are logged, not fatal.
 */
export async function createPgPool(options: PgPoolOptions): Promise<Pool> {
  const { default: pg } = await import('pg');
  const queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.size,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    idleTimeoutMillis: 30_000,
    query_timeout: queryTimeoutMs + 1000,
    statement_timeout: queryTimeoutMs,
    keepAlive: true,
    application_name: 'generated-files-sidecar',
  });
  // An idle client whose server went away: pg emits this on the pool; unhandled, it would end the process.
  pool.on('error', (error) =>
    options.logger.warn(`[store] a pooled PostgreSQL connection failed: ${describeError(error)}`),
  );
  return pool;
}

/** A query, with "the server is away" turned into StoreUnavailableError (the files API's 503). */
export async function query<R extends QueryResultRow>(pool: Pool, text: string, values?: unknown[]): Promise<R[]> {
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
  }
}

/** One transaction on one connection; rolled back on any error; unavailability mapped as above. */
export async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw isUnavailable(error) ? new StoreUnavailableError(error) : error;
  }
  let broken = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    broken = isUnavailable(error);
    if (!broken) await client.query('ROLLBACK').catch(() => (broken = true));
    throw broken ? new StoreUnavailableError(error) : error;
  } finally {
    // A connection that failed mid-transaction is destroyed, never handed to the next caller.
    client.release(broken);
  }
}
