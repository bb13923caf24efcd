import { open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { errorCode } from '../errors.ts';
import { syncFolder } from './sync-folder.ts';

/** Array items serialized per slice: a 100k-record chat is written in ~100 steps, not one long stringify. */
const ITEMS_PER_SLICE = 1000;
/** Pieces are gathered into writes of about this many characters. */
const WRITE_CHARS = 256 * 1024;

/**
 * A lowdb adapter for one JSON object in one file, written so that it survives a power cut: a
 * temp file (`.{name}.tmp`, as lowdb's own DataFile names it), fsync, rename over the file,
 * fsync of the folder. Long top-level arrays are serialized a slice at a time between awaited
 * writes, so writing a large object does not hold the event loop for one long
 * `JSON.stringify`. Compact JSON, read back by `JSON.parse`. Writes of one file must not
 * overlap (they share the temp file): the caller queues them.
 */
export class DurableJsonFile<T extends object> implements Adapter<T> {
  readonly file: string;
  readonly #temp: string;

  constructor(file: string) {
    this.file = file;
    this.#temp = path.join(path.dirname(file), `.${path.basename(file)}.tmp`);
  }

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return null;
      throw error;
    }
    return JSON.parse(text) as T;
  }

  async write(data: T): Promise<void> {
    const handle = await open(this.#temp, 'w');
    try {
      let pending = '';
      for (const piece of jsonPieces(data)) {
        pending += piece;
        if (pending.length < WRITE_CHARS) continue;
        await handle.writeFile(pending); // writes it all, from where the last write ended
        pending = '';
      }
      await handle.writeFile(pending);
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => {});
      await unlink(this.#temp).catch(() => {});
      throw error;
    }
    await handle.close();
    await rename(this.#temp, this.file);
    await syncFolder(path.dirname(this.file));
  }
}

/** `JSON.stringify(data)` in pieces: each long top-level array a slice of items at a time. */
function* jsonPieces(data: object): Generator<string> {
  let head = '{';
  for (const [key, value] of Object.entries(data)) {
    if (value === undefined) continue; // as JSON.stringify leaves it out
    const name = `${head}${JSON.stringify(key)}:`;
    head = ',';
    if (!Array.isArray(value) || value.length <= ITEMS_PER_SLICE) {
      yield name + JSON.stringify(value);
      continue;
    }
    for (let i = 0; i < value.length; i += ITEMS_PER_SLICE) {
      const items = JSON.stringify(value.slice(i, i + ITEMS_PER_SLICE)).slice(1, -1);
      yield `${i === 0 ? `${name}[` : ','}${items}`;
    }
    yield ']';
  }
  yield head === '{' ? '{}' : '}';
}
