import { errorCode, SidecarError } from '../errors.ts';

/**
 * The errors of a shared store: one for a database that is away while the sidecar runs (the
 * files API answers 503 with its code), and one for a database the sidecar cannot start with.
 * Neither message ever holds the connection string's password.
 */

/** The database is unreachable right now (restarting, network); the request may be retried. */
export class StoreUnavailableError extends SidecarError<'ERR_STORE_UNAVAILABLE'> {
  constructor(cause: unknown) {
    super(
      'ERR_STORE_UNAVAILABLE',
      `The file store (PostgreSQL) is unavailable: ${reasonOf(cause)}. Try again shortly.`,
      { cause },
    );
  }
}

export type DatabaseStartCode =
  | 'ERR_DATABASE_URL' // not a postgres:// URL
  | 'ERR_DATABASE_UNREACHABLE' // refused, timed out, unknown host
  | 'ERR_DATABASE_AUTH' // wrong user or password
  | 'ERR_DATABASE_MISSING' // the database does not exist
  | 'ERR_DATABASE_SCHEMA_TOO_NEW' // a newer sidecar migrated it
  | 'ERR_DATABASE_START';

/** Why the sidecar cannot start on this database: one line, no password. */
export class DatabaseStartError extends SidecarError<DatabaseStartCode> {}

function reasonOf(error: unknown): string {
  if (error && typeof error === 'object') {
    const code = errorCode(error) ?? '';
    const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
    return [code, message].filter(Boolean).join(': ') || 'unknown error';
  }
  return String(error);
}

/** SQLSTATE classes and socket errors that mean "the server is away", not "the query is wrong". */
const UNAVAILABLE_SQLSTATE = /^(08|57P0[1-3]|53300)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

export function isUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const code = errorCode(error) ?? '';
  if (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code)) return true;
  const message = 'message' in error && typeof error.message === 'string' ? error.message : '';
  // node-postgres's own wording for a dropped connection and its timeouts.
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|not queryable/i.test(
    message,
  );
}

/** A database URL as it may be logged: no password, no query. */
function redactDatabaseUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = '***';
    url.search = '';
    return url.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/** The start-up error for what connecting and migrating threw. */
export function startErrorOf(error: unknown, url: string): DatabaseStartError {
  if (error instanceof DatabaseStartError) return error;
  const where = redactDatabaseUrl(url);
  const code = errorCode(error) ?? '';
  if (code === '28P01' || code === '28000') {
    return new DatabaseStartError(
      'ERR_DATABASE_AUTH',
      `PostgreSQL refused the user or password in DATABASE_URL (${where}). Check the credentials.`,
      { cause: error },
    );
  }
  if (code === '3D000') {
    return new DatabaseStartError(
      'ERR_DATABASE_MISSING',
      `The database in DATABASE_URL (${where}) does not exist. Create it (createdb) first.`,
      { cause: error },
    );
  }
  if (isUnavailable(error)) {
    return new DatabaseStartError(
      'ERR_DATABASE_UNREACHABLE',
      `Cannot reach PostgreSQL at ${where} (${code || 'timeout'}). Is it running, and is the host and port right?`,
      { cause: error },
    );
  }
  return new DatabaseStartError(
    'ERR_DATABASE_START',
    `Starting on PostgreSQL at ${where} failed: ${reasonOf(error).replaceAll(url, where)}`,
    { cause: error },
  );
}
