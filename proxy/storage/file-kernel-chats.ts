import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import type { KernelChat, KernelChatStore } from '../chats/kernel-chats.ts';
import { DurableJsonFile } from './durable-json-file.ts';

interface KernelChatsData {
  kernels: Record<string, KernelChat>;
}

/**
 * The kernel→chat memory without a database (PostgreSQL's twin: `postgres/pg-kernel-chats.ts`):
 * `{dataDir}/kernels.json`, kept across restarts. Each change is one durable write of the whole
 * file (`DurableJsonFile`: temp file, fsync, rename, fsync of the folder), queued one at a time,
 * so a power cut leaves the old pairings or the new ones, never a torn or empty file.
 */
export class FileKernelChats implements KernelChatStore {
  readonly #db: Low<KernelChatsData>;
  #writing: Promise<void> = Promise.resolve();

  private constructor(db: Low<KernelChatsData>) {
    this.#db = db;
  }

  static async open(dataDir: string): Promise<FileKernelChats> {
    await mkdir(dataDir, { recursive: true });
    const file = new DurableJsonFile<KernelChatsData>(path.join(dataDir, 'kernels.json'));
    const db = new Low<KernelChatsData>(file, { kernels: {} });
    await db.read();
    db.data.kernels ??= {};
    return new FileKernelChats(db);
  }

  async get(kernelId: string): Promise<KernelChat | undefined> {
    return Object.hasOwn(this.#db.data.kernels, kernelId) ? this.#db.data.kernels[kernelId] : undefined;
  }

  async set(kernelId: string, entry: KernelChat): Promise<void> {
    this.#db.data.kernels[kernelId] = entry;
    await this.#save();
  }

  async delete(kernelId: string): Promise<void> {
    if (!Object.hasOwn(this.#db.data.kernels, kernelId)) return;
    delete this.#db.data.kernels[kernelId];
    await this.#save();
  }

  async toolKernelOf(chatId: string): Promise<string | undefined> {
    let found: [string, KernelChat] | undefined;
    for (const entry of Object.entries(this.#db.data.kernels)) {
      const [, kernel] = entry;
      if (kernel.tool && kernel.chatId === chatId && (!found || kernel.createdAt >= found[1].createdAt)) found = entry;
    }
    return found?.[0];
  }

  async entries(): Promise<Array<[string, KernelChat]>> {
    return Object.entries(this.#db.data.kernels);
  }

  async close(): Promise<void> {
    await this.#writing.catch(() => {});
  }

  /** Writes never overlap (they share the temp file); a failed one does not stop the next. */
  #save(): Promise<void> {
    const write = this.#writing.catch(() => {}).then(() => this.#db.write());
    this.#writing = write;
    return write;
  }
}
