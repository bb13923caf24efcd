import type { WebSocket } from 'ws';

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
 * stall at the end of a run without a pong per line.
 */
export class GatewayAcks {
  #due = false;
  #afterRun: NodeJS.Timeout | undefined;

  constructor(
    private readonly gateway: WebSocket,
    private readonly quietMs = 2,
  ) {}

  /** A message that may be followed by one a client is waiting for. */
  now(): void {
    if (this.#due) return;
    this.#due = true;
    process.nextTick(() => this.#send());
  }

  /** A message in a run of output: acknowledge once the run pauses. */
  afterRun(): void {
    if (this.#afterRun) this.#afterRun.refresh();
    else this.#afterRun = setTimeout(() => this.#send(), this.quietMs).unref();
  }

  stop(): void {
    clearTimeout(this.#afterRun);
  }

  #send(): void {
    this.#due = false;
    clearTimeout(this.#afterRun);
    this.#afterRun = undefined;
    if (this.gateway.readyState === this.gateway.OPEN) this.gateway.pong();
  }
}
