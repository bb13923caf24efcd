import { describeError, type Logger } from '../logger.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { FileEventBus } from '../storage/file-events.ts';
import type { OutboxEntry, RecordDraft, RecordStore } from '../storage/record-store.ts';
import type { SnapshotEntry } from '../workspace/workspace-snapshot.ts';
import type { ChatState } from './chat-states.ts';

/**
 * Deliveries owed for new records (webhooks): the recorder writes them in the same store append
 * as the records, then says they are durable.
 */
export interface FileOutbox {
  entriesFor(chatId: string, records: readonly FileRecord[]): OutboxEntry[];
  committed(entries: readonly OutboxEntry[]): void;
}

/** A record to append, with the workspace entry its file was copied from. */
export interface PendingRecord {
  draft: RecordDraft;
  entry: SnapshotEntry;
}

/**
 * The last step of scans and uploads alike. Blobs are already stored; now the records (the store
 * versions them, leaves out drafts equal to their path's latest and those over the chat's quota,
 * and writes the webhook deliveries owed for exactly what it appended in the same step), then
 * what the recorder knows, then the signal to subscribers.
 */
export class RecordCommit {
  readonly #store: RecordStore;
  readonly #events: FileEventBus;
  readonly #outbox: FileOutbox | undefined;
  readonly #logger: Logger;

  constructor(options: { store: RecordStore; events: FileEventBus; outbox?: FileOutbox; logger: Logger }) {
    this.#store = options.store;
    this.#events = options.events;
    this.#outbox = options.outbox;
    this.#logger = options.logger;
  }

  /** Returns what was appended, and what the quota left out (not known, so looked at again). */
  async commit(
    chatId: string,
    state: ChatState,
    pending: readonly PendingRecord[],
  ): Promise<{ appended: FileRecord[]; overQuota: PendingRecord[] }> {
    if (pending.length === 0) return { appended: [], overQuota: [] };
    let owed: OutboxEntry[] = [];
    const outbox = this.#outbox;
    const { result: appended, overQuota } = await state.usage.appendWithin((quota) =>
      this.#store.append(
        chatId,
        pending.map((p) => p.draft),
        outbox && ((id, records) => (owed = outbox.entriesFor(id, records))),
        quota,
      ),
    );
    if (owed.length > 0) outbox!.committed(owed);
    // Known size/mtime are the snapshot's: if the file changed during the copy, the next scan sees it.
    for (const { draft, entry } of pending)
      if (!overQuota.has(draft))
        state.files.set(draft.path, { size: entry.size, mtimeMs: entry.mtimeMs, sha256: draft.sha256 });
    if (appended.length > 0) await this.publish(chatId);
    return { appended, overQuota: pending.filter((p) => overQuota.has(p.draft)) };
  }

  /** Tells subscribers (on every sidecar sharing the store) that the chat has new events. */
  async publish(chatId: string): Promise<void> {
    try {
      await this.#events.publish(chatId, await this.#store.lastEventSeq(chatId));
    } catch (error) {
      // Stored already: a subscriber catches up at its next signal or reconnect.
      this.#logger.warn(`[artifacts] announcing new files in chat ${chatId} failed: ${describeError(error)}`);
    }
  }
}
