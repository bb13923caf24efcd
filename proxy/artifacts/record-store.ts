import type { SkippedFile } from '../api/files-api-types.ts';
import type { FileRecord } from './file-record.ts';

/**
 * Where file records live. Records are only ever appended; the latest record of a path is its
 * current version. Implementations serialize writes per chat.
 */
/**
 * One webhook delivery owed for one recorded file version. Written in the same durable step as
 * its record, so a crash between recording and delivery loses nothing.
 */
export interface OutboxEntry {
  /** The delivery id receivers use for idempotency. */
  id: string;
  chatId: string;
  recordId: string;
  /** ISO time it was queued (the record's time): --webhook-max-age counts from here. */
  createdAt: string;
  attempts: number;
  /** ms since the epoch; the next attempt waits until then. */
  nextAttemptAt: number;
  /** 'failed': gave up after --webhook-max-age; kept for an operator, never retried. */
  state: 'pending' | 'failed';
  /** The last failure, e.g. `HTTP 503` or `ECONNREFUSED` (never the receiver's body). */
  lastError: string | null;
}

export interface RecordStore {
  /**
   * Append records of one chat, in order, durably (all or none), with the webhook deliveries
   * they owe in the same write.
   */
  append(chatId: string, records: readonly FileRecord[], outbox?: readonly OutboxEntry[]): Promise<void>;
  /** Every outbox entry (pending and failed) of every chat: read once when deliveries start. */
  listOutbox(): Promise<OutboxEntry[]>;
  /** Replace one outbox entry by id, or remove it (`null`: delivered or no longer owed). */
  updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void>;
  /** Does the store hold anything for this chat? Cheap, and caches nothing for unknown chats. */
  hasChat(chatId: string): Promise<boolean>;
  /** Every record of a chat, oldest first; [] for an unknown chat. */
  listChat(chatId: string): Promise<FileRecord[]>;
  get(chatId: string, id: string): Promise<FileRecord | undefined>;
  /** Chats that have anything stored (records, owner or skipped files). */
  listChatIds(): Promise<string[]>;
  /** Every sha256 some record points to (retention keeps these blobs). */
  referencedShas(): Promise<Set<string>>;
  getOwner(chatId: string): Promise<string | null>;
  /**
   * Make `owner` the chat's owner unless it has one: the first owner stays (a later kernel
   * creation must not hand the chat to someone else). Resolves with the owner that stands.
   */
  claimOwner(chatId: string, owner: string): Promise<string>;
  /** Files seen but not kept, as of the chat's last scan. */
  listSkipped(chatId: string): Promise<SkippedFile[]>;
  setSkipped(chatId: string, skipped: readonly SkippedFile[]): Promise<void>;
  /** When the chat's links were last revoked (ms since the epoch); null: never. */
  getLinksRevokedAt(chatId: string): Promise<number | null>;
  /** Links of this chat issued before `at` (ms) no longer open anything. Never moves back. */
  revokeLinks(chatId: string, at: number): Promise<void>;
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
  /** Absent in files written before links existed. */
  linksRevokedAt?: number | null;
  /** Webhook deliveries not yet made; absent when none ever were owed. */
  outbox?: OutboxEntry[];
}

export function emptyChat(chatId: string): ChatData {
  return { format: 1, chatId, owner: null, records: [], skipped: [], linksRevokedAt: null };
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
