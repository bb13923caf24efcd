import type { Pool } from 'pg';
import type { Logger } from '../../logger.ts';
import type { StoreUnavailableError } from '../store-errors.ts';

const PROBE_MIN_MS = 250;
const PROBE_MAX_MS = 5000;

/**
 * Whether the database answers, as the last query found it. Once a query finds the server away,
 * every query fails at once with that error until a probe in the background (`SELECT 1`, with
 * backoff) gets an answer. Without it, against a server that does not answer (frozen, or a
 * network that drops packets) every query would wait out the connection timeout: an execution
 * scans twice, so each would be held ~10 s, and each files-API call 5 s.
 */
export class PgAvailability {
  readonly #pool: Pool;
  readonly #logger: Logger;
  #down: StoreUnavailableError | null = null;
  #retryMs = PROBE_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;

  constructor(pool: Pool, logger: Logger) {
    this.#pool = pool;
    this.#logger = logger;
  }

  get up(): boolean {
    return this.#down === null;
  }

  /** Throws the error that took the database down, until a probe finds it back. */
  check(): void {
    if (this.#down) throw this.#down;
  }

  /** A query found the server away: fail fast from now on, and probe until it answers. */
  wentAway(error: StoreUnavailableError): void {
    if (this.#down || this.#closed) return;
    this.#down = error;
    this.#retryMs = PROBE_MIN_MS;
    this.#logger.warn(`[store] ${error.message} Queries fail at once until a probe gets an answer.`);
    this.#schedule(0);
  }

  #schedule(delayMs: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#pool.query('SELECT 1').then(
        () => {
          if (!this.#down) return;
          this.#down = null;
          this.#logger.info('[store] PostgreSQL answers again');
        },
        () => {
          const delay = this.#retryMs;
          this.#retryMs = Math.min(this.#retryMs * 2, PROBE_MAX_MS);
          this.#schedule(delay);
        },
      );
    }, delayMs);
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
  }
}
