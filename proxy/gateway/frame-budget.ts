import type { RelaySocket } from './relay-socket.ts';

/** What the budget does to a side that sends frames: pause it, and resume it if still open. */
type FrameSource = Pick<RelaySocket, 'pause' | 'resume' | 'readyState' | 'OPEN'>;

/**
 * Bytes of kernel frames the sidecar holds at once, across every connection. Decoding and
 * rewriting a frame costs several times its size, so a few large frames at once could take the
 * whole process down; past the budget, every side that sends us frames stops being read (TCP
 * pushes back on the sender) until the frames in hand are passed on.
 */
export class FrameBudget {
  #inFlight = 0;
  readonly #paused = new Set<FrameSource>();

  constructor(readonly limitBytes: number) {}

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Whether reads may go on: relays ask before they resume a side they paused themselves. */
  get open(): boolean {
    return this.#inFlight <= this.limitBytes;
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

  /** A socket that closed is not ours to resume. */
  forget(source: FrameSource): void {
    this.#paused.delete(source);
  }

  // A side the relay had also paused for its own reasons may be resumed here: the relay pauses it
  // again on its next frame or send, so at most one more frame is read early.
  #resumeAll(): void {
    for (const source of this.#paused) {
      if (source.readyState === source.OPEN) source.resume();
    }
    this.#paused.clear();
  }
}
