import { errorCode } from '../errors.ts';
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import type { SkippedFile } from '../../contract/files-api.ts';
import { assertChatId, isValidChatId } from '../chats/chat-id.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { LruMap } from '../lru-map.ts';
import type { ChatChange } from './chat-changes.ts';
import {
  claimDue,
  DEFAULT_CACHED_CHATS,
  eventsAfterIn,
  skippedEvents,
  summarizeOutbox,
  type ChatData,
} from './chat-data.ts';
import type { OpenChatLog } from './chat-log.ts';
import type { FileRecord } from './file-record.ts';
import { LowdbChat } from './lowdb-chat.ts';
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
} from './record-store.ts';

export interface LowdbRecordStoreOptions {
  /** Chats kept in memory at once (least recently used dropped first). */
  maxCachedChats?: number;
  /** Torn log lines dropped and failed compactions are logged here. */
  logger?: Logger;
  /** A chat's log is folded into its snapshot once it holds this many bytes (and half the snapshot's). */
  compactAfterBytes?: number;
  /** How a chat's log is opened for an append (a test seam). */
  openLog?: OpenChatLog;
}

interface ChatSlot {
  chat: LowdbChat;
  /** The chat's write queue: each write starts when the previous one settled. */
  tail: Promise<unknown>;
  /** Writes (and compactions) queued or running: a chat with any is never evicted from the cache. */
  writing: number;
  compactionQueued: boolean;
}

interface CachedChat {
  slot: Promise<ChatSlot>;
  /** Set once loaded: only a loaded, quiet chat may be evicted. */
  loaded?: ChatSlot;
}

/** A queued write that found its chat's copy broken, to be run again on a fresh load. */
const RELOAD = Symbol('reload');

/**
 * The embedded store: each chat a lowdb snapshot plus a log of the changes since
 * (`lowdb-chat.ts`: `{dataDir}/records/{chatId}.json` and `.jsonl`), loaded on first use and
 * cached (at most `maxCachedChats`, least recently used dropped first, never one with a write
 * in flight). Recording appends one fdatasynced line to the chat's log, whatever the chat's
 * size; start-up reads nothing. Chat files written before the log are the snapshot as they are.
 */
export class LowdbRecordStore extends RecordStoreBase {
  readonly dir: string;
  readonly #cache: LruMap<string, CachedChat>;
  readonly #logger: Logger;
  readonly #chatOptions: { logger: Logger; compactAfterBytes?: number; openLog?: OpenChatLog };
  #ready: Promise<unknown> | null = null;
  #outboxIndex: Promise<Map<string, OutboxEntry>> | null = null;

  constructor(dataDir: string, options: LowdbRecordStoreOptions = {}) {
    super();
    this.dir = path.join(path.resolve(dataDir), 'records');
    this.#cache = new LruMap(Math.max(1, options.maxCachedChats ?? DEFAULT_CACHED_CHATS));
    this.#logger = options.logger ?? quietLogger;
    this.#chatOptions = {
      logger: this.#logger,
      compactAfterBytes: options.compactAfterBytes,
      openLog: options.openLog,
    };
  }

  /** How many chats are in memory now. */
  get cachedChats(): number {
    return this.#cache.size;
  }

  #slot(chatId: string): Promise<ChatSlot> {
    assertChatId(chatId);
    const cached = this.#cache.get(chatId);
    if (cached) return cached.slot;
    const entry: CachedChat = { slot: this.#load(chatId) };
    entry.slot = entry.slot.then((slot) => (entry.loaded = slot));
    this.#cache.set(chatId, entry);
    // A failed load is not cached: the next call tries again.
    entry.slot.catch(() => this.#forget(chatId, entry));
    this.#evict();
    return entry.slot;
  }

  async #load(chatId: string): Promise<ChatSlot> {
    const chat = await LowdbChat.open(this.dir, chatId, this.#chatOptions);
    return { chat, tail: Promise.resolve(), writing: 0, compactionQueued: false };
  }

  #forget(chatId: string, entry: CachedChat): void {
    if (this.#cache.peek(chatId) === entry) this.#cache.delete(chatId);
  }

  /** Drops the least recently used quiet chats (loaded, no write in flight) while there are too many. */
  #evict(): void {
    this.#cache.evict((cached) => cached.loaded !== undefined && cached.loaded.writing === 0);
  }

  /**
   * Plans a change against the chat as it is, then commits it (one log line), one at a time per
   * chat. `plan` returns null when there is nothing to write.
   */
  async #write(chatId: string, plan: (chat: LowdbChat) => ChatChange | null): Promise<void> {
    for (;;) {
      let slot = await this.#slot(chatId);
      // Evicted while we waited for it? Write through the cached one, never a second copy.
      while (this.#cache.peek(chatId)?.loaded !== slot) slot = await this.#slot(chatId);
      const run = this.#enqueue(slot, async () => {
        if (slot.chat.broken) return RELOAD;
        this.#ready ??= mkdir(this.dir, { recursive: true });
        await this.#ready;
        const change = plan(slot.chat);
        if (!change) return;
        try {
          await slot.chat.commit(change);
        } finally {
          // A write that could not be cut back off the log leaves this copy unlike the disk: load again.
          const cached = this.#cache.peek(chatId);
          if (slot.chat.broken && cached?.loaded === slot) this.#forget(chatId, cached);
        }
        if (slot.chat.wantsCompaction && !slot.compactionQueued) this.#compactLater(chatId, slot);
      });
      if ((await run) !== RELOAD) return;
    }
  }

  /** Runs `task` after the chat's queued writes; the chat stays cached until it has run. */
  #enqueue<T>(slot: ChatSlot, task: () => Promise<T>): Promise<T> {
    slot.writing++;
    const run = slot.tail.then(task);
    slot.tail = run.catch(() => {});
    void slot.tail.then(() => {
      slot.writing--;
      this.#evict();
    });
    return run;
  }

  /** Folds the chat's log into its snapshot after the writes queued so far; the appends that filled it do not wait. */
  #compactLater(chatId: string, slot: ChatSlot): void {
    slot.compactionQueued = true;
    void this.#enqueue(slot, async () => {
      slot.compactionQueued = false;
      if (slot.chat.wantsCompaction) await slot.chat.compact();
    }).catch((error) =>
      this.#logger.warn(
        `[storage] compacting the log of chat ${chatId} failed, its log stays the record: ${describeError(error)}`,
      ),
    );
  }

  /**
   * Versions come from the chat's latest records under its write queue: one writer per chat in
   * this process. Records, their events and their outbox entries go into one log line.
   */
  async append(
    chatId: string,
    drafts: readonly RecordDraft[],
    outboxFor?: OutboxFactory,
    quota?: ChatQuota,
  ): Promise<FileRecord[]> {
    if (drafts.length === 0) return [];
    let appended: FileRecord[] = [];
    let owed: OutboxEntry[] = [];
    await this.#write(chatId, (chat) => {
      const versioned = versionAgainst(
        latestOfDrafts(chat, drafts),
        lastSeq(chat.data),
        drafts,
        quota && { usedBytes: chat.usedBytes(), maxBytes: quota.maxBytes },
      );
      quota?.settle(versioned.overQuota, versioned.usedBytes);
      const { records, events } = versioned;
      if (records.length === 0) return null;
      owed = structuredClone(outboxFor?.(chatId, records) ?? []);
      appended = records;
      return { op: 'append', records, events, ...(owed.length > 0 ? { outbox: owed } : {}) };
    });
    if (owed.length > 0) await this.#indexOutbox((index) => owed.forEach((e) => index.set(e.id, structuredClone(e))));
    return appended;
  }

  /** Every chat's outbox: cached chats from memory, others read without caching them. */
  async listOutbox(): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    for (const chatId of await this.listChatIds()) {
      const outbox = (await this.#readOnce(chatId))?.outbox;
      if (outbox) entries.push(...structuredClone(outbox));
    }
    return entries;
  }

  /**
   * Every chat's outbox by id, read once on the first claim (only a sidecar with webhooks
   * claims) and kept in step by append and updateOutbox. One process owns a lowdb store, so
   * leases live here only; after a crash every pending entry is due at its stored time.
   */
  #outbox(): Promise<Map<string, OutboxEntry>> {
    if (!this.#outboxIndex) {
      const loading = this.listOutbox().then((entries) => new Map(entries.map((e) => [e.id, e])));
      loading.catch(() => {
        if (this.#outboxIndex === loading) this.#outboxIndex = null;
      });
      this.#outboxIndex = loading;
    }
    return this.#outboxIndex;
  }

  /** A change already written to a chat's log, applied to the index if it is loaded or loading. */
  async #indexOutbox(change: (index: Map<string, OutboxEntry>) => void): Promise<void> {
    const index = await this.#outboxIndex?.catch(() => null);
    if (index) change(index);
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    return claimDue((await this.#outbox()).values(), now, leaseUntil, limit);
  }

  async outboxSummary(): Promise<OutboxSummary> {
    return summarizeOutbox((await this.#outbox()).values());
  }

  async updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void> {
    let changed = false;
    await this.#write(chatId, (chat) => {
      changed = chat.data.outbox?.some((e) => e.id === id) ?? false;
      return changed ? { op: 'outbox', id, entry: entry && structuredClone(entry) } : null;
    });
    if (changed) await this.#indexOutbox((index) => (entry ? index.set(id, structuredClone(entry)) : index.delete(id)));
  }

  /** A chat's data if it exists, without caching an unknown chat. */
  async #read(chatId: string): Promise<ChatData | null> {
    if (!this.#cache.has(assertChatId(chatId)) && !(await this.#exists(chatId))) return null;
    return (await this.#slot(chatId)).chat.data;
  }

  /** A chat's data for a sweep over every chat: from the cache, else read without caching it. */
  async #readOnce(chatId: string): Promise<ChatData | null> {
    return this.#cache.peek(chatId)?.loaded?.chat.data ?? LowdbChat.read(this.dir, chatId);
  }

  /** Does the store hold anything for this chat? Reads no chat: a cached one, else its files' existence. */
  async #exists(chatId: string): Promise<boolean> {
    assertChatId(chatId);
    const cached = this.#cache.peek(chatId)?.loaded;
    if (cached) {
      const { data } = cached.chat;
      if (data.records.length > 0 || data.owner !== null || data.skipped.length > 0 || data.linksRevokedAt) return true;
    }
    return LowdbChat.exists(this.dir, chatId);
  }

  protected async chatSummary(chatId: string): Promise<ChatSummary | null> {
    if (!(await this.#exists(chatId))) return null;
    const { chat } = await this.#slot(chatId);
    const { data } = chat;
    return {
      owner: data.owner,
      skipped: data.skipped,
      linksRevokedAt: data.linksRevokedAt ?? null,
      lastEventSeq: lastSeq(data),
      usedBytes: chat.usedBytes(),
    };
  }

  /** Records are frozen: callers read them, never change them. */
  async listChat(chatId: string): Promise<FileRecord[]> {
    return [...((await this.#read(chatId))?.records ?? [])];
  }

  async get(chatId: string, id: string): Promise<FileRecord | undefined> {
    return (await this.#read(chatId))?.records.find((r) => r.id === id);
  }

  async eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]> {
    return eventsAfterIn((await this.#read(chatId))?.events, afterSeq, limit);
  }

  async listChatIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const ids = new Set<string>();
    for (const name of names) {
      const chatId = LowdbChat.chatIdOf(name);
      if (chatId !== null && isValidChatId(chatId)) ids.add(chatId);
    }
    return [...ids];
  }

  /** Reads chats that are not cached without caching them: a sweep should not fill memory. */
  async referencedShas(): Promise<Set<string>> {
    const shas = new Set<string>();
    for (const chatId of await this.listChatIds()) {
      for (const r of (await this.#readOnce(chatId))?.records ?? []) shas.add(r.sha256);
    }
    return shas;
  }

  async claimOwner(chatId: string, owner: string): Promise<string> {
    let standing = owner;
    // Decided inside the chat's write turn, so two claims racing cannot both win.
    await this.#write(chatId, ({ data }) => {
      standing = data.owner ?? owner;
      return data.owner === null ? { op: 'owner', owner } : null;
    });
    return standing;
  }

  async setSkipped(
    chatId: string,
    skipped: readonly SkippedFile[],
    newlySkipped: readonly SkippedFile[] = [],
  ): Promise<void> {
    await this.#write(chatId, ({ data }) => ({
      op: 'skipped',
      skipped: structuredClone([...skipped]),
      events: skippedEvents(data, newlySkipped),
    }));
  }

  async revokeLinks(chatId: string, at: number): Promise<void> {
    await this.#write(chatId, ({ data }) =>
      data.linksRevokedAt != null && data.linksRevokedAt >= at ? null : { op: 'links-revoked', at },
    );
  }

  /** Waits for every queued write and compaction. */
  async close(): Promise<void> {
    for (const entry of this.#cache.values()) {
      const slot = await entry.slot.catch(() => null);
      if (!slot) continue;
      // A compaction may queue itself behind the last write: wait until the queue stays put.
      let tail: Promise<unknown> | null = null;
      while (tail !== slot.tail) {
        tail = slot.tail;
        await tail;
      }
    }
  }
}

/** The latest record of each path the drafts name: what versionAgainst needs, and all it may change. */
function latestOfDrafts(chat: LowdbChat, drafts: readonly RecordDraft[]): Map<string, FileRecord> {
  const latest = chat.latestByPath();
  const picked = new Map<string, FileRecord>();
  for (const { path: draftPath } of drafts) {
    const record = latest.get(draftPath);
    if (record) picked.set(draftPath, record);
  }
  return picked;
}

function lastSeq(data: Pick<ChatData, 'events'>): number {
  return data.events?.at(-1)?.seq ?? 0;
}
