import type { Pool, PoolClient, QueryResultRow } from 'pg';
import { describeError, type Logger } from '../../logger.ts';
import { isUnavailable, StoreUnavailableError } from '../store-errors.ts';
import { PgAvailability } from './pg-availability.ts';

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
  availability.set(pool, new PgAvailability(pool, options.logger));
  return pool;
}

/** Each pool's availability (made with it by createPgPool), consulted by every query and transaction. */
const availability = new WeakMap<Pool, PgAvailability>();

export function availabilityOf(pool: Pool): PgAvailability | undefined {
  return availability.get(pool);
}

/** "The server is away" as StoreUnavailableError, which also fails later queries fast until it answers. */
function unavailable(pool: Pool, error: unknown): StoreUnavailableError {
  const away = error instanceof StoreUnavailableError ? error : new StoreUnavailableError(error);
  availability.get(pool)?.wentAway(away);
  return away;
}

/** A query, with "the server is away" turned into StoreUnavailableError (the files API's 503). */
export async function query<R extends QueryResultRow>(pool: Pool, text: string, values?: unknown[]): Promise<R[]> {
  availability.get(pool)?.check();
  try {
    return (await pool.query<R>(text, values)).rows;
  } catch (error) {
    throw isUnavailable(error) ? unavailable(pool, error) : error;
  }
}

/** One transaction on one connection; rolled back on any error; unavailability mapped as above. */
export async function transaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  availability.get(pool)?.check();
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw isUnavailable(error) ? unavailable(pool, error) : error;
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
    throw broken ? unavailable(pool, error) : error;
  } finally {
    // A connection that failed mid-transaction is destroyed, never handed to the next caller.
    client.release(broken);
  }
}
