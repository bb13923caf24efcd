import { LruMap } from '../lru-map.ts';
import { usedBytesOf } from '../storage/chat-data.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { latestByPath, type RecordStore } from '../storage/record-store.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import { ChatUsage } from './chat-usage.ts';
import { SkipLedger } from './skip-ledger.ts';

export interface KnownFile {
  size: number;
  mtimeMs: number;
  sha256: string;
}

/** The latest version of each path, as the recorder compares files with it. */
function knownFiles(records: readonly FileRecord[]): Map<string, KnownFile> {
  const files = new Map<string, KnownFile>();
  for (const [rel, r] of latestByPath(records)) {
    files.set(rel, { size: r.size, mtimeMs: Date.parse(r.modifiedAt), sha256: r.sha256 });
  }
  return files;
}

/** What the recorder knows of one chat's files. */
export interface ChatState {
  files: Map<string, KnownFile>;
  skipped: SkipLedger;
  /** Bytes of every recorded version against the quota. */
  usage: ChatUsage;
  owner: string | null;
  /**
   * Inodes this sidecar wrote into the chat's workspace (uploads): recorded even when the kernel
   * hard-links them. In memory only: after a restart such a file needs `allowHardLinks`.
   */
  sidecarInodes: Set<number>;
  /** Hard-linked files already logged as refused (path -> inode), so each is logged once. */
  refusedLinks: Map<string, number>;
}

/**
 * Per-chat known file states, built lazily from the store, so a restart neither re-records
 * unchanged files nor misses files changed while it was down. Kept for the most recently used
 * chats only: a state nobody holds (`inUse` says which are held) is rebuilt from the store when
 * needed again, so dropping one loses nothing.
 */
export class ChatStates {
  readonly #store: RecordStore;
  readonly #inUse: (chatId: string) => boolean;
  readonly #policy: TrackingPolicy;
  readonly #states: LruMap<string, Promise<ChatState>>;

  constructor(
    store: RecordStore,
    options: { policy: TrackingPolicy; maxCachedChats: number; inUse: (chatId: string) => boolean },
  ) {
    this.#store = store;
    this.#policy = options.policy;
    this.#inUse = options.inUse;
    this.#states = new LruMap(options.maxCachedChats);
  }

  /** How many chats' states are in memory now. */
  get size(): number {
    return this.#states.size;
  }

  /** What is known of a chat's files. Call it only while the chat is in use (locked). */
  get(chatId: string): Promise<ChatState> {
    let state = this.#states.get(chatId);
    if (state) return state;
    state = this.#load(chatId);
    this.#states.set(chatId, state);
    state.catch(() => this.#states.delete(chatId));
    this.#states.evict((_state, other) => !this.#inUse(other));
    return state;
  }

  /**
   * Reads again what the store holds of a chat's files and bytes: another sidecar sharing the
   * store may have recorded files this process has not seen. Call it while the chat is locked.
   */
  async refresh(chatId: string, state: ChatState): Promise<void> {
    const records = await this.#store.listChat(chatId);
    state.files.clear();
    for (const [rel, known] of knownFiles(records)) state.files.set(rel, known);
    state.usage.reset(usedBytesOf(records));
  }

  async #load(chatId: string): Promise<ChatState> {
    const records = await this.#store.listChat(chatId);
    const skipped = new SkipLedger(await this.#store.listSkipped(chatId));
    return {
      files: knownFiles(records),
      skipped,
      usage: new ChatUsage(usedBytesOf(records), this.#policy),
      owner: await this.#store.getOwner(chatId),
      sidecarInodes: new Set<number>(),
      refusedLinks: new Map<string, number>(),
    };
  }
}
