import { errorCode } from '../errors.ts';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { DataFile } from 'lowdb/node';
import type { SkippedFile } from '../../contract/files-api.ts';
import { assertChatId, isValidChatId } from '../chats/chat-id.ts';
import { LruMap } from '../lru-map.ts';
import type { FileRecord } from './file-record.ts';
import {
  claimDue,
  DEFAULT_CACHED_CHATS,
  emptyChat,
  eventsAfterIn,
  skippedEvents,
  summarizeOutbox,
  usedBytesOf,
  versionDrafts,
  type ChatData,
} from './chat-data.ts';
import {
  type ChatQuota,
  type OutboxEntry,
  type OutboxFactory,
  type OutboxSummary,
  type RecordDraft,
  type RecordStore,
  type StoredFileEvent,
} from './record-store.ts';

class RecordStoreCorruptError extends Error {
  readonly code = 'ERR_RECORD_STORE_CORRUPT';
  constructor(file: string, cause: unknown) {
    super(
      `Cannot read ${file}: ${cause instanceof Error ? cause.message : String(cause)}. Restore it from a backup or move it away.`,
      { cause },
    );
  }
}

interface ChatSlot {
  db: Low<ChatData>;
  /** The chat's write queue: each write starts when the previous one settled. */
  tail: Promise<unknown>;
  /** Writes queued or running: a chat with any is never evicted from the cache. */
  writing: number;
}

interface CachedChat {
  slot: Promise<ChatSlot>;
  /** Set once loaded: only a loaded, quiet chat may be evicted. */
  loaded?: ChatSlot;
}

/**
 * One lowdb JSON file per chat, `{dataDir}/records/{chatId}.json`, loaded on first use and
 * cached (at most `maxCachedChats`, least recently used dropped first, never one with a write
 * in flight). Recording costs O(that chat); start-up reads nothing.
 *
 * Crash safety: lowdb's DataFile writes through steno, which writes `.{chatId}.json.tmp` and
 * renames it over the file, so a kill -9 at any moment leaves either the old or the new JSON.
 * steno does not fsync: a power cut can lose the last writes (never corrupts the old file on
 * journaling file systems with rename ordering, e.g. ext4 auto_da_alloc).
 */
export class LowdbRecordStore implements RecordStore {
  readonly dir: string;
  readonly #cache: LruMap<string, CachedChat>;
  #ready: Promise<unknown> | null = null;
  #outboxIndex: Promise<Map<string, OutboxEntry>> | null = null;

  constructor(dataDir: string, options: { maxCachedChats?: number } = {}) {
    this.dir = path.join(path.resolve(dataDir), 'records');
    this.#cache = new LruMap(Math.max(1, options.maxCachedChats ?? DEFAULT_CACHED_CHATS));
  }

  /** How many chats are in memory now. */
  get cachedChats(): number {
    return this.#cache.size;
  }

  #fileFor(chatId: string): string {
    return path.join(this.dir, `${assertChatId(chatId)}.json`);
  }

  #slot(chatId: string): Promise<ChatSlot> {
    const file = this.#fileFor(chatId);
    const cached = this.#cache.get(chatId);
    if (cached) return cached.slot;
    const entry: CachedChat = { slot: this.#load(chatId, file) };
    entry.slot = entry.slot.then((slot) => (entry.loaded = slot));
    this.#cache.set(chatId, entry);
    // A failed load is not cached: the next call tries again.
    entry.slot.catch(() => {
      if (this.#cache.peek(chatId) === entry) this.#cache.delete(chatId);
    });
    this.#evict();
    return entry.slot;
  }

  async #load(chatId: string, file: string): Promise<ChatSlot> {
    // Compact JSON: a chat's whole file is rewritten by each append, and indenting makes that a third slower.
    const adapter = new DataFile<ChatData>(file, { parse: JSON.parse, stringify: (data) => JSON.stringify(data) });
    const db = new Low<ChatData>(adapter, emptyChat(chatId));
    try {
      await db.read();
    } catch (error) {
      throw new RecordStoreCorruptError(file, error);
    }
    db.data.records = (db.data.records ?? []).map((r) => Object.freeze(r));
    db.data.skipped ??= [];
    db.data.owner ??= null;
    db.data.events ??= [];
    return { db, tail: Promise.resolve(), writing: 0 };
  }

  /** Drops the least recently used quiet chats (loaded, no write in flight) while there are too many. */
  #evict(): void {
    this.#cache.evict((cached) => cached.loaded !== undefined && cached.loaded.writing === 0);
  }

  /** Run a change then write the file, one at a time per chat; undo the change if the write fails. */
  async #write(chatId: string, change: (data: ChatData) => (() => void) | null): Promise<void> {
    let slot = await this.#slot(chatId);
    // Evicted while we waited for it? Write through the cached one, never a second copy.
    while (this.#cache.peek(chatId)?.loaded !== slot) slot = await this.#slot(chatId);
    slot.writing++;
    const run = slot.tail.then(async () => {
      this.#ready ??= mkdir(this.dir, { recursive: true });
      await this.#ready;
      const undo = change(slot.db.data);
      if (!undo) return; // nothing changed: nothing to write
      try {
        await slot.db.write();
      } catch (error) {
        undo();
        throw error;
      }
    });
    slot.tail = run.catch(() => {});
    void slot.tail.then(() => {
      slot.writing--;
      this.#evict();
    });
    return run;
  }

  /**
   * Versions come from the chat's records under its write queue: one writer per chat in this
   * process. Records, their events and their outbox entries go into the chat's one file in one
   * atomic rename.
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
    await this.#write(chatId, (data) => {
      const { records, events } = versionDrafts(data, drafts, quota);
      appended = records.map((r) => Object.freeze(r));
      if (appended.length === 0) return null;
      const before = data.records.length;
      const eventsBefore = data.events!.length;
      const outboxBefore = data.outbox?.length ?? 0;
      owed = structuredClone(outboxFor?.(chatId, appended) ?? []);
      data.records.push(...appended);
      data.events!.push(...events);
      if (owed.length > 0) (data.outbox ??= []).push(...owed);
      return () => {
        data.records.splice(before);
        data.events!.splice(eventsBefore);
        data.outbox?.splice(outboxBefore);
      };
    });
    if (owed.length > 0) await this.#indexOutbox((index) => owed.forEach((e) => index.set(e.id, structuredClone(e))));
    return appended;
  }

  /**
   * Reads every chat file once (cached ones from memory, others without caching them): the
   * price of keeping each chat's outbox in the same file as its records.
   */
  async listOutbox(): Promise<OutboxEntry[]> {
    const entries: OutboxEntry[] = [];
    for (const chatId of await this.listChatIds()) {
      const cached = this.#cache.peek(chatId)?.loaded;
      let outbox: OutboxEntry[] | undefined;
      if (cached) outbox = cached.db.data.outbox;
      else {
        const file = this.#fileFor(chatId);
        try {
          outbox = (JSON.parse(await readFile(file, 'utf8')) as ChatData).outbox;
        } catch (error) {
          if (errorCode(error) === 'ENOENT') continue;
          throw new RecordStoreCorruptError(file, error);
        }
      }
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

  /** A change already written to a chat file, applied to the index if it is loaded or loading. */
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
    const slot = await this.#slot(chatId);
    if (!slot.db.data.outbox?.some((e) => e.id === id)) return;
    await this.#write(chatId, (data) => {
      const before = data.outbox ?? [];
      data.outbox = entry
        ? before.map((e) => (e.id === id ? structuredClone(entry) : e))
        : before.filter((e) => e.id !== id);
      return () => {
        data.outbox = before;
      };
    });
    await this.#indexOutbox((index) => (entry ? index.set(id, structuredClone(entry)) : index.delete(id)));
  }

  /** A chat's data if it exists, without caching an unknown chat. */
  async #read(chatId: string): Promise<ChatData | null> {
    if (!this.#cache.has(chatId) && !(await this.hasChat(chatId))) return null;
    return (await this.#slot(chatId)).db.data;
  }

  async hasChat(chatId: string): Promise<boolean> {
    const file = this.#fileFor(chatId);
    const cached = this.#cache.peek(chatId)?.loaded;
    if (cached) {
      const { data } = cached.db;
      if (data.records.length > 0 || data.owner !== null || data.skipped.length > 0 || data.linksRevokedAt) return true;
    }
    try {
      await stat(file);
      return true;
    } catch {
      return false;
    }
  }

  /** Records are frozen: callers read them, never change them. */
  async listChat(chatId: string): Promise<FileRecord[]> {
    return [...((await this.#read(chatId))?.records ?? [])];
  }

  async usedBytes(chatId: string): Promise<number> {
    return usedBytesOf((await this.#read(chatId))?.records ?? []);
  }

  async get(chatId: string, id: string): Promise<FileRecord | undefined> {
    return (await this.#read(chatId))?.records.find((r) => r.id === id);
  }

  async eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]> {
    return eventsAfterIn((await this.#read(chatId))?.events, afterSeq, limit);
  }

  async lastEventSeq(chatId: string): Promise<number> {
    return (await this.#read(chatId))?.events?.at(-1)?.seq ?? 0;
  }

  async listChatIds(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    return names
      .filter((name) => name.endsWith('.json'))
      .map((name) => name.slice(0, -'.json'.length))
      .filter((id) => isValidChatId(id));
  }

  /** Reads chats that are not cached without caching them: a sweep should not fill memory. */
  async referencedShas(): Promise<Set<string>> {
    const shas = new Set<string>();
    for (const chatId of await this.listChatIds()) {
      let records: readonly FileRecord[];
      const cached = this.#cache.peek(chatId)?.loaded;
      if (cached) records = cached.db.data.records;
      else {
        const file = this.#fileFor(chatId);
        try {
          records = (JSON.parse(await readFile(file, 'utf8')) as ChatData).records ?? [];
        } catch (error) {
          if (errorCode(error) === 'ENOENT') continue;
          throw new RecordStoreCorruptError(file, error);
        }
      }
      for (const r of records) shas.add(r.sha256);
    }
    return shas;
  }

  async getOwner(chatId: string): Promise<string | null> {
    return (await this.#read(chatId))?.owner ?? null;
  }

  async claimOwner(chatId: string, owner: string): Promise<string> {
    let standing = owner;
    // Decided inside the chat's write turn, so two claims racing cannot both win.
    await this.#write(chatId, (data) => {
      if (data.owner !== null) {
        standing = data.owner;
        return () => {};
      }
      data.owner = owner;
      return () => {
        data.owner = null;
      };
    });
    return standing;
  }

  async listSkipped(chatId: string): Promise<SkippedFile[]> {
    return [...((await this.#read(chatId))?.skipped ?? [])];
  }

  async setSkipped(
    chatId: string,
    skipped: readonly SkippedFile[],
    newlySkipped: readonly SkippedFile[] = [],
  ): Promise<void> {
    await this.#write(chatId, (data) => {
      const before = data.skipped;
      const eventsBefore = data.events!.length;
      data.skipped = [...skipped];
      data.events!.push(...skippedEvents(data, newlySkipped));
      return () => {
        data.skipped = before;
        data.events!.splice(eventsBefore);
      };
    });
  }

  async getLinksRevokedAt(chatId: string): Promise<number | null> {
    return (await this.#slot(chatId)).db.data.linksRevokedAt ?? null;
  }

  async revokeLinks(chatId: string, at: number): Promise<void> {
    await this.#write(chatId, (data) => {
      const before = data.linksRevokedAt ?? null;
      data.linksRevokedAt = Math.max(before ?? 0, at);
      return () => {
        data.linksRevokedAt = before;
      };
    });
  }

  async close(): Promise<void> {
    for (const entry of this.#cache.values()) {
      await entry.slot.then(
        (s) => s.tail,
        () => {},
      );
    }
  }
}
