import { randomUUID } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { KernelChat } from '../../chats/kernel-chats.ts';
import { isValidChatId, isValidOpaqueId } from '../../chats/chat-id.ts';
import { errorCode } from '../../errors.ts';
import { syncFolder } from '../sync-folder.ts';

const SUFFIX = '.json';

/**
 * Kernel→chat pairings made while PostgreSQL is away: one small JSON file per kernel in a folder
 * of the data dir, which every sidecar shares. So a kernel created through sidecar A during an
 * outage lands in its chat when its WebSocket reaches B, and a sidecar that dies before the
 * database is back loses no pairing: whichever sidecar finds a file writes it to the database and
 * removes it. Each file is written to a temp name, fsynced and renamed (then the folder fsynced),
 * so a reader never sees half of one and a power cut does not lose one.
 */
export class KernelChatSpool {
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  #fileOf(kernelId: string): string | null {
    return isValidOpaqueId(kernelId) ? path.join(this.#dir, kernelId + SUFFIX) : null;
  }

  async put(kernelId: string, entry: KernelChat): Promise<void> {
    const file = this.#fileOf(kernelId);
    if (!file) throw new Error(`Kernel id ${JSON.stringify(kernelId.slice(0, 80))} cannot name a spool file.`);
    await mkdir(this.#dir, { recursive: true });
    const temp = path.join(this.#dir, `.${randomUUID()}.tmp`);
    try {
      const handle = await open(temp, 'wx');
      try {
        await handle.writeFile(JSON.stringify(entry));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, file);
    } catch (error) {
      await unlink(temp).catch(() => {});
      throw error;
    }
    await syncFolder(this.#dir);
  }

  async get(kernelId: string): Promise<KernelChat | undefined> {
    const file = this.#fileOf(kernelId);
    if (!file) return undefined;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw error;
    }
    return parseEntry(text);
  }

  async remove(kernelId: string): Promise<void> {
    const file = this.#fileOf(kernelId);
    if (!file) return;
    await unlink(file).catch((error: unknown) => {
      if (errorCode(error) !== 'ENOENT') throw error;
    });
  }

  /** Every spooled pairing (none when the folder does not exist). */
  async list(): Promise<Array<[string, KernelChat]>> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
    const found: Array<[string, KernelChat]> = [];
    for (const name of names) {
      if (!name.endsWith(SUFFIX)) continue;
      const kernelId = name.slice(0, -SUFFIX.length);
      const entry = await this.get(kernelId);
      if (entry) found.push([kernelId, entry]);
    }
    return found;
  }
}

/** A spool file as written by `put`; anything else (a torn or foreign file) is ignored. */
function parseEntry(text: string): KernelChat | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!value || typeof value !== 'object') return undefined;
  const { chatId, owner, createdAt, tool } = value as Record<string, unknown>;
  if (!isValidChatId(chatId) || typeof createdAt !== 'string') return undefined;
  if (owner !== null && typeof owner !== 'string') return undefined;
  return tool === true ? { chatId, owner, createdAt, tool } : { chatId, owner, createdAt };
}
