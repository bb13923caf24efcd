import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PreviewError, type PreviewErrorCode } from './preview-errors.ts';
import type { RenderJob, RenderWorkerMessage } from './render-job.ts';

/** Same start-up as the workspace walker: under tsx the `.ts` entry needs tsx registered inside the worker. */
function startWorker(heapMb: number): Worker {
  const extension = path.extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./render-worker${extension}`, import.meta.url);
  const resourceLimits = { maxOldGenerationSizeMb: heapMb };
  if (extension !== '.ts') return new Worker(entry, { resourceLimits });
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(
    `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`,
    {
      eval: true,
      resourceLimits,
    },
  );
}

export interface RenderPoolOptions {
  /** Renders running at once, all chats together. */
  concurrency: number;
  /** Renders one chat may run at once: the rest of the pool stays free for other chats. */
  chatConcurrency: number;
  /** Renders one chat may have waiting; past it that chat (only) gets 503. */
  chatQueue: number;
  /** Time of one render, counted from when its worker has started and holds the job. */
  timeoutMs: number;
  workerHeapMb: number;
  /** A worker that has not loaded in this long is given up (the machine is overloaded, not the file at fault). */
  workerStartMs: number;
}

/**
 * Runs renders off the event loop, each on a fresh worker thread that is terminated when it
 * answers or when its time is up: a parser stuck in a hostile file is killed, not waited for,
 * and the parsers' memory goes with the thread (the idle sidecar holds none of it).
 *
 * The pool is shared fairly between chats: at most `concurrency` renders run, at most
 * `chatConcurrency` of them for one chat; each chat waits in a queue of its own (at most
 * `chatQueue` long, past it 503 for that chat only), and a freed slot goes to the next chat in
 * turn (round robin). So one chat flooding the pool with files that run to their time limit
 * leaves every other chat a slot, and fills only its own queue.
 */
export class RenderPool {
  readonly #options: RenderPoolOptions;
  /** Chats with renders waiting, in turn order: the next slot goes to the first that may run one. */
  readonly #queues = new Map<string, Array<() => void>>();
  readonly #runningByChat = new Map<string, number>();
  #running = 0;

  constructor(options: RenderPoolOptions) {
    this.#options = {
      ...options,
      concurrency: Math.max(1, options.concurrency),
      chatConcurrency: Math.max(1, options.chatConcurrency),
    };
  }

  get running(): number {
    return this.#running;
  }

  /** Runs `job` for `chat` when the chat's turn comes; 503 (ERR_PREVIEW_BUSY) when the chat's own queue is full. */
  async run(job: RenderJob, chat: string): Promise<string> {
    if (this.#queues.has(chat) || !this.#mayStart(chat)) {
      const queue = this.#queues.get(chat) ?? [];
      if (queue.length >= this.#options.chatQueue) {
        throw new PreviewError(
          'ERR_PREVIEW_BUSY',
          'Too many previews of this chat are being prepared: try again in a moment.',
        );
      }
      // Resolved by #startNext, which has taken the slot for us.
      await new Promise<void>((resolve) => {
        queue.push(resolve);
        this.#queues.set(chat, queue);
      });
    } else {
      this.#take(chat);
    }
    try {
      return await this.#runOnWorker(job);
    } finally {
      this.#running--;
      const left = this.#runningByChat.get(chat)! - 1;
      if (left) this.#runningByChat.set(chat, left);
      else this.#runningByChat.delete(chat);
      this.#startNext();
    }
  }

  #mayStart(chat: string): boolean {
    return (
      this.#running < this.#options.concurrency && (this.#runningByChat.get(chat) ?? 0) < this.#options.chatConcurrency
    );
  }

  #take(chat: string): void {
    this.#running++;
    this.#runningByChat.set(chat, (this.#runningByChat.get(chat) ?? 0) + 1);
  }

  /** Gives free slots to waiting chats in turn; a chat served goes to the back of the line. */
  #startNext(): void {
    for (const [chat, queue] of this.#queues) {
      if (this.#running >= this.#options.concurrency) return;
      if (!this.#mayStart(chat)) continue;
      const start = queue.shift()!;
      this.#queues.delete(chat);
      if (queue.length) this.#queues.set(chat, queue);
      this.#take(chat);
      start();
    }
  }

  /**
   * The job on a fresh worker. Its time limit counts from when the worker has loaded and holds the
   * job (it says `started`), so a slow start on a busy machine is not charged to the file (and not
   * remembered as the file's timeout); a worker not started within `workerStartMs` is given up as
   * busy (503).
   */
  #runOnWorker(job: RenderJob): Promise<string> {
    const { timeoutMs, workerHeapMb, workerStartMs } = this.#options;
    return new Promise((resolve, reject) => {
      const worker = startWorker(workerHeapMb);
      let settled = false;
      let timer: NodeJS.Timeout;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        settle();
        void worker.terminate();
      };
      const timeUp = () =>
        finish(() =>
          reject(
            new PreviewError('ERR_PREVIEW_TIMEOUT', `The preview took longer than ${timeoutMs} ms and was stopped.`),
          ),
        );
      timer = setTimeout(
        () =>
          finish(() =>
            reject(new PreviewError('ERR_PREVIEW_BUSY', 'The sidecar is too busy to start a preview: try again.')),
          ),
        workerStartMs,
      );
      worker.on('message', (message: RenderWorkerMessage) => {
        if ('started' in message) {
          clearTimeout(timer);
          timer = setTimeout(timeUp, timeoutMs);
          return;
        }
        finish(() =>
          message.ok
            ? resolve(message.json)
            : reject(new PreviewError(message.code as PreviewErrorCode, message.message)),
        );
      });
      worker.once('error', (error: Error & { code?: string }) =>
        finish(() =>
          reject(
            error.code === 'ERR_WORKER_OUT_OF_MEMORY'
              ? new PreviewError(
                  'ERR_PREVIEW_TOO_LARGE',
                  'The file needs more memory to preview than a preview may use.',
                )
              : error,
          ),
        ),
      );
      worker.once('exit', () => finish(() => reject(new Error('The render worker exited without an answer.'))));
      worker.postMessage(job);
    });
  }
}
