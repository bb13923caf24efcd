import type { RawData, WebSocket } from 'ws';
import type { RelaySocket } from './relay-socket.ts';
import type { FileAnnouncer } from '../announce/file-announcer.ts';
import type { EndedExecution, EndingExecution, ExecutionTracker } from '../executions/execution-tracker.ts';
import type { KernelExecutionOrder } from '../executions/kernel-execution-order.ts';
import { KernelOrderBarriers } from '../executions/kernel-order-barrier.ts';
import { describeError, type Logger } from '../logger.ts';
import { rewriteExecuteRequest } from '../rewrite/execute-request.ts';
import type { PathRewriter } from '../rewrite/path-rewriter.ts';
import { StreamSplicer } from '../rewrite/stream-splicer.ts';
import type { FrameBudget } from './frame-budget.ts';
import type { EncodedFrame, KernelFrame, WireCodec } from '../wire/kernel-frame.ts';
import { ExecutionGate } from './execution-gate.ts';
import { OrderedLane } from './ordered-lane.ts';
import type { SilentExecutions } from './silent-executions.ts';
import { GatewayAcks } from './prompt-ack.ts';
import { holdWritesUntilNextTick } from './tick-cork.ts';

export interface RelayOptions {
  codec: WireCodec;
  rewriter: PathRewriter;
  tracker: ExecutionTracker;
  /** The kernel's executions in order, shared by every connection to it. */
  order: KernelExecutionOrder;
  /** Adds the file card to an execution's output; none: no card. */
  announcer?: FileAnnouncer;
  logger: Logger;
  /** Pause the reading side when the writing side has this many bytes unsent. */
  highWaterMark: number;
  /** At most this long, the message that ends an execution waits for its files to be recorded. */
  recordWaitMs: number;
  /** How long a stream message that ends in a possible path prefix may be held. */
  streamHoldMs: number;
  /** Frame bytes held across all connections; shared by every relay. */
  budget: FrameBudget;
  /** The kernel file transport's executions on this connection (`--file-transport kernel`); none otherwise. */
  silent?: SilentExecutions;
  /**
   * How long a gateway socket stays open after its client left while the kernel still has to
   * pass a barrier of this connection (it would wait on it for ever otherwise).
   */
  barrierLingerMs: number;
}

const MAX_QUEUED = 256;

/** What the relay does with one message from a side: a promise when it had to await something. */
type MessageHandler = (data: Buffer, binary: boolean) => Promise<void> | undefined;

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
  private readonly up = new OrderedLane((e) => this.fail(e));
  private readonly down = new OrderedLane((e) => this.fail(e));
  private readonly splicer: StreamSplicer;
  private readonly acks: GatewayAcks;
  private readonly barriers: KernelOrderBarriers;
  private readonly gate: ExecutionGate;
  private closed = false;
  private readonly waiting = new Map<RelaySocket, number>();

  constructor(
    private readonly client: RelaySocket,
    private readonly upstream: WebSocket,
    private readonly options: RelayOptions,
  ) {
    this.acks = new GatewayAcks(upstream);
    this.splicer = new StreamSplicer(
      options.rewriter,
      (frame) => this.send(this.client, this.upstream, frame.encode()),
      options.streamHoldMs,
    );
    this.barriers = new KernelOrderBarriers(options.codec, (frame) => this.send(this.upstream, this.client, frame));
    this.barriers.askLanguage();
    this.gate = new ExecutionGate({
      order: options.order,
      tracker: options.tracker,
      codec: options.codec,
      // Not with the kernel file transport: its collector would queue in the kernel behind a
      // barrier that waits for that very collection (the execution before must be recorded first).
      barrierUsable: () => this.barriers.available && !options.silent,
      sendBarrier: (header, release) => this.barriers.sendBarrier(header, release),
      toKernel: (frame) => this.send(this.upstream, this.client, frame),
      toClient: (frame) => this.send(this.client, this.upstream, frame),
      inLane: (step) => this.up.run(step),
      connected: () => client.readyState === client.OPEN && upstream.readyState === upstream.OPEN,
      hold: (bytes) => options.budget.hold(bytes, client),
    });
    // An execution the tracker ends on a timer still has its held message to deliver, in order.
    options.tracker.onEndedByTimer((ending) => this.down.run(() => this.finish(ending)));

    const fromClient: MessageHandler = (data, binary) => this.fromClient(data, binary);
    const fromGateway: MessageHandler = (data, binary) => this.fromGateway(data, binary);
    client.on('message', (data, binary) => this.receive(this.up, client, toBuffer(data), binary, fromClient));
    upstream.on('message', (data, binary) => {
      const buffer = toBuffer(data);
      if (this.isSilent(buffer, binary)) return;
      this.receive(this.down, upstream, buffer, binary, fromGateway);
    });
    client.on('ping', (data) => upstream.readyState === upstream.OPEN && upstream.ping(data));
    upstream.on('ping', (data) => client.readyState === client.OPEN && client.ping(data));

    client.on('close', (code, reason) => {
      options.budget.forget(client);
      this.gate.dropHeld();
      this.splicer.discard();
      this.options.tracker.close();
      const closeUpstream = () => this.closeBoth(this.upstream, sendableCloseCode(code, 1000), reason);
      if (this.barriers.open === 0) return closeUpstream();
      // The kernel still has barriers of this connection ahead: answer them at once, and keep
      // the gateway socket until it has passed them (or for a bounded time), or it would wait.
      this.barriers.releaseAll();
      this.barriers.whenSettled(closeUpstream);
      setTimeout(closeUpstream, options.barrierLingerMs).unref();
    });
    upstream.on('close', (code, reason) => {
      options.budget.forget(upstream);
      this.gate.dropHeld();
      options.silent?.close();
      this.acks.stop();
      // Deliver what the gateway sent before it closed (and what was held), then close the client the same way.
      this.down.run(async () => {
        this.splicer.flush();
        await this.finish(this.options.tracker.close());
        this.closeBoth(this.client, sendableCloseCode(code, code === 1005 ? 1000 : 1011), reason);
      });
    });
    client.on('error', (error) => this.options.logger.warn(`[sidecar] client socket: ${describeError(error)}`));
    upstream.on('error', (error) => this.options.logger.warn(`[sidecar] gateway socket: ${describeError(error)}`));
  }

  /**
   * The kernel was restarted through REST, which Jupyter Server does not tell open sockets: end
   * what was in it and drop what is held for it, as its `restarting` status does. Ended at once,
   * so a request sent after the restart is not taken for one before it; delivered in order.
   */
  kernelRestarted(): void {
    this.options.order.lost();
    const ending = this.options.tracker.endAll('kernel-restarted');
    if (ending.length > 0) this.down.run(() => this.finish(ending));
  }

  /** Executions sent through this connection that are running or queued in the kernel (or held for it). */
  get executionsPending(): number {
    return this.options.tracker.inFlight + this.gate.held;
  }

  /**
   * Resolves once every execution sent through this connection has ended and its end has been
   * passed to the client (outputs, file card, execute_reply and idle), or the connection closed:
   * a shutdown closes the socket only then. An ending execution's delivery is a step of the
   * lane from the kernel, so a step queued behind it runs once that has gone out.
   */
  async delivered(): Promise<void> {
    while (!this.closed) {
      await this.options.tracker.whenIdle();
      await new Promise<void>((resolve) => this.down.run(() => void resolve()));
      if (this.options.tracker.inFlight === 0) return;
    }
  }

  /**
   * Every message counts against the frame budget until it is passed on (so a spent budget
   * pauses every side that sends). It is handled at once when nothing waits in its lane; one
   * that must wait (behind a snapshot) also counts in its side's queue.
   */
  private receive(lane: OrderedLane, source: RelaySocket, data: Buffer, binary: boolean, handle: MessageHandler): void {
    const giveBack = this.options.budget.take(data.length, source);
    let done = giveBack;
    if (!lane.idle) {
      this.queued(source, 1);
      done = () => {
        giveBack();
        this.queued(source, -1);
      };
    }
    lane.run(() => {
      let pending: Promise<void> | undefined;
      try {
        pending = handle(data, binary);
      } finally {
        if (!pending) done();
      }
      return pending?.finally(done);
    });
  }

  /**
   * The sidecar's own executions (the file transport) are taken out before the lanes: the
   * execution whose end waits for them holds the lane, and no client may see any of their messages.
   * Only while some are in flight is a frame decoded for this.
   */
  private isSilent(data: Buffer, binary: boolean): boolean {
    const silent = this.options.silent;
    if (!silent?.watching) return false;
    let frame: KernelFrame;
    try {
      frame = this.options.codec.decode(data, binary);
    } catch {
      return false;
    }
    if (!silent.intercept(frame)) return false;
    this.acks.now();
    return true;
  }

  private fromClient(data: Buffer, binary: boolean): Promise<void> | undefined {
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
      const { silent, stopOnError } = rewriteExecuteRequest(frame, this.options.rewriter);
      // Its start is the kernel's boundary before it, in the order of every connection's executions.
      if (frame.msgId && !silent) return this.gate.admit(frame, frame.msgId, stopOnError, data.length);
    }
    this.send(this.upstream, this.client, frame.encode());
  }

  private fromGateway(data: Buffer, binary: boolean): Promise<void> | undefined {
    const frame = this.decode(data, binary, 'gateway');
    if (frame?.msgType === 'stream') this.acks.afterRun();
    else this.acks.now();
    if (!frame) {
      this.splicer.flush();
      this.send(this.client, this.upstream, { data, binary });
      return;
    }
    // Answers to the sidecar's own requests (barriers, its kernel_info_request) are its own.
    if (this.barriers.claim(frame)) return;
    if (frame.msgType === 'kernel_info_reply') this.barriers.learn(frame);
    this.options.order.observe(frame);
    const observed = this.options.tracker.observe(frame);
    if (observed === 'held') return;
    if (observed === 'pass') {
      this.splicer.push(frame);
      return;
    }
    return this.finish(observed, frame).then(() => this.splicer.push(frame));
  }

  /**
   * Ended executions leave in this order: their outputs (already sent), the file card, the held
   * first of execute_reply and idle; the message that ended them follows. The client sees "done"
   * only once the files are recorded (or `recordWaitMs` is up: then no card), so a client that
   * lists files right after idle finds them. The card takes the kernel's session and version from
   * the held message, else from `trigger` (a restart's status); with neither there is no card.
   */
  private async finish(ending: EndingExecution[], trigger?: KernelFrame): Promise<void> {
    if (ending.length === 0) return;
    this.splicer.flush();
    let timer: NodeJS.Timeout | undefined;
    const waitOver = new Promise<undefined>(
      (resolve) => (timer = setTimeout(resolve, this.options.recordWaitMs, undefined)),
    );
    try {
      for (const execution of ending) {
        const ended = await Promise.race([execution.ended, waitOver]);
        const kernelFrame = execution.held ?? trigger;
        if (ended && this.options.announcer && kernelFrame) await this.announce(ended, kernelFrame);
        if (execution.held) this.splicer.push(execution.held);
      }
    } finally {
      clearTimeout(timer);
    }
  }

  private async announce(ended: EndedExecution, kernelFrame: KernelFrame): Promise<void> {
    try {
      const card = await this.options.announcer!.cardFor(ended, kernelFrame);
      if (card) this.send(this.client, this.upstream, card);
    } catch (error) {
      this.options.logger.error(`[sidecar] file card for execution ${ended.ref.msgId}: ${describeError(error)}`);
    }
  }

  private decode(data: Buffer, binary: boolean, from: string): KernelFrame | undefined {
    try {
      return this.options.codec.decode(data, binary);
    } catch (error) {
      // Mostly not ours to judge: passed on untouched for the other side to answer (but see fromClient).
      this.options.logger.warn(
        `[sidecar] unreadable ${from} frame (${this.options.codec.name}): ${describeError(error)}`,
      );
      return undefined;
    }
  }

  /** Send with backpressure: stop reading `source` while `target` has too much unsent. */
  private send(target: RelaySocket, source: RelaySocket, frame: EncodedFrame): void {
    if (target.readyState !== target.OPEN) return;
    holdWritesUntilNextTick(target);
    target.send(frame.data, { binary: frame.binary }, () => {
      if (
        source.isPaused &&
        this.options.budget.mayRead(source) &&
        target.bufferedAmount < this.options.highWaterMark / 2
      )
        source.resume();
    });
    if (!source.isPaused && target.bufferedAmount > this.options.highWaterMark) source.pause();
  }

  /** Messages wait in order while a snapshot runs; stop reading a side whose queue grows long. */
  private queued(source: RelaySocket, delta: number): void {
    const count = (this.waiting.get(source) ?? 0) + delta;
    this.waiting.set(source, count);
    if (count > MAX_QUEUED && !source.isPaused) source.pause();
    else if (
      count < MAX_QUEUED / 2 &&
      source.isPaused &&
      this.options.budget.mayRead(source) &&
      this.peerOf(source).bufferedAmount < this.options.highWaterMark / 2
    )
      source.resume();
  }

  private peerOf(source: RelaySocket): RelaySocket {
    return source === this.client ? this.upstream : this.client;
  }

  private closeBoth(other: RelaySocket, code: number, reason: Buffer): void {
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
