import type { SkippedFile } from '../api/files-api-types.ts';
import type { FileRecord } from './file-record.ts';

/**
 * Where file records live. Records are only ever appended; the latest record of a path is its
 * current version. Implementations serialize writes per chat.
 */
export interface RecordStore {
  /** Append records of one chat, in order, durably (all or none). */
  append(chatId: string, records: readonly FileRecord[]): Promise<void>;
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
}

export function emptyChat(chatId: string): ChatData {
  return { format: 1, chatId, owner: null, records: [], skipped: [] };
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
