import { McpToolError } from './tool-error.ts';

/** Runs tasks one at a time, with at most `maxWaiting` waiting behind the running one. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #waiting = 0;
  #running = false;

  readonly #maxWaiting: number;

  constructor(maxWaiting: number) {
    this.#maxWaiting = maxWaiting;
  }

  get idle(): boolean {
    return !this.#running && this.#waiting === 0;
  }

  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.#running && this.#waiting >= this.#maxWaiting) {
      return Promise.reject(
        new McpToolError(
          'ERR_MCP_BUSY',
          `This chat already has a running call and ${this.#waiting} waiting: wait for them to finish, then call again.`,
        ),
      );
    }
    this.#waiting++;
    const result = this.#tail.then(async () => {
      this.#waiting--;
      this.#running = true;
      try {
        return await task();
      } finally {
        this.#running = false;
      }
    });
    this.#tail = result.catch(() => {});
    return result;
  }
}
