import type { WebSocket } from 'ws';

/** A run of output this long is a long one, and a pause this long ends a run... */
const LONG_RUN_MS = 20;
/** ...and is looked at this often (longer than the kernel's 4 ms tick) until it pauses. */
const LONG_RUN_CHECK_MS = 8;

/**
 * Makes the sidecar acknowledge the gateway's messages at once.
 *
 * Jupyter Server (Tornado) leaves Nagle's algorithm on for its kernel WebSockets: a small message
 * written while the previous one is still unacknowledged waits for the reader's ACK, and Linux
 * delays that ACK by 40 ms when the reader has nothing to send back. On a stock server that stall
 * lands on most executions: a `1+1` round trip takes ~44 ms instead of ~4. So the sidecar sends
 * the gateway an unsolicited pong (RFC 6455 §5.5.3: a pong "MAY be sent unsolicited"; no answer
 * is expected), and the ACK leaves with it.
 *
 * A pong costs a system call on both ends, so not every message gets one. After a message that
 * can be followed by the one a client waits for (status, replies, results), the pong leaves on
 * this turn of the event loop, one per turn however many messages it brought. Stream output comes
 * in runs of hundreds: there the pong waits until the run pauses for `quietMs`, which bounds the
 * stall at the end of a run without a pong per line. A message of the run only notes its time,
 * and one timer looks whether the run has paused. A run that has gone on for `LONG_RUN_MS`
 * (pauses shorter than that do not end it) is looked at every `LONG_RUN_CHECK_MS` instead, so it
 * gets at most a pong that often and the end of it waits up to that much longer. Measured on this
 * VM: a timer re-armed per message, or one kept due within a few ms for a whole run, made every
 * wait of the event loop dearer (2-3 µs a message, a tenth of the relay's CPU for a message), and
 * Jupyter Server's output pauses for 2 ms every few messages (a pong for every fifth message of
 * scenario 2, each a system call on both ends). A short burst (a print, then idle) still gets its
 * pong `quietMs` after its last message.
 */
export class GatewayAcks {
  #due = false;
  #afterRun: NodeJS.Timeout | undefined;
  #lastRunMessageAt = Number.NEGATIVE_INFINITY;
  #runStartedAt = 0;

  readonly #gateway: Pick<WebSocket, 'pong' | 'readyState' | 'OPEN'>;
  readonly #quietMs: number;
  readonly #clock: () => number;

  constructor(
    gateway: Pick<WebSocket, 'pong' | 'readyState' | 'OPEN'>,
    quietMs = 2,
    /** Milliseconds, monotonic; a seam for tests that drive time. */
    clock: () => number = () => performance.now(),
  ) {
    this.#gateway = gateway;
    this.#quietMs = quietMs;
    this.#clock = clock;
  }

  /** A message that may be followed by one a client is waiting for. */
  now(): void {
    if (this.#due) return;
    this.#due = true;
    process.nextTick(() => this.#send());
  }

  /** A message in a run of output: acknowledge once the run pauses. */
  afterRun(): void {
    const at = this.#clock();
    if (at - this.#lastRunMessageAt >= LONG_RUN_MS) this.#runStartedAt = at;
    this.#lastRunMessageAt = at;
    this.#afterRun ??= setTimeout(this.#whenQuiet, this.#nextLook(at, 0)).unref();
  }

  readonly #whenQuiet = (): void => {
    const at = this.#clock();
    const quietFor = at - this.#lastRunMessageAt;
    if (quietFor >= this.#quietMs) return this.#send();
    this.#afterRun = setTimeout(this.#whenQuiet, this.#nextLook(at, quietFor)).unref();
  };

  #nextLook(at: number, quietFor: number): number {
    return at - this.#runStartedAt >= LONG_RUN_MS ? LONG_RUN_CHECK_MS : this.#quietMs - quietFor;
  }

  stop(): void {
    clearTimeout(this.#afterRun);
  }

  #send(): void {
    this.#due = false;
    clearTimeout(this.#afterRun);
    this.#afterRun = undefined;
    if (this.#gateway.readyState === this.#gateway.OPEN) this.#gateway.pong();
  }
}
