import type { SkippedFile } from '../api/files-api-types.ts';
import type { FileRecord } from './file-record.ts';

/** A record before the store gives it its version. */
export type RecordDraft = Omit<FileRecord, 'version'>;

/**
 * What happened in a chat, numbered by a per-chat sequence that only grows (1, 2, 3…). The SSE
 * route sends `seq` as the event id and replays from a client's Last-Event-ID.
 */
export type StoredFileEvent =
  | { seq: number; type: 'file'; recordId: string; path: string }
  | { seq: number; type: 'skipped'; skipped: SkippedFile };

/**
 * Where file records live. Records are only ever appended; the latest record of a path is its
 * current version. Several processes may share one store (PostgreSQL): nothing here relies on
 * in-process state.
 */
export interface RecordStore {
  /**
   * Append drafts of one chat, in order, durably (all or none). The store assigns versions: the
   * path's last version + 1, unique per (chat, path, version), under a per-chat write lock. A
   * draft whose sha256 equals its path's latest is left out, so two scans of the same change
   * record it once. Each appended record gets a `file` event. Returns what was appended.
   */
  append(chatId: string, drafts: readonly RecordDraft[]): Promise<FileRecord[]>;
  /** Does the store hold anything for this chat? Cheap, and caches nothing for unknown chats. */
  hasChat(chatId: string): Promise<boolean>;
  /** Every record of a chat, oldest first; [] for an unknown chat (caching nothing for it). */
  listChat(chatId: string): Promise<FileRecord[]>;
  get(chatId: string, id: string): Promise<FileRecord | undefined>;
  /** Chats that have anything stored (records, owner or skipped files). */
  listChatIds(): Promise<string[]>;
  /** Every sha256 some record points to (retention keeps these blobs). */
  referencedShas(): Promise<Set<string>>;
  getOwner(chatId: string): Promise<string | null>;
  setOwner(chatId: string, owner: string): Promise<void>;
  /** Files seen but not kept, as of the chat's last scan. */
  listSkipped(chatId: string): Promise<SkippedFile[]>;
  /** Replaces the chat's skipped list; each of `newlySkipped` also gets a `skipped` event. */
  setSkipped(chatId: string, skipped: readonly SkippedFile[], newlySkipped?: readonly SkippedFile[]): Promise<void>;
  /** The chat's events with seq > afterSeq, oldest first (at most `limit`). */
  eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]>;
  /** The chat's latest event seq; 0 when it has none. */
  lastEventSeq(chatId: string): Promise<number>;
  /** Finish pending writes. */
  close(): Promise<void>;
}

/** One chat as stored: the shape of `{dataDir}/records/{chatId}.json`. */
export interface ChatData {
  format: 1;
  chatId: string;
  owner: string | null;
  records: FileRecord[];
  skipped: SkippedFile[];
  /** Added with event ids; absent in files written before (read as []). */
  events?: StoredFileEvent[];
}

export function emptyChat(chatId: string): ChatData {
  return { format: 1, chatId, owner: null, records: [], skipped: [], events: [] };
}

/**
 * The in-process half of `append` for stores that hold a chat in memory under a per-chat write
 * lock (lowdb, memory): versions from the chat's records, drafts equal to their path's latest
 * left out. Returns the records and events to add.
 */
export function versionDrafts(data: Pick<ChatData, 'records' | 'events'>, drafts: readonly RecordDraft[]): { records: FileRecord[]; events: StoredFileEvent[] } {
  return versionAgainst(latestByPath(data.records), data.events?.at(-1)?.seq ?? 0, drafts);
}

/** Versions drafts against each path's latest (version, sha256) and the chat's last event seq; used by every store. */
export function versionAgainst(
  latest: Map<string, Pick<FileRecord, 'version' | 'sha256'>>,
  lastSeq: number,
  drafts: readonly RecordDraft[],
): { records: FileRecord[]; events: StoredFileEvent[] } {
  let seq = lastSeq;
  const records: FileRecord[] = [];
  const events: StoredFileEvent[] = [];
  for (const draft of drafts) {
    const current = latest.get(draft.path);
    if (current && current.sha256 === draft.sha256) continue;
    const record: FileRecord = { ...structuredClone(draft), version: (current?.version ?? 0) + 1 };
    latest.set(record.path, record);
    records.push(record);
    events.push({ seq: ++seq, type: 'file', recordId: record.id, path: record.path });
  }
  return { records, events };
}

/** Skipped events numbered after the chat's last event. */
export function skippedEvents(data: Pick<ChatData, 'events'>, newlySkipped: readonly SkippedFile[]): StoredFileEvent[] {
  let seq = data.events?.at(-1)?.seq ?? 0;
  return newlySkipped.map((skipped) => ({ seq: ++seq, type: 'skipped', skipped: structuredClone(skipped) }));
}

/** Events after `afterSeq` from a chat's ordered list. */
export function eventsAfterIn(events: readonly StoredFileEvent[] | undefined, afterSeq: number, limit = Number.POSITIVE_INFINITY): StoredFileEvent[] {
  if (!events || events.length === 0) return [];
  // Seqs are consecutive from the first kept one: index, don't search.
  const start = Math.max(0, afterSeq - events[0]!.seq + 1);
  return events.slice(start, start + Math.min(limit, events.length));
}

/** The latest record of each path, in the order paths were first recorded. */
export function latestByPath(records: readonly FileRecord[]): Map<string, FileRecord> {
  const latest = new Map<string, FileRecord>();
  for (const record of records) {
    const current = latest.get(record.path);
    if (!current || record.version > current.version) latest.set(record.path, record);
  }
  return latest;
}

/** Chats kept in memory at once by default (records, known file states); least recently used dropped first. */
export const DEFAULT_CACHED_CHATS = 256;
