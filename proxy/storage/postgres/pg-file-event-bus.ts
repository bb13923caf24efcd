import type { Client, Pool } from 'pg';
import { FileEventListeners, type FileEventBus, type FileEventListener } from '../file-events.ts';
import { isValidChatId } from '../../chats/chat-id.ts';
import { describeError, type Logger } from '../../logger.ts';
import { query } from './pg-pool.ts';

const FILE_EVENTS_CHANNEL = 'generated_files_events';
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

/**
 * The file-event bus across sidecars: NOTIFY with a small payload (`{chatId} {seq}`), LISTEN on
 * one connection of its own. When that connection drops (a PostgreSQL restart) it reconnects
 * with backoff, LISTENs again, and tells every subscribed chat it may have missed events
 * (a null signal): subscribers then read from their last seq, so nothing is lost in the gap.
 */
export class PgFileEventBus implements FileEventBus {
  readonly #pool: Pool;
  readonly #url: string;
  readonly #logger: Logger;
  readonly #listeners = new FileEventListeners();
  #client: Client | null = null;
  #closed = false;
  #retryMs = RECONNECT_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  /** Resolves once LISTEN is in place (the first time); the sidecar starts only after. */
  readonly ready: Promise<void>;

  constructor(pool: Pool, url: string, logger: Logger) {
    this.#pool = pool;
    this.#url = url;
    this.#logger = logger;
    this.ready = this.#connect(false);
  }

  /** Whether the LISTEN connection is up (the health endpoint reports it). */
  get listening(): boolean {
    return this.#client !== null;
  }

  async #connect(reconnect: boolean): Promise<void> {
    const { default: pg } = await import('pg');
    const client = new pg.Client({
      connectionString: this.#url,
      connectionTimeoutMillis: 5000,
      keepAlive: true,
      application_name: 'generated-files-sidecar:listen',
    });
    let dropped = false;
    const drop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (this.#client === client) this.#client = null;
      client.end().catch(() => {});
      if (this.#closed) return;
      this.#logger.warn(
        `[store] lost the PostgreSQL LISTEN connection${error ? ` (${describeError(error)})` : ''}; reconnecting`,
      );
      this.#scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', () => drop());
    client.on('notification', (message) => {
      if (message.channel !== FILE_EVENTS_CHANNEL || !message.payload) return;
      const space = message.payload.lastIndexOf(' ');
      const chatId = message.payload.slice(0, space);
      const seq = Number(message.payload.slice(space + 1));
      if (isValidChatId(chatId) && Number.isSafeInteger(seq)) this.#listeners.deliver(chatId, { seq });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${FILE_EVENTS_CHANNEL}`);
    } catch (error) {
      drop(error as Error);
      if (!reconnect) throw error;
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = RECONNECT_MIN_MS;
    if (reconnect) {
      this.#logger.info('[store] PostgreSQL LISTEN connection back; subscribers catch up');
      for (const chatId of this.#listeners.chats()) this.#listeners.deliver(chatId, null);
    }
  }

  #scheduleReconnect(): void {
    if (this.#timer || this.#closed) return;
    const delay = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, RECONNECT_MAX_MS);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#connect(true);
    }, delay);
    this.#timer.unref();
  }

  async publish(chatId: string, seq: number): Promise<void> {
    await query(this.#pool, 'SELECT pg_notify($1, $2)', [FILE_EVENTS_CHANNEL, `${chatId} ${seq}`]);
  }

  on(chatId: string, listener: FileEventListener): () => void {
    return this.#listeners.on(chatId, listener);
  }

  listenerCount(chatId?: string): number {
    return this.#listeners.count(chatId);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
  }
}
