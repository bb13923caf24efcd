import type { RelaySocket } from './relay-socket.ts';

/** What the budget does to a side that sends frames: pause it, and resume it if still open. */
type FrameSource = Pick<RelaySocket, 'pause' | 'resume' | 'readyState' | 'OPEN'>;

/**
 * Bytes of kernel frames the sidecar holds at once, across every connection. Decoding and
 * rewriting a frame costs several times its size, so a few large frames at once could take the
 * whole process down; past the budget, every side that sends us frames stops being read (TCP
 * pushes back on the sender) until the frames in hand are passed on.
 *
 * Execute requests the sidecar holds for a busy kernel (execution-gate.ts) are counted apart, in
 * a share of the same budget (`heldLimitBytes`, half of it): they leave only when the execution
 * before them is recorded, which needs the kernel's messages to keep flowing, so they must never
 * stop the kernel's side from being read. Past that share, only the connections holding the most
 * (at least an equal share each) stop being read, until what they hold has gone to the kernel:
 * one client's flood never pauses another client or any kernel.
 */
export class FrameBudget {
  #inFlight = 0;
  readonly #paused = new Set<FrameSource>();
  #held = 0;
  readonly #heldBy = new Map<FrameSource, number>();
  readonly #pausedForHeld = new Set<FrameSource>();

  /** Bytes of held execute requests, across every connection, past which the largest holders stop being read. */
  readonly heldLimitBytes: number;

  constructor(readonly limitBytes: number) {
    this.heldLimitBytes = Math.floor(limitBytes / 2);
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Bytes of execute requests held for a busy kernel now. */
  get held(): number {
    return this.#held;
  }

  /** Whether reads may go on: relays ask before they resume a side they paused themselves. */
  get open(): boolean {
    return this.#inFlight <= this.limitBytes;
  }

  /** Whether `source` may be read again: the budget is open and the source is not paused for what it holds. */
  mayRead(source: FrameSource): boolean {
    return this.open && !this.#pausedForHeld.has(source);
  }

  /** A frame of `bytes` arrived from `source`. Returns the function to call once it is passed on (idempotent). */
  take(bytes: number, source: FrameSource): () => void {
    this.#inFlight += bytes;
    if (!this.open && !this.#paused.has(source)) {
      this.#paused.add(source);
      source.pause();
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#inFlight -= bytes;
      // Resume at half, not at the limit, so reads do not flap around it.
      if (this.#paused.size > 0 && this.#inFlight <= this.limitBytes / 2) this.#resumeAll();
    };
  }

  /**
   * An execute request of `bytes` from `source` is held for a busy kernel. Returns the function
   * to call once it has gone to the kernel or been dropped (idempotent).
   */
  hold(bytes: number, source: FrameSource): () => void {
    const own = (this.#heldBy.get(source) ?? 0) + bytes;
    this.#heldBy.set(source, own);
    this.#held += bytes;
    if (
      this.#held > this.heldLimitBytes &&
      own >= this.heldLimitBytes / this.#heldBy.size &&
      !this.#pausedForHeld.has(source)
    ) {
      this.#pausedForHeld.add(source);
      source.pause();
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const left = this.#heldBy.get(source)! - bytes;
      if (left === 0) this.#heldBy.delete(source);
      else this.#heldBy.set(source, left);
      this.#held -= bytes;
      if (!this.#pausedForHeld.has(source)) return;
      // Again at half (of the share, or of its own equal share), so reads do not flap.
      if (this.#held > this.heldLimitBytes / 2 && left > this.heldLimitBytes / (2 * Math.max(1, this.#heldBy.size)))
        return;
      this.#pausedForHeld.delete(source);
      if (!this.open)
        this.#paused.add(source); // resumed with the others once frames in hand are passed on
      else if (source.readyState === source.OPEN) source.resume();
    };
  }

  /** A socket that closed is not ours to resume. */
  forget(source: FrameSource): void {
    this.#paused.delete(source);
    this.#pausedForHeld.delete(source);
  }

  // A side the relay had also paused for its own reasons may be resumed here: the relay pauses it
  // again on its next frame or send, so at most one more frame is read early. A side paused for
  // what it holds stays paused: hold() resumes it.
  #resumeAll(): void {
    for (const source of this.#paused) {
      if (source.readyState === source.OPEN && !this.#pausedForHeld.has(source)) source.resume();
    }
    this.#paused.clear();
  }
}
