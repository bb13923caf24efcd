import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Rendered previews and diffs on disk, by content hash: `{dir}/ab/<sha256>.<key>.json`. The same
 * bytes are rendered once for every chat and every restart. An entry is written to a temp file
 * and renamed, so a reader sees a whole entry or none. Concurrent requests for one entry share
 * one render.
 */
export class PreviewCache {
  readonly dir: string;
  readonly #inFlight = new Map<string, Promise<string>>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
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
    const cached = await readFile(file, 'utf8').catch(() => null);
    if (cached !== null) return cached;
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

  async #write(file: string, text: string): Promise<void> {
    const tmp = `${file}.${randomUUID()}.tmp`;
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(tmp, text);
      await rename(tmp, file);
    } catch {
      // A cache that cannot be written (disk full) only costs a render next time.
      await unlink(tmp).catch(() => {});
    }
  }
}
