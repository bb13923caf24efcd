/**
 * One chat held in process, and the helpers of the store that holds chats that way (lowdb: this
 * is the shape of its snapshot `{dataDir}/records/{chatId}.json`). Not part of the RecordStore
 * interface: PostgreSQL keeps rows instead.
 */
import type { SkippedFile } from '../../contract/files-api.ts';
import type { FileRecord } from './file-record.ts';
import type { OutboxEntry, OutboxSummary, StoredFileEvent } from './record-store.ts';

/** Chats kept in memory at once by default (records, known file states); least recently used dropped first. */
export const DEFAULT_CACHED_CHATS = 256;

/** One chat as stored: the shape of lowdb's snapshot `{dataDir}/records/{chatId}.json`. */
export interface ChatData {
  format: 1;
  chatId: string;
  owner: string | null;
  records: FileRecord[];
  skipped: SkippedFile[];
  /** Absent in files written before links existed. */
  linksRevokedAt?: number | null;
  /** Webhook deliveries not yet made; absent when none ever were owed. */
  outbox?: OutboxEntry[];
  /** Added with event ids; absent in files written before (read as []). */
  events?: StoredFileEvent[];
  /**
   * lowdb: the last change of the chat's log (`{chatId}.jsonl`, `n`) this snapshot holds; later
   * lines are replayed on load. Absent in snapshots written before the log (read as 0).
   */
  logThrough?: number;
}

export function emptyChat(chatId: string): ChatData {
  return { format: 1, chatId, owner: null, records: [], skipped: [], linksRevokedAt: null, events: [] };
}

/** Bytes of every version a chat holds: what a quota counts. */
export function usedBytesOf(records: readonly FileRecord[]): number {
  let total = 0;
  for (const record of records) total += record.size;
  return total;
}

/** Skipped events numbered after the chat's last event. */
export function skippedEvents(data: Pick<ChatData, 'events'>, newlySkipped: readonly SkippedFile[]): StoredFileEvent[] {
  let seq = data.events?.at(-1)?.seq ?? 0;
  return newlySkipped.map((skipped) => ({ seq: ++seq, type: 'skipped', skipped: structuredClone(skipped) }));
}

/** Events after `afterSeq` from a chat's ordered list. */
export function eventsAfterIn(
  events: readonly StoredFileEvent[] | undefined,
  afterSeq: number,
  limit = Number.POSITIVE_INFINITY,
): StoredFileEvent[] {
  if (!events || events.length === 0) return [];
  // Seqs are consecutive from the first kept one: index, don't search.
  const start = Math.max(0, afterSeq - events[0]!.seq + 1);
  return events.slice(start, start + Math.min(limit, events.length));
}

/** Claims from an in-memory list of entries (lowdb, memory: one process owns the store). */
export function claimDue(
  entries: Iterable<OutboxEntry>,
  now: number,
  leaseUntil: number,
  limit: number,
): OutboxEntry[] {
  const due = [...entries]
    .filter((e) => e.state === 'pending' && e.nextAttemptAt <= now)
    .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
  return due.slice(0, Math.max(0, limit)).map((e) => {
    e.nextAttemptAt = leaseUntil;
    return structuredClone(e);
  });
}

export function summarizeOutbox(entries: Iterable<OutboxEntry>): OutboxSummary {
  const summary: OutboxSummary = { pending: 0, failed: 0, nextAttemptAt: null };
  for (const e of entries) {
    if (e.state === 'failed') summary.failed++;
    else {
      summary.pending++;
      summary.nextAttemptAt = Math.min(summary.nextAttemptAt ?? e.nextAttemptAt, e.nextAttemptAt);
    }
  }
  return summary;
}
