import type { SkippedFile } from '../api/files-api-types.ts';
import type { FileRecord } from './file-record.ts';

export type FileEvent = { type: 'file'; record: FileRecord } | { type: 'skipped'; skipped: SkippedFile };
export type FileEventListener = (event: FileEvent) => void;

/** A tiny per-chat bus: the SSE route subscribes to one chat, the recorder publishes. */
export class FileEvents {
  readonly #listeners = new Map<string, Set<FileEventListener>>();

  /** Returns the unsubscribe function. */
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

  emit(chatId: string, event: FileEvent): void {
    for (const listener of [...(this.#listeners.get(chatId) ?? [])]) {
      try {
        listener(event);
      } catch {
        // A failing subscriber must not stop the recorder or the other subscribers.
      }
    }
  }

  listenerCount(chatId?: string): number {
    if (chatId !== undefined) return this.#listeners.get(chatId)?.size ?? 0;
    let total = 0;
    for (const set of this.#listeners.values()) total += set.size;
    return total;
  }
}
