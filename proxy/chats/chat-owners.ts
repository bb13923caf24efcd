import { ChatAssignmentError } from './chat-assignment.ts';

/** Where owners are kept: the record store implements it (storage/ imports this room, not the reverse). */
export interface ChatOwnerStore {
  hasChat(chatId: string): Promise<boolean>;
  getOwner(chatId: string): Promise<string | null>;
  /** Sets the owner unless the chat has one; returns the chat's owner either way. */
  claimOwner(chatId: string, owner: string): Promise<string>;
}

/** Chats whose owner this process remembers; past it the oldest are forgotten (and read again). */
const MAX_REMEMBERED = 10_000;

/**
 * Who owns a chat, as kernel creations name it (X-User-Id, KERNEL_USERNAME). The first owner
 * stays: a creation naming another one is refused before it reaches the gateway, including one
 * racing a creation still in flight (which has not claimed the chat yet). Since an owner never
 * changes once set (on any sidecar), a known one is remembered; "no owner yet" never is.
 */
export class ChatOwners {
  readonly #pending = new Map<string, { owner: string; count: number }>();
  readonly #known = new Map<string, string>();

  readonly #store: ChatOwnerStore;

  constructor(store: ChatOwnerStore) {
    this.#store = store;
  }

  /** The chat's owner, or null while it has none. */
  async ownerOf(chatId: string): Promise<string | null> {
    const known = this.#known.get(chatId);
    if (known !== undefined) return known;
    // hasChat first: asking an unknown chat's owner would load (and cache) an empty chat.
    const owner = (await this.#store.hasChat(chatId)) ? await this.#store.getOwner(chatId) : null;
    if (owner !== null) this.#remember(chatId, owner);
    return owner;
  }

  #remember(chatId: string, owner: string): void {
    if (this.#known.size >= MAX_REMEMBERED) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(chatId, owner);
  }

  /** Hold the chat for `owner` while its kernel is created; throws 409 for another owner. Returns the release. */
  async reserve(chatId: string, owner: string | null): Promise<() => void> {
    if (!owner) return () => {};
    const standing = await this.ownerOf(chatId);
    const pending = this.#pending.get(chatId);
    if ((standing !== null && standing !== owner) || (pending && pending.owner !== owner)) {
      throw new ChatAssignmentError('ERR_CHAT_OTHER_OWNER', 'This chat belongs to another user.');
    }
    const entry = pending ?? { owner, count: 0 };
    entry.count++;
    this.#pending.set(chatId, entry);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--entry.count === 0 && this.#pending.get(chatId) === entry) this.#pending.delete(chatId);
    };
  }

  /** The gateway created the kernel: the owner becomes the chat's, unless it already has one. */
  async claim(chatId: string, owner: string): Promise<string> {
    const standing = await this.#store.claimOwner(chatId, owner);
    this.#remember(chatId, standing);
    return standing;
  }
}
