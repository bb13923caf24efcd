import { closeSync, openSync, renameSync, watch as fsWatch } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SidecarError } from '../errors.ts';

/** The part of `fs.watch` the journal uses: a folder, a listener, and an `error` event. */
export interface FolderWatch {
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

/**
 * Watches one folder, not recursively, without keeping the process alive. The seam tests use to
 * make a watch fail the way the real one does (it throws synchronously, e.g. ENOSPC when the
 * inotify watch limit is reached).
 */
export type WatchFolder = (dir: string, listener: (event: string, name: string | null) => void) => FolderWatch;

export const watchFolder: WatchFolder = (dir, listener) => fsWatch(dir, { persistent: false }, listener);

export class BarrierTimeoutError extends SidecarError<'ERR_WATCH_BARRIER_TIMEOUT'> {
  constructor(ms: number) {
    super('ERR_WATCH_BARRIER_TIMEOUT', `No inotify event for the barrier file within ${ms} ms.`);
  }
}

/**
 * Tells when every inotify event queued before a moment has been delivered. Node's watches share
 * one inotify instance per event loop, and that instance delivers its events in the order the
 * kernel queued them. So: make an event in a private watched folder and wait for it; everything a
 * kernel wrote before that (its execution has ended) was delivered first. The event is one
 * rename of the folder's one file, `b{n-1}` to `b{n}`: one system call, where creating, closing
 * and unlinking a file took three and made a second event to deliver (about 60 µs a barrier on
 * ext4, two barriers a cell). Its two events name `b{n-1}` and `b{n}`, both queued after
 * everything before barrier `n`.
 */
export class InotifyBarrier {
  readonly #dir: string;
  readonly #watch: FolderWatch;
  readonly #waiters = new Map<number, () => void>();
  #seq = 0;
  /** The name the folder's file has now (null: none yet, or a rename failed). */
  #current: string | null = null;
  #failed: Error | null = null;

  private constructor(dir: string, watch: WatchFolder) {
    this.#dir = dir;
    this.#watch = watch(dir, (_event, name) => this.#delivered(name));
    this.#watch.on('error', (error) => {
      this.#failed = error;
      for (const resolve of this.#waiters.values()) resolve();
    });
  }

  static async open(watch: WatchFolder = watchFolder): Promise<InotifyBarrier> {
    const dir = await mkdtemp(path.join(tmpdir(), 'sidecar-barrier-'));
    try {
      return new InotifyBarrier(dir, watch);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Resolves once the events queued before this call are delivered; rejects if the watch broke or timed out. */
  async flush(timeoutMs = 2000): Promise<void> {
    if (this.#failed) throw this.#failed;
    const n = ++this.#seq;
    let timer: NodeJS.Timeout | undefined;
    const delivered = new Promise<void>((resolve, reject) => {
      this.#waiters.set(n, resolve);
      timer = setTimeout(() => {
        this.#waiters.delete(n);
        reject(new BarrierTimeoutError(timeoutMs));
      }, timeoutMs);
    });
    try {
      // Synchronous on purpose: a local temp folder, microseconds, against a thread-pool round trip
      // per call that made each scan of an empty workspace ~1 ms slower.
      this.#touch(`b${n}`);
      await delivered;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(n);
    }
    if (this.#failed) throw this.#failed;
  }

  async close(): Promise<void> {
    this.#watch.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  /** Gives the folder's file its next name (made afresh when there is none, or renaming failed). */
  #touch(name: string): void {
    const file = path.join(this.#dir, name);
    const current = this.#current;
    this.#current = null;
    if (current !== null) {
      try {
        renameSync(path.join(this.#dir, current), file);
        this.#current = name;
        return;
      } catch {
        // gone (someone cleaned the temp folder): made afresh below
      }
    }
    closeSync(openSync(file, 'w'));
    this.#current = name;
  }

  #delivered(name: string | null): void {
    if (!name || name[0] !== 'b') return;
    const n = Number(name.slice(1));
    // A later barrier's file implies every earlier one's events are in too.
    for (const [seq, resolve] of this.#waiters) if (seq <= n) resolve();
  }
}
