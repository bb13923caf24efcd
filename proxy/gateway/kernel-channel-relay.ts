import type { RawData, WebSocket } from 'ws';
import type { ExecutionTracker } from '../executions/execution-tracker.ts';
import { describeError, type Logger } from '../logger.ts';
import { rewriteIncoming } from '../rewrite/message-rewriter.ts';
import type { PathRewriter } from '../rewrite/path-rewriter.ts';
import { StreamSplicer } from '../rewrite/stream-splicer.ts';
import type { EncodedFrame, KernelFrame, WireCodec } from './kernel-frame.ts';
import { holdWritesUntilNextTick } from './tick-cork.ts';

export interface RelayOptions {
  codec: WireCodec;
  rewriter: PathRewriter;
  tracker: ExecutionTracker;
  logger: Logger;
  /** Pause the reading side when the writing side has this many bytes unsent. */
  highWaterMark: number;
  /** At most this long, the message that ends an execution waits for its files to be recorded. */
  recordWaitMs: number;
  /** How long a stream message that ends in a possible path prefix may be held. */
  streamHoldMs: number;
}

const MAX_QUEUED = 256;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Close codes a peer may send; the rest (1005, 1006, 1015, ...) are only ever observed. */
function sendableCloseCode(code: number, fallback: number): number {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
    ? code
    : fallback;
}

/**
 * One client connection to one kernel: both sockets are open, and every message in either
 * direction is decoded, rewritten and relayed in order. Code going in has /mnt/data mapped to
 * the chat's workspace and starts an execution; output coming out has it mapped back.
 */
export class KernelChannelRelay {
  private upChain: Promise<void> = Promise.resolve();
  private downChain: Promise<void> = Promise.resolve();
  private readonly splicer: StreamSplicer;
  private closed = false;
  private readonly waiting = new Map<WebSocket, number>();

  constructor(
    private readonly client: WebSocket,
    private readonly upstream: WebSocket,
    private readonly options: RelayOptions,
  ) {
    this.splicer = new StreamSplicer(options.rewriter, (frame) => this.send(this.client, this.upstream, frame.encode()), options.streamHoldMs);

    client.on('message', (data, binary) => {
      this.queued(client, 1);
      this.upChain = this.upChain
        .then(() => this.fromClient(toBuffer(data), binary))
        .catch((e) => this.fail(e))
        .finally(() => this.queued(client, -1));
    });
    upstream.on('message', (data, binary) => {
      this.queued(upstream, 1);
      this.downChain = this.downChain
        .then(() => this.fromGateway(toBuffer(data), binary))
        .catch((e) => this.fail(e))
        .finally(() => this.queued(upstream, -1));
    });
    client.on('ping', (data) => upstream.readyState === upstream.OPEN && upstream.ping(data));
    upstream.on('ping', (data) => client.readyState === client.OPEN && client.ping(data));

    client.on('close', (code, reason) => {
      this.splicer.discard();
      void this.options.tracker.endAll('socket-closed');
      this.closeBoth(this.upstream, sendableCloseCode(code, 1000), reason);
    });
    upstream.on('close', (code, reason) => {
      // Deliver what the gateway sent before it closed, then close the client the same way.
      this.downChain = this.downChain.then(() => {
        this.splicer.flush();
        void this.options.tracker.endAll('socket-closed');
        this.closeBoth(this.client, sendableCloseCode(code, code === 1005 ? 1000 : 1011), reason);
      });
    });
    client.on('error', (error) => this.options.logger.warn(`[sidecar] client socket: ${describeError(error)}`));
    upstream.on('error', (error) => this.options.logger.warn(`[sidecar] gateway socket: ${describeError(error)}`));
  }

  private async fromClient(data: Buffer, binary: boolean): Promise<void> {
    const frame = this.decode(data, binary, 'client');
    if (!frame && (binary || this.options.codec.name === 'v1')) {
      // Jupyter Server's deserializers trust the offset table: a count of 2^31 (legacy binary)
      // or 2^53 (v1) keeps the whole server busy in one loop. A framed message we cannot read
      // is refused, not passed on; unreadable legacy text is still Jupyter's to answer.
      this.client.close(1007, 'unreadable kernel message');
      return;
    }
    if (!frame) {
      this.send(this.upstream, this.client, { data, binary });
      return;
    }
    if (frame.msgType === 'execute_request') {
      rewriteIncoming(frame, this.options.rewriter);
      if (frame.msgId && frame.content()?.silent !== true) await this.options.tracker.begin(frame.msgId);
    }
    this.send(this.upstream, this.client, frame.encode());
  }

  private async fromGateway(data: Buffer, binary: boolean): Promise<void> {
    const frame = this.decode(data, binary, 'gateway');
    if (!frame) {
      this.splicer.flush();
      this.send(this.client, this.upstream, { data, binary });
      return;
    }
    const ended = this.options.tracker.observe(frame);
    if (ended) {
      // The client sees "done" only once the execution's files are recorded (or the wait is up),
      // so a client that lists files right after idle finds them.
      this.splicer.flush();
      await Promise.race([ended, new Promise((resolve) => setTimeout(resolve, this.options.recordWaitMs).unref())]);
    }
    this.splicer.push(frame);
  }

  private decode(data: Buffer, binary: boolean, from: string): KernelFrame | undefined {
    try {
      return this.options.codec.decode(data, binary);
    } catch (error) {
      // Mostly not ours to judge: passed on untouched for the other side to answer (but see fromClient).
      this.options.logger.warn(`[sidecar] unreadable ${from} frame (${this.options.codec.name}): ${describeError(error)}`);
      return undefined;
    }
  }

  /** Send with backpressure: stop reading `source` while `target` has too much unsent. */
  private send(target: WebSocket, source: WebSocket, frame: EncodedFrame): void {
    if (target.readyState !== target.OPEN) return;
    holdWritesUntilNextTick(target);
    target.send(frame.data, { binary: frame.binary }, () => {
      if (source.isPaused && target.bufferedAmount < this.options.highWaterMark / 2) source.resume();
    });
    if (!source.isPaused && target.bufferedAmount > this.options.highWaterMark) source.pause();
  }

  /** Messages wait in order while a snapshot runs; stop reading a side whose queue grows long. */
  private queued(source: WebSocket, delta: number): void {
    const count = (this.waiting.get(source) ?? 0) + delta;
    this.waiting.set(source, count);
    if (count > MAX_QUEUED && !source.isPaused) source.pause();
    else if (count < MAX_QUEUED / 2 && source.isPaused && this.peerOf(source).bufferedAmount < this.options.highWaterMark / 2) source.resume();
  }

  private peerOf(source: WebSocket): WebSocket {
    return source === this.client ? this.upstream : this.client;
  }

  private closeBoth(other: WebSocket, code: number, reason: Buffer): void {
    if (this.closed) return;
    this.closed = true;
    if (other.readyState === other.OPEN || other.readyState === other.CONNECTING) {
      other.close(code, reason.subarray(0, 123));
    }
  }

  private fail(error: unknown): void {
    this.options.logger.error(`[sidecar] relay failed: ${describeError(error)}`);
    this.client.close(1011, 'sidecar relay error');
    this.upstream.close(1011);
  }
}
