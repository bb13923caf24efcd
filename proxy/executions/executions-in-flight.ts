/**
 * Executions started and not yet recorded, counted at the observer seam, so a shutdown can wait
 * for them: `settled(ms)` resolves once none is left (true) or the time is up (false).
 */
import type { ExecutionObserver } from './execution-observer.ts';

export class ExecutionsInFlight {
  #count = 0;
  #waiters: Array<() => void> = [];

  get count(): number {
    return this.#count;
  }

  /** The observer, with every execution counted from its start until its files are recorded. */
  wrap(observer: ExecutionObserver): ExecutionObserver {
    return {
      recordsAtFirstHalf: observer.recordsAtFirstHalf,
      executionStarted: (chatId, execution) => {
        this.#count++;
        return observer.executionStarted(chatId, execution);
      },
      executionEnded: async (chatId, execution, reason) => {
        try {
          return await observer.executionEnded(chatId, execution, reason);
        } finally {
          this.#count--;
          if (this.#count === 0) for (const wake of this.#waiters.splice(0)) wake();
        }
      },
    };
  }

  settled(withinMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w !== wake);
        resolve(false);
      }, withinMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(wake);
    });
  }
}

/** Whether `promise` settles within `ms` (at once when it has already); never rejects. */
export function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), false)));
  const settled = promise.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, timeUp]).finally(() => clearTimeout(timer));
}
