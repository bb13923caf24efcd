/**
 * A signal that a chat has new stored events: `seq` is the latest one the publisher stored, or
 * null when events may have been missed (a bus that reconnected): read from your last seq.
 * Subscribers read the events themselves (`RecordStore.eventsAfter`), so a signal stays small
 * (it crosses processes as a PostgreSQL NOTIFY) and a lost one only delays, never drops, an event.
 */
export type FileEventSignal = { seq: number } | null;
export type FileEventListener = (signal: FileEventSignal) => void;

/** The file-event bus: the recorder publishes after each stored change, the SSE route subscribes per chat. */
export interface FileEventBus {
  publish(chatId: string, seq: number): Promise<void>;
  /** Returns the unsubscribe function. */
  on(chatId: string, listener: FileEventListener): () => void;
  listenerCount(chatId?: string): number;
  /** Stops delivering (and, for a shared bus, listening). */
  close(): Promise<void>;
}

/** Listeners per chat, called in order; a failing listener stops neither the publisher nor the others. */
export class FileEventListeners {
  readonly #listeners = new Map<string, Set<FileEventListener>>();

  on(chatId: string, listener: FileEventListener): () => void {
    let set = this.#listeners.get(chatId);
    if (!set) {
      set = new Set();
      this.#listeners.set(chatId, set);
    }
    set.add(listener);
    return () => {
      const current = this.#listeners.get(chatId);
      current?.delete(listener);
      if (current?.size === 0) this.#listeners.delete(chatId);
    };
  }

  deliver(chatId: string, signal: FileEventSignal): void {
    for (const listener of [...(this.#listeners.get(chatId) ?? [])]) {
      try {
        listener(signal);
      } catch {
        // A failing subscriber must not stop the recorder or the other subscribers.
      }
    }
  }

  /** Every chat with a listener: told after a reconnect that they may have missed something. */
  chats(): string[] {
    return [...this.#listeners.keys()];
  }

  count(chatId?: string): number {
    if (chatId !== undefined) return this.#listeners.get(chatId)?.size ?? 0;
    let total = 0;
    for (const set of this.#listeners.values()) total += set.size;
    return total;
  }
}

/** One process (lowdb, memory): publishing is calling the listeners. */
export class InProcessFileEventBus implements FileEventBus {
  readonly #listeners = new FileEventListeners();

  async publish(chatId: string, seq: number): Promise<void> {
    this.#listeners.deliver(chatId, { seq });
  }

  on(chatId: string, listener: FileEventListener): () => void {
    return this.#listeners.on(chatId, listener);
  }

  listenerCount(chatId?: string): number {
    return this.#listeners.count(chatId);
  }

  async close(): Promise<void> {}
}
