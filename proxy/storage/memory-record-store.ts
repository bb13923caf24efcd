import type { SkippedFile } from '../../contract/files-api.ts';
import { assertChatId } from '../chats/chat-id.ts';
import type { FileRecord } from './file-record.ts';
import {
  claimDue,
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

/** Records in memory: for tests, and for a sidecar that should forget everything at exit. */
export class MemoryRecordStore implements RecordStore {
  readonly #chats = new Map<string, ChatData>();

  #chat(chatId: string): ChatData {
    assertChatId(chatId);
    let chat = this.#chats.get(chatId);
    if (!chat) {
      chat = emptyChat(chatId);
      this.#chats.set(chatId, chat);
    }
    return chat;
  }

  /** Synchronous from reading the latest versions to pushing: nothing interleaves. */
  async append(
    chatId: string,
    drafts: readonly RecordDraft[],
    outboxFor?: OutboxFactory,
    quota?: ChatQuota,
  ): Promise<FileRecord[]> {
    if (drafts.length === 0) return [];
    const chat = this.#chat(chatId);
    const { records, events } = versionDrafts(chat, drafts, quota);
    if (records.length === 0) return [];
    const owed = outboxFor?.(chatId, records) ?? [];
    chat.records.push(...records);
    chat.events!.push(...events);
    if (owed.length > 0) (chat.outbox ??= []).push(...structuredClone(owed));
    return structuredClone(records);
  }

  async listOutbox(): Promise<OutboxEntry[]> {
    return [...this.#chats.values()].flatMap((chat) => structuredClone(chat.outbox ?? []));
  }

  async claimOutbox(now: number, leaseUntil: number, limit: number): Promise<OutboxEntry[]> {
    return claimDue(this.#allOutbox(), now, leaseUntil, limit);
  }

  async outboxSummary(): Promise<OutboxSummary> {
    return summarizeOutbox(this.#allOutbox());
  }

  *#allOutbox(): Iterable<OutboxEntry> {
    for (const chat of this.#chats.values()) yield* chat.outbox ?? [];
  }

  async updateOutbox(chatId: string, id: string, entry: OutboxEntry | null): Promise<void> {
    const chat = this.#chats.get(assertChatId(chatId));
    const at = chat?.outbox?.findIndex((e) => e.id === id) ?? -1;
    if (at === -1) return;
    if (entry) chat!.outbox![at] = structuredClone(entry);
    else chat!.outbox!.splice(at, 1);
  }

  async eventsAfter(chatId: string, afterSeq: number, limit?: number): Promise<StoredFileEvent[]> {
    return structuredClone(eventsAfterIn(this.#chats.get(assertChatId(chatId))?.events, afterSeq, limit));
  }

  async lastEventSeq(chatId: string): Promise<number> {
    return this.#chats.get(assertChatId(chatId))?.events?.at(-1)?.seq ?? 0;
  }

  async hasChat(chatId: string): Promise<boolean> {
    return this.#chats.has(assertChatId(chatId));
  }

  async listChat(chatId: string): Promise<FileRecord[]> {
    return structuredClone(this.#chats.get(assertChatId(chatId))?.records ?? []);
  }

  async usedBytes(chatId: string): Promise<number> {
    return usedBytesOf(this.#chats.get(assertChatId(chatId))?.records ?? []);
  }

  async get(chatId: string, id: string): Promise<FileRecord | undefined> {
    const found = this.#chats.get(assertChatId(chatId))?.records.find((r) => r.id === id);
    return found && structuredClone(found);
  }

  async listChatIds(): Promise<string[]> {
    return [...this.#chats.keys()];
  }

  async referencedShas(): Promise<Set<string>> {
    const shas = new Set<string>();
    for (const chat of this.#chats.values()) for (const r of chat.records) shas.add(r.sha256);
    return shas;
  }

  async getOwner(chatId: string): Promise<string | null> {
    return this.#chats.get(assertChatId(chatId))?.owner ?? null;
  }

  async claimOwner(chatId: string, owner: string): Promise<string> {
    const chat = this.#chat(chatId);
    chat.owner ??= owner;
    return chat.owner;
  }

  async listSkipped(chatId: string): Promise<SkippedFile[]> {
    return structuredClone(this.#chats.get(assertChatId(chatId))?.skipped ?? []);
  }

  async setSkipped(
    chatId: string,
    skipped: readonly SkippedFile[],
    newlySkipped: readonly SkippedFile[] = [],
  ): Promise<void> {
    const chat = this.#chat(chatId);
    chat.skipped = structuredClone([...skipped]);
    chat.events!.push(...skippedEvents(chat, newlySkipped));
  }

  async getLinksRevokedAt(chatId: string): Promise<number | null> {
    return this.#chats.get(assertChatId(chatId))?.linksRevokedAt ?? null;
  }

  async revokeLinks(chatId: string, at: number): Promise<void> {
    const chat = this.#chat(chatId);
    chat.linksRevokedAt = Math.max(chat.linksRevokedAt ?? 0, at);
  }

  async close(): Promise<void> {}
}
