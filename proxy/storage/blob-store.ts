import { errorCode } from '../errors.ts';
import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream, open as openCallback } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { SidecarError } from '../errors.ts';

/** The file-system calls the blob store makes: a seam so a test can simulate ENOSPC. */
export interface BlobFs {
  open(file: string, flags: string | number, mode?: number): Promise<FileHandle>;
  rename(from: string, to: string): Promise<void>;
  unlink(file: string): Promise<void>;
  mkdir(dir: string, options: { recursive: true }): Promise<string | undefined>;
  stat(file: string): Promise<{ size: number; mtimeMs: number; isFile(): boolean }>;
  readdir(dir: string): Promise<string[]>;
  utimes(file: string, atime: Date, mtime: Date): Promise<void>;
}

const READ_CHUNK_BYTES = 256 * 1024;

function openForReading(file: string): Promise<number> {
  return new Promise((resolve, reject) =>
    openCallback(file, 'r', (error, fd) => (error ? reject(error) : resolve(fd))),
  );
}

const realFs: BlobFs = {
  open: (file, flags, mode) => fsp.open(file, flags, mode),
  rename: fsp.rename,
  unlink: fsp.unlink,
  mkdir: fsp.mkdir,
  stat: fsp.stat,
  readdir: (dir) => fsp.readdir(dir),
  utimes: fsp.utimes,
};

export type BlobErrorCode =
  | 'ERR_BLOB_NO_SPACE' // ENOSPC / EDQUOT while writing the copy
  | 'ERR_BLOB_WRITE_FAILED' // any other failure writing the copy
  | 'ERR_BLOB_SOURCE' // reading the source failed
  | 'ERR_BLOB_TOO_LARGE' // the source went past maxBytes
  | 'ERR_BLOB_NOT_FOUND'
  | 'ERR_INVALID_SHA';

export class BlobStoreError extends SidecarError<BlobErrorCode> {}

export interface PutResult {
  sha256: string;
  /** Bytes copied: what the blob holds, whatever the source's size was when it was listed. */
  size: number;
  /** False when a blob with these bytes was already stored. */
  created: boolean;
}

export interface BlobInfo {
  sha256: string;
  size: number;
  mtimeMs: number;
}

export interface ByteRange {
  /** Inclusive, as in HTTP. */
  start: number;
  end: number;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * Content-addressed blobs under `{dataDir}/blobs/ab/<sha256>`. A put copies to a temp file in
 * `{dataDir}/blobs/tmp` while hashing, fsyncs, then renames it to its hash: a blob name always
 * names complete bytes, and equal bytes are stored once.
 */
export class BlobStore {
  readonly dir: string;
  readonly tmpDir: string;
  readonly #fs: BlobFs;
  #ready: Promise<unknown> | null = null;

  constructor(dataDir: string, options: { fs?: Partial<BlobFs> } = {}) {
    this.dir = path.join(path.resolve(dataDir), 'blobs');
    this.tmpDir = path.join(this.dir, 'tmp');
    this.#fs = { ...realFs, ...options.fs };
  }

  pathFor(sha256: string): string {
    if (!SHA256.test(sha256)) throw new BlobStoreError('ERR_INVALID_SHA', `Not a sha256: ${sha256.slice(0, 80)}`);
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  /**
   * Store a file. Opens it with O_NOFOLLOW|O_NONBLOCK and fstats it: a symlink, FIFO, socket or
   * device is refused (ERR_BLOB_SOURCE) without waiting on it.
   */
  async put(sourcePath: string, options: { maxBytes?: number } = {}): Promise<PutResult> {
    let handle: FileHandle;
    try {
      handle = await fsp.open(sourcePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      throw new BlobStoreError('ERR_BLOB_SOURCE', `Cannot open ${sourcePath}: ${errorCode(error) ?? error}`, {
        cause: error,
      });
    }
    try {
      if (!(await handle.stat()).isFile())
        throw new BlobStoreError('ERR_BLOB_SOURCE', `${sourcePath} is not a regular file.`);
      return await this.putStream(handle.createReadStream({ autoClose: false }), options);
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Store whatever the stream yields. On any failure the temp file is removed and a BlobStoreError thrown. */
  async putStream(
    source: Readable | AsyncIterable<Uint8Array | string>,
    options: { maxBytes?: number } = {},
  ): Promise<PutResult> {
    this.#ready ??= this.#fs.mkdir(this.tmpDir, { recursive: true }).catch((error: unknown) => {
      this.#ready = null;
      throw error;
    });
    await this.#ready;
    const tmp = path.join(this.tmpDir, `${randomUUID()}.part`);
    const iterator = (source as AsyncIterable<Uint8Array | string>)[Symbol.asyncIterator]();
    let handle: FileHandle | null = null;
    let done = false;
    try {
      handle = await this.#fs.open(tmp, 'wx', 0o600).catch((error: unknown) => {
        throw this.#writeError(error);
      });
      const hash = createHash('sha256');
      let size = 0;
      for (;;) {
        let step: IteratorResult<Uint8Array | string>;
        try {
          step = await iterator.next();
        } catch (error) {
          throw new BlobStoreError('ERR_BLOB_SOURCE', `Reading the source failed: ${errorCode(error) ?? error}`, {
            cause: error,
          });
        }
        if (step.done) {
          done = true;
          break;
        }
        const chunk = typeof step.value === 'string' ? Buffer.from(step.value) : step.value;
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new BlobStoreError('ERR_BLOB_TOO_LARGE', `The source is larger than ${options.maxBytes} bytes.`);
        }
        hash.update(chunk);
        try {
          let offset = 0;
          while (offset < chunk.byteLength) {
            const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
            offset += bytesWritten;
          }
        } catch (error) {
          throw this.#writeError(error);
        }
      }
      try {
        await handle.sync();
        await handle.close();
        handle = null;
      } catch (error) {
        throw this.#writeError(error);
      }
      const sha256 = hash.digest('hex');
      const final = this.pathFor(sha256);
      try {
        await this.#fs.mkdir(path.dirname(final), { recursive: true });
        if (await this.#exists(final)) {
          // Fresh mtime: retention's grace period then protects a blob that was orphaned and is now reused.
          const now = new Date();
          // Gone since (retention on another sidecar condemned it): ours takes its place below.
          const touched = await this.#fs.utimes(final, now, now).then(
            () => true,
            (error: unknown) => {
              if (errorCode(error) === 'ENOENT') return false;
              throw error;
            },
          );
          if (touched) {
            await this.#fs.unlink(tmp);
            return { sha256, size, created: false };
          }
        }
        await this.#fs.rename(tmp, final);
        await this.#syncDir(path.dirname(final));
      } catch (error) {
        throw this.#writeError(error);
      }
      return { sha256, size, created: true };
    } catch (error) {
      await handle?.close().catch(() => {});
      await this.#fs.unlink(tmp).catch(() => {});
      throw error instanceof BlobStoreError ? error : this.#writeError(error);
    } finally {
      if (!done) await iterator.return?.().catch(() => {});
    }
  }

  /** An open file descriptor of the blob, for reading; the caller closes it. */
  async openFd(sha256: string): Promise<number> {
    try {
      return await openForReading(this.pathFor(sha256));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') throw new BlobStoreError('ERR_BLOB_NOT_FOUND', `Blob ${sha256} is missing.`);
      throw error;
    }
  }

  /**
   * A read stream of the blob, or of one inclusive byte range of it: a plain fd with callback
   * reads in 256 KiB chunks (a FileHandle stream makes a promise per 64 KiB chunk).
   */
  async open(sha256: string, range?: ByteRange): Promise<Readable> {
    const fd = await this.openFd(sha256);
    return createReadStream('', {
      fd,
      highWaterMark: READ_CHUNK_BYTES,
      ...(range ? { start: range.start, end: range.end } : {}),
    });
  }

  async has(sha256: string): Promise<boolean> {
    return this.#exists(this.pathFor(sha256));
  }

  async remove(sha256: string): Promise<boolean> {
    try {
      await this.#fs.unlink(this.pathFor(sha256));
      return true;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /**
   * Removes a blob unless it was touched at or after `notBeforeMs`, safely against a writer in
   * another process: the blob is first renamed out of its name (atomic), so a put that touches
   * it from then on finds it gone and stores its own copy; then its mtime is checked once more,
   * and a blob touched meanwhile is put back (unless a fresh copy already took the name).
   */
  async removeUnlessTouchedSince(sha256: string, notBeforeMs: number): Promise<boolean> {
    const final = this.pathFor(sha256);
    const condemned = path.join(this.tmpDir, `${randomUUID()}.condemned`);
    try {
      await this.#fs.mkdir(this.tmpDir, { recursive: true });
      await this.#fs.rename(final, condemned);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
    const stats = await this.#fs.stat(condemned);
    if (stats.mtimeMs >= notBeforeMs) {
      if (await this.#exists(final)) await this.#fs.unlink(condemned);
      else await this.#fs.rename(condemned, final);
      return false;
    }
    await this.#fs.unlink(condemned);
    return true;
  }

  async list(): Promise<BlobInfo[]> {
    const blobs: BlobInfo[] = [];
    for (const shard of await this.#readdir(this.dir)) {
      if (!/^[0-9a-f]{2}$/.test(shard)) continue;
      for (const name of await this.#readdir(path.join(this.dir, shard))) {
        if (!SHA256.test(name)) continue;
        try {
          const stats = await this.#fs.stat(path.join(this.dir, shard, name));
          blobs.push({ sha256: name, size: stats.size, mtimeMs: stats.mtimeMs });
        } catch (error) {
          if (errorCode(error) !== 'ENOENT') throw error;
        }
      }
    }
    return blobs;
  }

  /** Temp files a crash left behind. Returns how many were removed. */
  async removeStaleTemp(olderThanMs: number, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await this.#readdir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      try {
        const stats = await this.#fs.stat(file);
        if (now - stats.mtimeMs < olderThanMs) continue;
        await this.#fs.unlink(file);
        removed++;
      } catch (error) {
        if (errorCode(error) !== 'ENOENT') throw error;
      }
    }
    return removed;
  }

  async #readdir(dir: string): Promise<string[]> {
    try {
      return await this.#fs.readdir(dir);
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return [];
      throw error;
    }
  }

  async #exists(file: string): Promise<boolean> {
    try {
      return (await this.#fs.stat(file)).isFile();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw error;
    }
  }

  async #syncDir(dir: string): Promise<void> {
    // Makes the rename durable; some platforms cannot fsync a folder, which is fine to ignore.
    const handle = await fsp.open(dir, 'r').catch(() => null);
    await handle?.sync().catch(() => {});
    await handle?.close().catch(() => {});
  }

  #writeError(error: unknown): BlobStoreError {
    const errno = errorCode(error);
    if (errno === 'ENOSPC' || errno === 'EDQUOT') {
      return new BlobStoreError(
        'ERR_BLOB_NO_SPACE',
        `No space left to store a file copy in ${this.dir} (${errno}). Free disk space or lower the quota.`,
        { cause: error },
      );
    }
    return new BlobStoreError(
      'ERR_BLOB_WRITE_FAILED',
      `Storing a file copy in ${this.dir} failed: ${errno ?? String(error)}`,
      { cause: error },
    );
  }
}
