import { availableParallelism } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { TrackingPolicy } from './tracking-policy.ts';
import { ScanTimeoutError } from './scan-timeout.ts';
import { walkWorkspaceSync, type PackedWalk, type WalkRoot } from './workspace-walk.ts';
import type { WalkRequest, WalkResponse } from './workspace-walk-worker.ts';
import { SidecarError } from '../errors.ts';

/**
 * The compiled build starts `workspace-walk-worker.js` as it is. Under tsx (development, tests,
 * `npm start`) the `.ts` entry needs tsx registered inside the worker first: tsx's `--import`
 * hook does not reach worker threads (privatenumber/tsx#354).
 */
function startWorker(): Worker {
  const extension = path.extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./workspace-walk-worker${extension}`, import.meta.url);
  if (extension !== '.ts') return new Worker(entry);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
    {
      eval: true,
    },
  );
}

interface Job {
  request: WalkRequest;
  resolve: (walk: PackedWalk) => void;
  reject: (error: Error) => void;
  /** Set once the job is queued with a time limit. */
  timer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  job: Job | null;
}

/** About 1 ms of walking on a slow machine. */
const DEFAULT_INLINE_ENTRIES = 200;

class WalkerClosedError extends SidecarError<'ERR_WALKER_CLOSED'> {
  constructor() {
    super('ERR_WALKER_CLOSED', 'The workspace walker is closed.');
  }
}

/**
 * Runs workspace walks on a few worker threads, so a walk of 100k files never holds up the
 * kernel messages the relay is passing on (small ones run inline, see `walk`). Workers start on
 * first use and are kept; one that dies fails only its own walk and is replaced on the next.
 * Idle workers do not keep the process alive.
 */
export class WorkspaceWalker {
  readonly #threads: number;
  /**
   * Largest walk run inline. Set it to 0 for workspaces on a network file system: a call there
   * can hang while its server is away, and must hang a walker thread, never the event loop.
   */
  inlineEntries: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #closed = false;
  #threadWalks = 0;

  /** Walks sent to a thread so far (the rest ran inline). */
  get threadWalks(): number {
    return this.#threadWalks;
  }

  constructor(options: { threads?: number; inlineEntries?: number } = {}) {
    this.#threads = Math.max(1, options.threads ?? Math.min(2, availableParallelism()));
    this.inlineEntries = Math.max(0, options.inlineEntries ?? DEFAULT_INLINE_ENTRIES);
  }

  /**
   * A small workspace (at most `inlineEntries` folder entries) is walked right here: waking a
   * thread costs more than that walk (0.3-1 ms against ~0.02 ms for an empty folder). A larger
   * one goes to a thread, after at most `inlineEntries` steps spent finding out.
   */
  walk(root: string | WalkRoot, policy: TrackingPolicy, options: { timeoutMs?: number } = {}): Promise<PackedWalk> {
    if (this.#closed) return Promise.reject(new WalkerClosedError());
    const walkRoot: WalkRoot = typeof root === 'string' ? { path: root } : root;
    if (this.inlineEntries > 0) {
      try {
        const small = walkWorkspaceSync(walkRoot, policy, { maxEntries: this.inlineEntries });
        if (small) return Promise.resolve(small);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    this.#threadWalks++;
    return new Promise((resolve, reject) => {
      const job: Job = { request: { root: walkRoot, policy: policy.options }, resolve, reject };
      if (options.timeoutMs !== undefined) {
        job.timer = setTimeout(() => this.#abandon(job, options.timeoutMs!), Math.max(0, options.timeoutMs));
        job.timer.unref();
        const settle = { resolve: job.resolve, reject: job.reject };
        job.resolve = (walk) => {
          clearTimeout(job.timer);
          settle.resolve(walk);
        };
        job.reject = (error) => {
          clearTimeout(job.timer);
          settle.reject(error);
        };
      }
      this.#queue.push(job);
      this.#pump();
    });
  }

  /**
   * A walk past its time limit fails now. A thread stuck in a system call (a file system whose
   * server is away) cannot be interrupted: it is let go (terminated once the call returns) and
   * replaced, so the other walks go on.
   */
  #abandon(job: Job, timeoutMs: number): void {
    const queued = this.#queue.indexOf(job);
    if (queued !== -1) this.#queue.splice(queued, 1);
    const slot = this.#slots.find((s) => s.job === job);
    if (slot) {
      this.#slots.splice(this.#slots.indexOf(slot), 1);
      slot.job = null;
      slot.worker.removeAllListeners('message');
      void slot.worker.terminate().catch(() => {});
    }
    job.reject(new ScanTimeoutError(`walking ${job.request.root.path}`, timeoutMs));
    this.#pump();
  }

  /** Fails queued walks, waits for none; workers are terminated. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new WalkerClosedError());
    const slots = this.#slots.splice(0);
    for (const slot of slots) slot.job?.reject(new WalkerClosedError());
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #pump(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === null);
      if (!slot && this.#slots.length < this.#threads) slot = this.#spawn();
      if (!slot) return;
      const job = this.#queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
  }

  #spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (response: WalkResponse) => {
      const job = slot.job;
      slot.job = null;
      worker.unref();
      if (job) {
        if (response.ok) job.resolve({ paths: response.paths, count: response.count, stats: response.stats });
        else job.reject(Object.assign(new Error(response.message), { code: response.code }));
      }
      this.#pump();
    });
    const gone = (error: Error) => {
      const index = this.#slots.indexOf(slot);
      if (index === -1) return;
      this.#slots.splice(index, 1);
      slot.job?.reject(error);
      slot.job = null;
      if (!this.#closed) this.#pump();
    };
    worker.on('error', (error) => gone(error));
    worker.on('exit', (code) => gone(new Error(`workspace walker thread exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }
}
