import { closeSync, openSync, unlinkSync, watch as fsWatch } from 'node:fs';
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
 * kernel queued them. So: create a file in a private watched folder and wait for its event;
 * everything a kernel wrote before that (its execution has ended) was delivered first.
 */
export class InotifyBarrier {
  readonly #dir: string;
  readonly #watch: FolderWatch;
  readonly #waiters = new Map<number, () => void>();
  #seq = 0;
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
    const file = path.join(this.#dir, `b${n}`);
    try {
      // Synchronous on purpose: a local temp folder, microseconds, against a thread-pool round trip
      // per call that made each scan of an empty workspace ~1 ms slower.
      closeSync(openSync(file, 'w'));
      await delivered;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(n);
      try {
        unlinkSync(file);
      } catch {
        // already gone: nothing to clean
      }
    }
    if (this.#failed) throw this.#failed;
  }

  async close(): Promise<void> {
    this.#watch.close();
    await rm(this.#dir, { recursive: true, force: true });
  }

  #delivered(name: string | null): void {
    if (!name || name[0] !== 'b') return;
    const n = Number(name.slice(1));
    // A later barrier's file implies every earlier one's events are in too.
    for (const [seq, resolve] of this.#waiters) if (seq <= n) resolve();
  }
}
