import type { SkippedFile } from '../../contract/files-api.ts';
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

/** Makes the outbox entries owed for records just appended (one per record, or none). */
export type OutboxFactory = (chatId: string, appended: readonly FileRecord[]) => OutboxEntry[];

/**
 * The per-chat quota an append keeps, every version counted. The store checks it under the
 * same per-chat lock that versions the drafts, so sidecars sharing the store never take a chat
 * past it together.
 */
export interface ChatQuota {
  /** Bytes a chat's records may hold in all. */
  maxBytes: number;
  /**
   * Called during the append (whenever drafts are given) with the drafts left out because they
   * would have taken the chat past `maxBytes`, and the bytes its records hold with what was
   * appended. What it says stands only if the append resolves.
   */
  settle(overQuota: readonly RecordDraft[], usedBytes: number): void;
}

export interface OutboxSummary {
  pending: number;
  failed: number;
  /** ms since the epoch; null when nothing is pending. */
  nextAttemptAt: number | null;
}

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
   * record it once. Each appended record gets a `file` event. `outboxFor` is called with exactly
   * the records appended (never with none) and its entries are written in the same durable step.
   * With `quota`, a new version that would take the chat past it is left out too (see ChatQuota).
   * Returns what was appended.
   */
  append(
    chatId: string,
    drafts: readonly RecordDraft[],
    outboxFor?: OutboxFactory,
    quota?: ChatQuota,
  ): Promise<FileRecord[]>;
  /** Bytes the chat's records hold, every version counted (what a quota counts); 0 for an unknown chat. */
  usedBytes(chatId: string): Promise<number>;
  /** Every outbox entry (pending and failed) of every chat: for migration and tests. */
  listOutbox(): Promise<OutboxEntry[]>;
  /**
   * Up to `limit` pending entries due at `now`, earliest first, each leased until `leaseUntil`
   * (stored as its next attempt): another sidecar claiming meanwhile skips them, and one that
   * died mid-delivery leaves them due again when the lease ends.
   */
  claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]>;
  /** Counts for the health endpoint and the earliest next attempt of a pending entry (null: none). */
  outboxSummary(): Promise<OutboxSummary>;
  /** Replace one outbox entry by id, or remove it (`null`: delivered or no longer owed). */
  updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void>;
  /** Does the store hold anything for this chat? Cheap, and caches nothing for unknown chats. */
  hasChat(chatId: string): Promise<boolean>;
  /** Every record of a chat, oldest first; [] for an unknown chat (caching nothing for it). */
  listChat(chatId: string): Promise<FileRecord[]>;
  /** One record of a chat by id; undefined for an unknown chat (caching nothing for it). */
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
  /** Files seen but not kept, as of the chat's last scan; [] for an unknown chat (caching nothing for it). */
  listSkipped(chatId: string): Promise<SkippedFile[]>;
  /** Replaces the chat's skipped list; each of `newlySkipped` also gets a `skipped` event. */
  setSkipped(chatId: string, skipped: readonly SkippedFile[], newlySkipped?: readonly SkippedFile[]): Promise<void>;
  /** The chat's events with seq > afterSeq, oldest first (at most `limit`). */
  eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]>;
  /** The chat's latest event seq; 0 when it has none. */
  lastEventSeq(chatId: string): Promise<number>;
  /** When the chat's links were last revoked (ms since the epoch); null: never. */
  getLinksRevokedAt(chatId: string): Promise<number | null>;
  /** Links of this chat issued before `at` (ms) no longer open anything. Never moves back. */
  revokeLinks(chatId: string, at: number): Promise<void>;
  /** Finish pending writes. */
  close(): Promise<void>;
}

/** What a store keeps for one chat beside its records and events: one row (PostgreSQL), the chat's document (lowdb). */
export interface ChatSummary {
  owner: string | null;
  /** Files seen but not kept, as of the chat's last scan. */
  skipped: readonly SkippedFile[];
  linksRevokedAt: number | null;
  lastEventSeq: number;
  /** Bytes the chat's records hold, every version counted. */
  usedBytes: number;
}

/**
 * RecordStore in two parts, as jupyter_server's ContentsManager is: what every backend must
 * implement is declared abstract here (the writes, each durable and atomic under the chat's
 * lock, and the reads a backend answers its own way: records, events, the outbox, sweeps over
 * every chat, and `chatSummary`); the six per-chat reads below are written once, from
 * `chatSummary`, for every backend.
 */
export abstract class RecordStoreBase implements RecordStore {
  /** The chat's summary, or null when the store holds nothing for it (caching nothing for it). */
  protected abstract chatSummary(chatId: string): Promise<ChatSummary | null>;

  abstract append(
    chatId: string,
    drafts: readonly RecordDraft[],
    outboxFor?: OutboxFactory,
    quota?: ChatQuota,
  ): Promise<FileRecord[]>;
  abstract listOutbox(): Promise<OutboxEntry[]>;
  abstract claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]>;
  abstract outboxSummary(): Promise<OutboxSummary>;
  abstract updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void>;
  abstract listChat(chatId: string): Promise<FileRecord[]>;
  abstract get(chatId: string, id: string): Promise<FileRecord | undefined>;
  abstract listChatIds(): Promise<string[]>;
  abstract referencedShas(): Promise<Set<string>>;
  abstract claimOwner(chatId: string, owner: string): Promise<string>;
  abstract setSkipped(
    chatId: string,
    skipped: readonly SkippedFile[],
    newlySkipped?: readonly SkippedFile[],
  ): Promise<void>;
  abstract eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]>;
  abstract revokeLinks(chatId: string, at: number): Promise<void>;
  abstract close(): Promise<void>;

  async hasChat(chatId: string): Promise<boolean> {
    return (await this.chatSummary(chatId)) !== null;
  }

  async getOwner(chatId: string): Promise<string | null> {
    return (await this.chatSummary(chatId))?.owner ?? null;
  }

  async listSkipped(chatId: string): Promise<SkippedFile[]> {
    return [...((await this.chatSummary(chatId))?.skipped ?? [])];
  }

  async getLinksRevokedAt(chatId: string): Promise<number | null> {
    return (await this.chatSummary(chatId))?.linksRevokedAt ?? null;
  }

  async lastEventSeq(chatId: string): Promise<number> {
    return (await this.chatSummary(chatId))?.lastEventSeq ?? 0;
  }

  async usedBytes(chatId: string): Promise<number> {
    return (await this.chatSummary(chatId))?.usedBytes ?? 0;
  }
}

/**
 * Versions drafts against each path's latest (version, sha256) and the chat's last event seq,
 * and keeps `quota` (the bytes used so far and the most allowed) when given: then `overQuota`
 * holds the drafts it left out and `usedBytes` the bytes used with `records`. Used by every store.
 */
export function versionAgainst(
  latest: Map<string, Pick<FileRecord, 'version' | 'sha256'>>,
  lastSeq: number,
  drafts: readonly RecordDraft[],
  quota?: { usedBytes: number; maxBytes: number },
): { records: FileRecord[]; events: StoredFileEvent[]; overQuota: RecordDraft[]; usedBytes: number } {
  let seq = lastSeq;
  let usedBytes = quota?.usedBytes ?? 0;
  const records: FileRecord[] = [];
  const events: StoredFileEvent[] = [];
  const overQuota: RecordDraft[] = [];
  for (const draft of drafts) {
    const current = latest.get(draft.path);
    if (current && current.sha256 === draft.sha256) continue;
    if (quota && usedBytes + draft.size > quota.maxBytes) {
      overQuota.push(draft);
      continue;
    }
    usedBytes += draft.size;
    const record: FileRecord = { ...structuredClone(draft), version: (current?.version ?? 0) + 1 };
    latest.set(record.path, record);
    records.push(record);
    events.push({ seq: ++seq, type: 'file', recordId: record.id, path: record.path });
  }
  return { records, events, overQuota, usedBytes };
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
