import type { Pool } from 'pg';
import type { KernelChat, KernelChatStore } from '../../chats/kernel-chats.ts';
import { query } from './pg-pool.ts';

/**
 * Kernel→chat memory in PostgreSQL: a kernel created through one sidecar lands in the same chat
 * when its WebSocket arrives at another. Pairings this process has seen are also kept in memory
 * (a pairing never changes while its kernel lives), so kernels it knows keep connecting while
 * the database restarts.
 */
export class PgKernelChats implements KernelChatStore {
  readonly #pool: Pool;
  readonly #seen = new Map<string, KernelChat>();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async get(kernelId: string): Promise<KernelChat | undefined> {
    let rows;
    try {
      rows = await query<{ chat_id: string; owner: string | null; created_at: string }>(
        this.#pool,
        'SELECT chat_id, owner, created_at FROM kernel_chats WHERE kernel_id = $1',
        [kernelId],
      );
    } catch (error) {
      const seen = this.#seen.get(kernelId);
      if (seen) return seen;
      throw error;
    }
    const row = rows[0];
    if (!row) return undefined;
    const entry = { chatId: row.chat_id, owner: row.owner, createdAt: row.created_at };
    this.#seen.set(kernelId, entry);
    return entry;
  }

  async set(kernelId: string, entry: KernelChat): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO kernel_chats (kernel_id, chat_id, owner, created_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (kernel_id) DO UPDATE SET chat_id = EXCLUDED.chat_id, owner = EXCLUDED.owner, created_at = EXCLUDED.created_at`,
      [kernelId, entry.chatId, entry.owner, entry.createdAt],
    );
    this.#seen.set(kernelId, entry);
  }

  async delete(kernelId: string): Promise<void> {
    this.#seen.delete(kernelId);
    await query(this.#pool, 'DELETE FROM kernel_chats WHERE kernel_id = $1', [kernelId]);
  }

  async entries(): Promise<Array<[string, KernelChat]>> {
    const rows = await query<{ kernel_id: string; chat_id: string; owner: string | null; created_at: string }>(
      this.#pool,
      'SELECT * FROM kernel_chats ORDER BY kernel_id',
    );
    return rows.map((r) => [r.kernel_id, { chatId: r.chat_id, owner: r.owner, createdAt: r.created_at }]);
  }

  async close(): Promise<void> {}
}
