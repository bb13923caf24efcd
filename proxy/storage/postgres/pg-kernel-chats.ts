import type { Pool } from 'pg';
import type { KernelChat, KernelChatStore } from '../../chats/kernel-chats.ts';
import { describeError, type Logger } from '../../logger.ts';
import { StoreUnavailableError } from '../store-errors.ts';
import type { KernelChatSpool } from './kernel-chat-spool.ts';
import { query } from './pg-pool.ts';

interface KernelChatRow {
  kernel_id: string;
  chat_id: string;
  owner: string | null;
  created_at: string;
  tool: boolean;
}

/** A row as the interface gives it: `tool` only when set. */
function kernelChatOf(row: KernelChatRow): KernelChat {
  const entry: KernelChat = { chatId: row.chat_id, owner: row.owner, createdAt: row.created_at };
  if (row.tool) entry.tool = true;
  return entry;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

/**
 * Kernel→chat memory in PostgreSQL: a kernel created through one sidecar lands in the same chat
 * when its WebSocket arrives at another. While the database is away, kernels keep working:
 * pairings this process has seen are kept in memory (a pairing never changes while its kernel
 * lives), and a pairing made meanwhile (a kernel created during the outage) goes to the spool
 * on the shared data dir, where every sidecar finds it, until one writes it to the database.
 */
export class PgKernelChats implements KernelChatStore {
  readonly #pool: Pool;
  readonly #spool: KernelChatSpool;
  readonly #logger: Logger;
  readonly #seen = new Map<string, KernelChat>();
  #retryMs = RETRY_MIN_MS;
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  #closed = false;

  constructor(pool: Pool, spool: KernelChatSpool, logger: Logger) {
    this.#pool = pool;
    this.#spool = spool;
    this.#logger = logger;
  }

  async get(kernelId: string): Promise<KernelChat | undefined> {
    let rows;
    try {
      rows = await query<KernelChatRow>(
        this.#pool,
        'SELECT kernel_id, chat_id, owner, created_at, tool FROM kernel_chats WHERE kernel_id = $1',
        [kernelId],
      );
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      const known = this.#seen.get(kernelId) ?? (await this.#spool.get(kernelId));
      if (known) return known;
      throw error;
    }
    const row = rows[0];
    if (!row) {
      // Created during an outage, through this sidecar or another, and not written back yet.
      const spooled = await this.#spool.get(kernelId);
      if (spooled) this.#scheduleFlush(0);
      return spooled;
    }
    const entry = kernelChatOf(row);
    this.#seen.set(kernelId, entry);
    return entry;
  }

  async set(kernelId: string, entry: KernelChat): Promise<void> {
    try {
      await this.#insert(kernelId, entry, 'replace');
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      await this.#spool.put(kernelId, entry);
      this.#logger.warn(
        `[store] PostgreSQL is away: kernel ${kernelId} (chat ${entry.chatId}) is remembered in the spool until it is back`,
      );
      this.#scheduleFlush();
    }
    this.#seen.set(kernelId, entry);
  }

  async #insert(kernelId: string, entry: KernelChat, conflict: 'replace' | 'keep'): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO kernel_chats (kernel_id, chat_id, owner, created_at, tool) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (kernel_id) DO ${
         conflict === 'replace'
           ? 'UPDATE SET chat_id = EXCLUDED.chat_id, owner = EXCLUDED.owner, created_at = EXCLUDED.created_at, tool = EXCLUDED.tool'
           : 'NOTHING'
       }`,
      [kernelId, entry.chatId, entry.owner, entry.createdAt, entry.tool === true],
    );
  }

  async toolKernelOf(chatId: string): Promise<string | undefined> {
    const rows = await query<{ kernel_id: string }>(
      this.#pool,
      'SELECT kernel_id FROM kernel_chats WHERE chat_id = $1 AND tool ORDER BY created_at DESC LIMIT 1',
      [chatId],
    );
    return rows[0]?.kernel_id;
  }

  async delete(kernelId: string): Promise<void> {
    this.#seen.delete(kernelId);
    await this.#spool.remove(kernelId);
    await query(this.#pool, 'DELETE FROM kernel_chats WHERE kernel_id = $1', [kernelId]);
  }

  /**
   * Writes every spooled pairing to the database and removes its file; another sidecar doing the
   * same at once is harmless (a pairing already in the database stays as it is). Rejects while
   * the database is still away.
   */
  flushSpool(): Promise<void> {
    this.#flushing ??= (async () => {
      try {
        for (const [kernelId, entry] of await this.#spool.list()) {
          await this.#insert(kernelId, entry, 'keep');
          await this.#spool.remove(kernelId);
        }
      } finally {
        this.#flushing = null;
      }
    })();
    return this.#flushing;
  }

  /** Retries the flush with backoff until it succeeds. */
  #scheduleFlush(delayMs = this.#retryMs): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flushSpool().then(
        () => {
          this.#retryMs = RETRY_MIN_MS;
        },
        (error: unknown) => {
          if (!(error instanceof StoreUnavailableError))
            this.#logger.warn(`[store] writing spooled kernel pairings: ${describeError(error)}`);
          this.#retryMs = Math.min(this.#retryMs * 2, RETRY_MAX_MS);
          this.#scheduleFlush();
        },
      );
    }, delayMs);
    this.#timer.unref();
  }

  async entries(): Promise<Array<[string, KernelChat]>> {
    const rows = await query<KernelChatRow>(this.#pool, 'SELECT * FROM kernel_chats ORDER BY kernel_id');
    return rows.map((r) => [r.kernel_id, kernelChatOf(r)]);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#flushing?.catch(() => {});
  }
}
