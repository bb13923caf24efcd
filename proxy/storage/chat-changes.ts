/**
 * The changes a chat goes through, as the lowdb store writes them to the chat's log and
 * replays them on load. One function applies a change both when it is made and when it is
 * replayed, so a chat read back is the chat that was written.
 */
import type { SkippedFile } from '../../contract/files-api.ts';
import type { ChatData } from './chat-data.ts';
import type { FileRecord } from './file-record.ts';
import type { OutboxEntry, StoredFileEvent } from './record-store.ts';

export type ChatChange =
  /** Records appended, their events, and the webhook deliveries owed for them. */
  | { op: 'append'; records: FileRecord[]; events: StoredFileEvent[]; outbox?: OutboxEntry[] }
  | { op: 'owner'; owner: string }
  /** The skipped list replaced; `events` for the newly skipped. */
  | { op: 'skipped'; skipped: SkippedFile[]; events: StoredFileEvent[] }
  | { op: 'links-revoked'; at: number }
  /** One outbox entry replaced, or removed (`null`). */
  | { op: 'outbox'; id: string; entry: OutboxEntry | null };

const OPS: ReadonlySet<string> = new Set<ChatChange['op']>(['append', 'owner', 'skipped', 'links-revoked', 'outbox']);

/** A change as read back from JSON: the op is one we write (the fields are trusted: we wrote them). */
export function isChatChange(value: unknown): value is ChatChange {
  return typeof value === 'object' && value !== null && OPS.has((value as { op?: unknown }).op as string);
}

/** Applies a change to a chat in memory. */
export function applyChatChange(data: ChatData, change: ChatChange): void {
  switch (change.op) {
    case 'append':
      pushAll(data.records, change.records);
      pushAll((data.events ??= []), change.events);
      if (change.outbox && change.outbox.length > 0) pushAll((data.outbox ??= []), change.outbox);
      return;
    case 'owner':
      data.owner = change.owner;
      return;
    case 'skipped':
      data.skipped = change.skipped;
      pushAll((data.events ??= []), change.events);
      return;
    case 'links-revoked':
      data.linksRevokedAt = Math.max(data.linksRevokedAt ?? 0, change.at);
      return;
    case 'outbox': {
      const outbox = data.outbox ?? [];
      const at = outbox.findIndex((e) => e.id === change.id);
      if (at === -1) return;
      if (change.entry) outbox[at] = change.entry;
      else outbox.splice(at, 1);
      return;
    }
  }
}

/** A loop, not push(...items): an append may hold more records than a call takes arguments. */
function pushAll<T>(target: T[], items: readonly T[]): void {
  for (const item of items) target.push(item);
}
