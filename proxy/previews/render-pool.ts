import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RENDER_QUEUE_LENGTH, RENDER_WORKER_HEAP_MB } from './preview-limits.ts';
import { PreviewError, type PreviewErrorCode } from './preview-errors.ts';
import type { RenderJob, RenderResult } from './render-job.ts';

/** Same start-up as the workspace walker: under tsx the `.ts` entry needs tsx registered inside the worker. */
function startWorker(): Worker {
  const extension = path.extname(fileURLToPath(import.meta.url));
  const entry = new URL(`./render-worker${extension}`, import.meta.url);
  const resourceLimits = { maxOldGenerationSizeMb: RENDER_WORKER_HEAP_MB };
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

/**
 * Runs renders off the event loop, each on a fresh worker thread that is terminated when it
 * answers or when its time is up: a parser stuck in a hostile file is killed, not waited for,
 * and the parsers' memory goes with the thread (the idle sidecar holds none of it). At most
 * `concurrency` run at once; a few more wait, and beyond that a render is refused (503).
 */
export class RenderPool {
  readonly #concurrency: number;
  readonly #timeoutMs: number;
  readonly #waiting: Array<() => void> = [];
  #running = 0;

  constructor(options: { concurrency: number; timeoutMs: number }) {
    this.#concurrency = Math.max(1, options.concurrency);
    this.#timeoutMs = options.timeoutMs;
  }

  get running(): number {
    return this.#running;
  }

  async run(job: RenderJob): Promise<string> {
    if (this.#running >= this.#concurrency) {
      if (this.#waiting.length >= RENDER_QUEUE_LENGTH) {
        throw new PreviewError('ERR_PREVIEW_BUSY', 'Too many previews are being prepared: try again in a moment.');
      }
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    }
    this.#running++;
    try {
      return await this.#runOnWorker(job);
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  #runOnWorker(job: RenderJob): Promise<string> {
    return new Promise((resolve, reject) => {
      const worker = startWorker();
      let settled = false;
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        settle();
        void worker.terminate();
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(
              new PreviewError(
                'ERR_PREVIEW_TIMEOUT',
                `The preview took longer than ${this.#timeoutMs} ms and was stopped.`,
              ),
            ),
          ),
        this.#timeoutMs,
      );
      worker.once('message', (result: RenderResult) =>
        finish(() =>
          result.ok ? resolve(result.json) : reject(new PreviewError(result.code as PreviewErrorCode, result.message)),
        ),
      );
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
