import { EventEmitter } from 'node:events';
import type { RawData } from 'ws';

/**
 * The client side of a kernel-channel relay: what `KernelChannelRelay` uses of a client's
 * WebSocket. A `ws` WebSocket is one; `localSocketPair` makes one for a client inside this process.
 */
export interface RelaySocket {
  readonly readyState: number;
  readonly OPEN: number;
  readonly CONNECTING: number;
  readonly bufferedAmount: number;
  readonly isPaused: boolean;
  pause(): void;
  resume(): void;
  send(data: Buffer | string, options: { binary: boolean }, cb?: (error?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  ping(data?: Buffer): void;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): unknown;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): unknown;
  on(event: 'ping', listener: (data: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

/**
 * One end of an in-process socket pair: what one end sends, the other receives as a `message`
 * event, in order, on a later microtask (never inside the sender's call, as from a network
 * socket). A paused end keeps what arrives until resumed. Closing either end closes both, once.
 * Nothing is serialised or copied: a Buffer sent is the Buffer received.
 */
export class LocalSocket extends EventEmitter implements RelaySocket {
  readonly OPEN = OPEN;
  readonly CONNECTING = CONNECTING;
  readonly bufferedAmount = 0;
  #state = OPEN;
  #peer: LocalSocket | null = null;
  #paused = false;
  readonly #inbox: Array<[Buffer, boolean]> = [];
  #delivering = false;

  get readyState(): number {
    return this.#state;
  }

  get isPaused(): boolean {
    return this.#paused;
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleDelivery();
  }

  send(data: Buffer | string, options?: { binary: boolean }, cb?: (error?: Error) => void): void {
    const peer = this.#peer;
    if (this.#state !== OPEN || !peer) {
      if (cb) queueMicrotask(() => cb(new Error('the socket is not open')));
      return;
    }
    peer.#inbox.push([typeof data === 'string' ? Buffer.from(data) : data, options?.binary ?? false]);
    peer.#scheduleDelivery();
    if (cb) queueMicrotask(() => cb());
  }

  close(code = 1000, reason: string | Buffer = ''): void {
    if (this.#state !== OPEN) return;
    const why = typeof reason === 'string' ? Buffer.from(reason) : reason;
    const peer = this.#peer;
    this.#closing();
    if (peer) peer.#closing();
    // Messages already sent are delivered before the close, as over a network socket.
    queueMicrotask(() => {
      this.#closed(code, why);
      if (peer) peer.#closed(code, why);
    });
  }

  terminate(): void {
    this.close(1006);
  }

  /** Pings are the network's business: nothing to do inside one process. */
  ping(): void {}

  static pair(): [LocalSocket, LocalSocket] {
    const a = new LocalSocket();
    const b = new LocalSocket();
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  #closing(): void {
    if (this.#state === OPEN) this.#state = CLOSING;
  }

  #closed(code: number, reason: Buffer): void {
    if (this.#state === CLOSED) return;
    this.#deliver(true);
    this.#state = CLOSED;
    this.#inbox.length = 0;
    this.emit('close', code, reason);
  }

  #scheduleDelivery(): void {
    if (this.#delivering || this.#paused || this.#inbox.length === 0) return;
    this.#delivering = true;
    queueMicrotask(() => {
      this.#delivering = false;
      this.#deliver(false);
    });
  }

  #deliver(evenIfPaused: boolean): void {
    while (this.#inbox.length > 0 && (evenIfPaused || !this.#paused) && this.#state !== CLOSED) {
      const [data, binary] = this.#inbox.shift()!;
      this.emit('message', data, binary);
    }
  }
}
