import type { Pool, PoolClient } from 'pg';
import type { SkippedFile } from '../../../contract/files-api.ts';
import type { FileRecord } from '../file-record.ts';
import {
  RecordStoreBase,
  versionAgainst,
  type ChatQuota,
  type ChatSummary,
  type OutboxEntry,
  type OutboxFactory,
  type OutboxSummary,
  type RecordDraft,
  type StoredFileEvent,
} from '../record-store.ts';
import { assertChatId } from '../../chats/chat-id.ts';
import { query, transaction } from './pg-pool.ts';

interface OutboxRow {
  id: string;
  chat_id: string;
  record_id: string;
  created_at: string;
  attempts: number;
  next_attempt_at: string;
  state: 'pending' | 'failed';
  last_error: string | null;
}

const OUTBOX_COLUMNS = 'id, chat_id, record_id, created_at, attempts, next_attempt_at, state, last_error';

function outboxEntry(row: OutboxRow): OutboxEntry {
  return {
    id: row.id,
    chatId: row.chat_id,
    recordId: row.record_id,
    createdAt: row.created_at,
    attempts: row.attempts,
    nextAttemptAt: Number(row.next_attempt_at),
    state: row.state,
    lastError: row.last_error,
  };
}

/**
 * Records, owners, skipped lists and events in PostgreSQL, shared by every sidecar on the
 * database. Versions and event seqs are assigned inside the append's transaction, under a
 * per-chat transaction-scoped advisory lock (held until commit, so seqs commit in order), with
 * UNIQUE (chat_id, path, version) as the last word.
 */
export class PgRecordStore extends RecordStoreBase {
  readonly #pool: Pool;

  constructor(pool: Pool) {
    super();
    this.#pool = pool;
  }

  /** Serializes one chat's writes across every sidecar until the transaction ends. */
  async #lockChat(client: PoolClient, chatId: string): Promise<void> {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('generated-files:chat:' || $1, 0))", [chatId]);
    await client.query('INSERT INTO chats (chat_id) VALUES ($1) ON CONFLICT DO NOTHING', [chatId]);
  }

  /**
   * Records, their events and their outbox entries commit together, or none of them do. The
   * quota is checked against `chats.used_bytes` under the chat's lock, and kept up by each append.
   */
  async append(
    chatId: string,
    drafts: readonly RecordDraft[],
    outboxFor?: OutboxFactory,
    quota?: ChatQuota,
  ): Promise<FileRecord[]> {
    assertChatId(chatId);
    if (drafts.length === 0) return [];
    const paths = [...new Set(drafts.map((d) => d.path))];
    return transaction(this.#pool, async (client) => {
      await this.#lockChat(client, chatId);
      const latestRows = await client.query<{ path: string; version: number; sha256: string }>(
        'SELECT DISTINCT ON (path) path, version, sha256 FROM file_records WHERE chat_id = $1 AND path = ANY($2) ORDER BY path, version DESC',
        [chatId, paths],
      );
      const latest = new Map(latestRows.rows.map((r) => [r.path, r]));
      const chatRows = await client.query<{ last_seq: string; used_bytes: string }>(
        'SELECT last_seq, used_bytes FROM chats WHERE chat_id = $1',
        [chatId],
      );
      const { last_seq: lastSeq, used_bytes: usedBytes } = chatRows.rows[0]!;
      const { records, events, overQuota, ...after } = versionAgainst(
        latest,
        Number(lastSeq),
        drafts,
        quota && { usedBytes: Number(usedBytes), maxBytes: quota.maxBytes },
      );
      quota?.settle(overQuota, after.usedBytes);
      if (records.length === 0) return [];
      await client.query(
        `INSERT INTO file_records (chat_id, id, path, version, sha256, seq, record)
         SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::bigint[], $7::jsonb[])`,
        [
          chatId,
          records.map((r) => r.id),
          records.map((r) => r.path),
          records.map((r) => r.version),
          records.map((r) => r.sha256),
          events.map((e) => e.seq),
          records.map((r) => JSON.stringify(r)),
        ],
      );
      await this.#insertEvents(client, chatId, events);
      await client.query('UPDATE chats SET used_bytes = used_bytes + $2 WHERE chat_id = $1', [
        chatId,
        records.reduce((sum, r) => sum + r.size, 0),
      ]);
      const owed = outboxFor?.(chatId, records) ?? [];
      if (owed.length > 0) {
        await client.query(
          `INSERT INTO webhook_outbox (id, chat_id, record_id, created_at, attempts, next_attempt_at, state, last_error)
           SELECT u.id, $1, u.record_id, u.created_at, u.attempts, u.next_attempt_at, u.state, u.last_error
           FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::text[], $8::text[])
             AS u (id, record_id, created_at, attempts, next_attempt_at, state, last_error)`,
          [
            chatId,
            owed.map((e) => e.id),
            owed.map((e) => e.recordId),
            owed.map((e) => e.createdAt),
            owed.map((e) => e.attempts),
            owed.map((e) => e.nextAttemptAt),
            owed.map((e) => e.state),
            owed.map((e) => e.lastError),
          ],
        );
      }
      return records;
    });
  }

  async listOutbox(): Promise<OutboxEntry[]> {
    return (
      await query<OutboxRow>(this.#pool, `SELECT ${OUTBOX_COLUMNS} FROM webhook_outbox ORDER BY next_attempt_at, id`)
    ).map(outboxEntry);
  }

  /**
   * SKIP LOCKED: two sidecars claiming at once take different rows, never wait on each other,
   * and never both take one. The lease is the row's next attempt, so it outlives the claim's
   * transaction and a crashed claimer's entries come back when it ends.
   */
  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    const rows = await query<OutboxRow>(
      this.#pool,
      `UPDATE webhook_outbox SET next_attempt_at = $2
       WHERE id IN (
         SELECT id FROM webhook_outbox WHERE state = 'pending' AND next_attempt_at <= $1
         ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED
       )
       RETURNING ${OUTBOX_COLUMNS}`,
      [now, leaseUntil, limit],
    );
    return rows.map(outboxEntry).sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  async outboxSummary(): Promise<OutboxSummary> {
    const rows = await query<{ pending: string; failed: string; next_attempt_at: string | null }>(
      this.#pool,
      `SELECT count(*) FILTER (WHERE state = 'pending') AS pending, count(*) FILTER (WHERE state = 'failed') AS failed,
              min(next_attempt_at) FILTER (WHERE state = 'pending') AS next_attempt_at
       FROM webhook_outbox`,
    );
    const row = rows[0]!;
    return {
      pending: Number(row.pending),
      failed: Number(row.failed),
      nextAttemptAt: row.next_attempt_at === null ? null : Number(row.next_attempt_at),
    };
  }

  async updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void> {
    assertChatId(chatId);
    if (!entry) {
      await query(this.#pool, 'DELETE FROM webhook_outbox WHERE chat_id = $1 AND id = $2', [chatId, id]);
      return;
    }
    await query(
      this.#pool,
      'UPDATE webhook_outbox SET attempts = $3, next_attempt_at = $4, state = $5, last_error = $6 WHERE chat_id = $1 AND id = $2',
      [chatId, id, entry.attempts, entry.nextAttemptAt, entry.state, entry.lastError],
    );
  }

  /** GREATEST: a revocation never moves back, whichever sidecar's clock wrote last. */
  async revokeLinks(chatId: string, at: number): Promise<void> {
    await query(
      this.#pool,
      `INSERT INTO chats (chat_id, links_revoked_at) VALUES ($1, $2)
       ON CONFLICT (chat_id) DO UPDATE SET links_revoked_at = GREATEST(chats.links_revoked_at, EXCLUDED.links_revoked_at)`,
      [assertChatId(chatId), Math.trunc(at)],
    );
  }

  async #insertEvents(client: PoolClient, chatId: string, events: readonly StoredFileEvent[]): Promise<void> {
    if (events.length === 0) return;
    await client.query(
      `INSERT INTO file_events (chat_id, seq, type, record_id, path, skipped)
       SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::jsonb[])`,
      [
        chatId,
        events.map((e) => e.seq),
        events.map((e) => e.type),
        events.map((e) => (e.type === 'file' ? e.recordId : null)),
        events.map((e) => (e.type === 'file' ? e.path : null)),
        events.map((e) => (e.type === 'skipped' ? JSON.stringify(e.skipped) : null)),
      ],
    );
    await client.query('UPDATE chats SET last_seq = $2 WHERE chat_id = $1', [chatId, events.at(-1)!.seq]);
  }

  /** The chat's row: a chat exists once anything was written for it (see #lockChat, claimOwner, revokeLinks). */
  protected async chatSummary(chatId: string): Promise<ChatSummary | null> {
    const rows = await query<{
      owner: string | null;
      skipped: SkippedFile[];
      links_revoked_at: string | null;
      last_seq: string;
      used_bytes: string;
    }>(this.#pool, 'SELECT owner, skipped, links_revoked_at, last_seq, used_bytes FROM chats WHERE chat_id = $1', [
      assertChatId(chatId),
    ]);
    const row = rows[0];
    if (!row) return null;
    return {
      owner: row.owner,
      skipped: row.skipped ?? [],
      linksRevokedAt: row.links_revoked_at == null ? null : Number(row.links_revoked_at),
      lastEventSeq: Number(row.last_seq),
      usedBytes: Number(row.used_bytes),
    };
  }

  async listChat(chatId: string): Promise<FileRecord[]> {
    const rows = await query<{ record: FileRecord }>(
      this.#pool,
      'SELECT record FROM file_records WHERE chat_id = $1 ORDER BY seq',
      [assertChatId(chatId)],
    );
    return rows.map((r) => r.record);
  }

  async get(chatId: string, id: string): Promise<FileRecord | undefined> {
    const rows = await query<{ record: FileRecord }>(
      this.#pool,
      'SELECT record FROM file_records WHERE chat_id = $1 AND id = $2',
      [assertChatId(chatId), id],
    );
    return rows[0]?.record;
  }

  async listChatIds(): Promise<string[]> {
    return (await query<{ chat_id: string }>(this.#pool, 'SELECT chat_id FROM chats ORDER BY chat_id')).map(
      (r) => r.chat_id,
    );
  }

  async referencedShas(): Promise<Set<string>> {
    return new Set(
      (await query<{ sha256: string }>(this.#pool, 'SELECT DISTINCT sha256 FROM file_records')).map((r) => r.sha256),
    );
  }

  async claimOwner(chatId: string, owner: string): Promise<string> {
    // One statement, so two sidecars claiming at once agree: the first owner stays.
    const rows = await query<{ owner: string }>(
      this.#pool,
      'INSERT INTO chats (chat_id, owner) VALUES ($1, $2) ON CONFLICT (chat_id) DO UPDATE SET owner = COALESCE(chats.owner, EXCLUDED.owner) RETURNING owner',
      [assertChatId(chatId), owner],
    );
    return rows[0]!.owner;
  }

  async setSkipped(
    chatId: string,
    skipped: readonly SkippedFile[],
    newlySkipped: readonly SkippedFile[] = [],
  ): Promise<void> {
    assertChatId(chatId);
    await transaction(this.#pool, async (client) => {
      await this.#lockChat(client, chatId);
      await client.query('UPDATE chats SET skipped = $2 WHERE chat_id = $1', [chatId, JSON.stringify(skipped)]);
      if (newlySkipped.length === 0) return;
      const seqRows = await client.query<{ last_seq: string }>('SELECT last_seq FROM chats WHERE chat_id = $1', [
        chatId,
      ]);
      let seq = Number(seqRows.rows[0]!.last_seq);
      await this.#insertEvents(
        client,
        chatId,
        newlySkipped.map((s) => ({ seq: ++seq, type: 'skipped' as const, skipped: s })),
      );
    });
  }

  async eventsAfter(chatId: string, afterSeq: number, limit = 10_000): Promise<StoredFileEvent[]> {
    const rows = await query<{
      seq: string;
      type: 'file' | 'skipped';
      record_id: string | null;
      path: string | null;
      skipped: SkippedFile | null;
    }>(
      this.#pool,
      'SELECT seq, type, record_id, path, skipped FROM file_events WHERE chat_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [assertChatId(chatId), afterSeq, limit],
    );
    return rows.map((r) =>
      r.type === 'file'
        ? { seq: Number(r.seq), type: 'file', recordId: r.record_id!, path: r.path! }
        : { seq: Number(r.seq), type: 'skipped', skipped: r.skipped! },
    );
  }

  /** The pool belongs to whoever opened the stores (proxy/storage/open-stores.ts). */
  async close(): Promise<void> {}
}
