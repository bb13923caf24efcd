import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, rm, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { UPLOAD_TEMP_PREFIX } from '../workspace/tracking-policy.ts';

/**
 * The chat's workspace folder on the sidecar's side, kept as a copy of the kernel's: the
 * recorder scans it exactly as it scans a shared workspace. Only the sidecar writes it (the
 * transport and uploads), and every path it is given was checked (`pathRefusal`) first.
 */
export interface MirrorStat {
  size: number;
  mtimeMs: number;
}

export class MirrorFolder {
  constructor(readonly dir: string) {}

  #at(rel: string): string {
    const full = path.join(this.dir, rel);
    if (!full.startsWith(this.dir + path.sep)) throw new Error('path outside the mirror');
    return full;
  }

  async stat(rel: string): Promise<MirrorStat | null> {
    try {
      const s = await lstat(this.#at(rel));
      return s.isFile() ? { size: s.size, mtimeMs: s.mtimeMs } : null;
    } catch {
      return null;
    }
  }

  /** Every regular file (no symlink followed; upload temp files left out), up to `max` of them. */
  async list(max: number, maxDepth: number): Promise<Map<string, MirrorStat>> {
    const found = new Map<string, MirrorStat>();
    const visit = async (rel: string, depth: number): Promise<void> => {
      let entries;
      try {
        entries = await readdir(rel ? this.#at(rel) : this.dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (found.size >= max) return;
        const child = rel ? `${rel}/${entry.name}` : entry.name;
        if (entry.isDirectory()) {
          if (depth < maxDepth) await visit(child, depth + 1);
        } else if (entry.isFile() && !entry.name.startsWith(UPLOAD_TEMP_PREFIX)) {
          const s = await this.stat(child);
          if (s) found.set(child, s);
        }
      }
    };
    await visit('', 0);
    return found;
  }

  /** A file being received: written to a temp name the recorder never tracks, then put in place. */
  async receive(rel: string): Promise<IncomingFile> {
    const target = this.#at(rel);
    await this.#makeFolder(path.dirname(target));
    const temp = path.join(path.dirname(target), `${UPLOAD_TEMP_PREFIX}kernel-${randomUUID()}`);
    return new IncomingFile(await open(temp, 'wx', 0o644), temp, target);
  }

  async remove(rel: string): Promise<void> {
    await rm(this.#at(rel), { force: true });
  }

  async read(rel: string, offset: number, length: number): Promise<Buffer> {
    const handle = await open(this.#at(rel), 'r');
    try {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }

  /** A file where a folder must go (the kernel turned `a` into `a/`): the folder wins. */
  async #makeFolder(folder: string): Promise<void> {
    try {
      await mkdir(folder, { recursive: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOTDIR' && (error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw error;
      let at = folder;
      while (at.startsWith(this.dir + path.sep)) {
        const s = await lstat(at).catch(() => null);
        if (s && !s.isDirectory()) await rm(at, { force: true });
        at = path.dirname(at);
      }
      await mkdir(folder, { recursive: true });
    }
  }
}

export class IncomingFile {
  #written = 0;
  readonly #handle: FileHandle;
  readonly #temp: string;
  readonly #target: string;

  constructor(handle: FileHandle, temp: string, target: string) {
    this.#handle = handle;
    this.#temp = temp;
    this.#target = target;
  }

  get written(): number {
    return this.#written;
  }

  async append(data: Buffer): Promise<void> {
    await this.#handle.write(data, 0, data.length, this.#written);
    this.#written += data.length;
  }

  /** Put in place with the kernel's modification time; returns what the mirror now holds. */
  async commit(mtimeNs: string): Promise<MirrorStat> {
    await this.#handle.close();
    const seconds = Number(BigInt(mtimeNs) / 1000n) / 1e6;
    await utimes(this.#temp, seconds, seconds);
    // A folder where the file goes (the kernel turned `a/` into `a`): the file wins.
    const existing = await lstat(this.#target).catch(() => null);
    if (existing?.isDirectory()) await rm(this.#target, { recursive: true, force: true });
    await rename(this.#temp, this.#target);
    const s = await lstat(this.#target);
    return { size: s.size, mtimeMs: s.mtimeMs };
  }

  async abandon(): Promise<void> {
    await this.#handle.close().catch(() => {});
    await rm(this.#temp, { force: true });
  }
}
