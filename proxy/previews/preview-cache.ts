import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** `<sha256>.<key>.json`, where a diff's key ends in `-<sha256 of the other version>`. */
const ENTRY = /^([0-9a-f]{64})\.[0-9a-f]+(?:-([0-9a-f]{64}))?\.json$/;
/** A temp file older than this was left by a crash, not by a write in progress. */
const STALE_TEMP_MS = 60 * 60 * 1000;

/** The preview cache's folder: next to the store's, in --data-dir. */
export const previewCacheDir = (dataDir: string): string => path.join(dataDir, 'previews');

/**
 * Rendered previews and diffs on disk, by content hash: `{dir}/ab/<sha256>.<key>.json`. The same
 * bytes are rendered once for every chat and every restart. An entry is written to a temp file
 * and renamed, so a reader sees a whole entry or none. Concurrent requests for one entry share
 * one render. `prune` removes the entries of blobs that are gone (retention calls it after
 * collecting blobs), so the cache never outlives what it was made from.
 *
 * The cache is shared by every chat (one entry per content hash), so it is not charged to a
 * chat's quota; instead its total size is capped (`--preview-cache-mb`): five 11 kB uploads once
 * grew it by 781 MB. Sizes are known from the start (the folder is listed once), the least
 * recently used entries are deleted past the cap, and an answer larger than the cap is not kept.
 * Several processes sharing one data dir each keep their own count: each evicts what it knows.
 */
export class PreviewCache {
  readonly dir: string;
  readonly maxBytes: number;
  readonly #inFlight = new Map<string, Promise<string>>();
  /** Each entry's size, least recently used first (filled from the folder on first use). */
  readonly #sizes = new Map<string, number>();
  #bytes = 0;
  #loaded: Promise<void> | null = null;

  constructor(dir: string, maxBytes = Infinity) {
    this.dir = path.resolve(dir);
    this.maxBytes = maxBytes;
  }

  /** Bytes of the entries this process knows of (all of them, unless another process adds some). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entries already on disk, oldest (by mtime) first, counted once. */
  #load(): Promise<void> {
    this.#loaded ??= (async () => {
      const found: Array<{ file: string; size: number; mtimeMs: number }> = [];
      for (const shard of await readdir(this.dir).catch(() => [] as string[])) {
        if (!/^[0-9a-f]{2}$/.test(shard)) continue;
        for (const name of await readdir(path.join(this.dir, shard)).catch(() => [] as string[])) {
          if (!ENTRY.test(name)) continue;
          const file = path.join(this.dir, shard, name);
          const stats = await stat(file).catch(() => null);
          if (stats) found.push({ file, size: stats.size, mtimeMs: stats.mtimeMs });
        }
      }
      found.sort((a, b) => a.mtimeMs - b.mtimeMs);
      for (const { file, size } of found) if (!this.#sizes.has(file)) this.#add(file, size);
    })();
    return this.#loaded;
  }

  #add(file: string, size: number): void {
    this.#forget(file);
    this.#sizes.set(file, size);
    this.#bytes += size;
  }

  #forget(file: string): void {
    const size = this.#sizes.get(file);
    if (size === undefined) return;
    this.#sizes.delete(file);
    this.#bytes -= size;
  }

  /** Deletes least recently used entries until the cache fits its cap. */
  async #evict(): Promise<void> {
    for (const [file] of this.#sizes) {
      if (this.#bytes <= this.maxBytes) return;
      this.#forget(file);
      await unlink(file).catch(() => {});
    }
  }

  fileFor(sha256: string, key: string): string {
    return path.join(this.dir, sha256.slice(0, 2), `${sha256}.${key}.json`);
  }

  /** The cached text, or what `render` makes (then stored when `shouldStore` agrees). */
  async getOrRender(
    sha256: string,
    key: string,
    render: () => Promise<{ text: string; store: boolean }>,
  ): Promise<string> {
    const file = this.fileFor(sha256, key);
    const pending = this.#inFlight.get(file);
    if (pending) return pending;
    await this.#load();
    const cached = await readFile(file, 'utf8').catch(() => null);
    if (cached !== null) {
      // Now the most recently used.
      const size = this.#sizes.get(file);
      if (size !== undefined) this.#add(file, size);
      return cached;
    }
    const work = (async () => {
      const { text, store } = await render();
      if (store) await this.#write(file, text);
      return text;
    })();
    this.#inFlight.set(file, work);
    try {
      return await work;
    } finally {
      this.#inFlight.delete(file);
    }
  }

  /**
   * Removes every entry made from a blob that `exists` says is gone (for a diff, either of its
   * two blobs), and temp files a crash left. Answers how many entries went.
   */
  async prune(exists: (sha256: string) => Promise<boolean>, now = Date.now()): Promise<number> {
    const known = new Map<string, Promise<boolean>>();
    const alive = (sha: string) => {
      let answer = known.get(sha);
      if (!answer) known.set(sha, (answer = exists(sha)));
      return answer;
    };
    let removed = 0;
    for (const shard of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      const folder = path.join(this.dir, shard);
      for (const name of await readdir(folder).catch(() => [] as string[])) {
        const file = path.join(folder, name);
        const entry = ENTRY.exec(name);
        if (entry) {
          if ((await alive(entry[1]!)) && (!entry[2] || (await alive(entry[2])))) continue;
          this.#forget(file);
          if (
            await unlink(file).then(
              () => true,
              () => false,
            )
          )
            removed++;
        } else if (name.endsWith('.tmp')) {
          const stats = await stat(file).catch(() => null);
          if (stats && now - stats.mtimeMs > STALE_TEMP_MS) await unlink(file).catch(() => {});
        }
      }
    }
    return removed;
  }

  async #write(file: string, text: string): Promise<void> {
    const size = Buffer.byteLength(text);
    // An answer larger than the whole cache is served, not kept.
    if (size > this.maxBytes) return;
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, text);
      await rename(tmp, file);
      this.#add(file, size);
      await this.#evict();
    } catch {
      // A cache that cannot be written (disk full) only costs a render next time.
      await unlink(tmp).catch(() => {});
    }
  }
}
