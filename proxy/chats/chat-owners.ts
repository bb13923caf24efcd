import { ChatAssignmentError } from './chat-assignment.ts';

/** Where owners are kept: the record store implements it (storage/ imports this room, not the reverse). */
export interface ChatOwnerStore {
  hasChat(chatId: string): Promise<boolean>;
  getOwner(chatId: string): Promise<string | null>;
  /** Sets the owner unless the chat has one; returns the chat's owner either way. */
  claimOwner(chatId: string, owner: string): Promise<string>;
}

/**
 * Who owns a chat, as kernel creations name it (X-User-Id, KERNEL_USERNAME). The first owner
 * stays: a creation naming another one is refused before it reaches the gateway, including one
 * racing a creation still in flight (which has not claimed the chat yet).
 */
export class ChatOwners {
  readonly #pending = new Map<string, { owner: string; count: number }>();

  readonly #store: ChatOwnerStore;

  constructor(store: ChatOwnerStore) {
    this.#store = store;
  }

  /** Hold the chat for `owner` while its kernel is created; throws 409 for another owner. Returns the release. */
  async reserve(chatId: string, owner: string | null): Promise<() => void> {
    if (!owner) return () => {};
    // hasChat first: asking an unknown chat's owner would load (and cache) an empty chat.
    const standing = (await this.#store.hasChat(chatId)) ? await this.#store.getOwner(chatId) : null;
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
  claim(chatId: string, owner: string): Promise<string> {
    return this.#store.claimOwner(chatId, owner);
  }
}
