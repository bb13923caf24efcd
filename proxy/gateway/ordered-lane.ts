/** One step of a lane: done when it returns, or, when it returns a promise, once that settles. */
export type LaneStep = () => Promise<void> | undefined;

/**
 * Runs one direction's steps in arrival order. A step runs at once, on the caller's stack, when
 * nothing is ahead of it; one that returns a promise (a snapshot to await) holds those behind it
 * until it settles. Most messages need no await, so they cost no promise, no microtask and no
 * link in a chain. A step that throws or rejects is reported, and the steps behind it still run.
 */
export class OrderedLane {
  readonly #waiting: LaneStep[] = [];
  #busy = false;

  readonly #onError: (error: unknown) => void;

  constructor(onError: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Nothing runs or waits: a step given now runs at once. */
  get idle(): boolean {
    return !this.#busy;
  }

  run(step: LaneStep): void {
    if (this.#busy) {
      this.#waiting.push(step);
      return;
    }
    this.#busy = true;
    this.#drain(step);
  }

  #drain(first: LaneStep | undefined): void {
    for (let step = first ?? this.#waiting.shift(); step; step = this.#waiting.shift()) {
      let pending: Promise<void> | undefined;
      try {
        pending = step();
      } catch (error) {
        this.#onError(error);
      }
      if (pending) {
        pending.then(
          () => this.#drain(undefined),
          (error: unknown) => {
            this.#onError(error);
            this.#drain(undefined);
          },
        );
        return;
      }
    }
    this.#busy = false;
  }
}
