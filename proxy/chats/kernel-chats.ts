import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { Low } from 'lowdb';
import { JSONFile } from 'lowdb/node';

export interface KernelChat {
  chatId: string;
  owner: string | null;
  createdAt: string;
  /** Started by the MCP server as the chat's tool kernel (one per chat; see toolKernelOf). */
  tool?: boolean;
}

interface KernelChatsData {
  kernels: Record<string, KernelChat>;
}

/**
 * Which chat each kernel belongs to, so its WebSocket and later calls land in the same chat
 * even when they carry no chat id, on whichever sidecar they arrive.
 */
export interface KernelChatStore {
  get(kernelId: string): Promise<KernelChat | undefined>;
  set(kernelId: string, entry: KernelChat): Promise<void>;
  delete(kernelId: string): Promise<void>;
  /** The chat's tool kernel (the newest, should two sidecars have started one each), so any sidecar finds it. */
  toolKernelOf(chatId: string): Promise<string | undefined>;
  /** Every pairing (migrate-store copies them). */
  entries(): Promise<Array<[string, KernelChat]>>;
  close(): Promise<void>;
}

/** The kernel-chat memory of one sidecar: `{dataDir}/kernels.json` (lowdb writes atomically), kept across restarts. */
export class KernelChats implements KernelChatStore {
  private constructor(private readonly db: Low<KernelChatsData>) {}
  private writing: Promise<void> = Promise.resolve();

  static async open(dataDir: string): Promise<KernelChats> {
    await mkdir(dataDir, { recursive: true });
    const db = new Low<KernelChatsData>(new JSONFile(path.join(dataDir, 'kernels.json')), { kernels: {} });
    await db.read();
    db.data.kernels ??= {};
    return new KernelChats(db);
  }

  async get(kernelId: string): Promise<KernelChat | undefined> {
    return Object.hasOwn(this.db.data.kernels, kernelId) ? this.db.data.kernels[kernelId] : undefined;
  }

  async set(kernelId: string, entry: KernelChat): Promise<void> {
    this.db.data.kernels[kernelId] = entry;
    await this.save();
  }

  async delete(kernelId: string): Promise<void> {
    if (!Object.hasOwn(this.db.data.kernels, kernelId)) return;
    delete this.db.data.kernels[kernelId];
    await this.save();
  }

  async toolKernelOf(chatId: string): Promise<string | undefined> {
    let found: [string, KernelChat] | undefined;
    for (const entry of Object.entries(this.db.data.kernels)) {
      const [, kernel] = entry;
      if (kernel.tool && kernel.chatId === chatId && (!found || kernel.createdAt >= found[1].createdAt)) found = entry;
    }
    return found?.[0];
  }

  async entries(): Promise<Array<[string, KernelChat]>> {
    return Object.entries(this.db.data.kernels);
  }

  async close(): Promise<void> {
    await this.writing.catch(() => {});
  }

  private save(): Promise<void> {
    this.writing = this.writing.then(() => this.db.write());
    return this.writing;
  }
}
