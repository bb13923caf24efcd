import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import {
  TransportError,
  type EvaluateBounds,
  type KernelAnswer,
  type KernelCommandChannel,
} from '../transport/kernel-command-channel.ts';
import { isPlainObject, type KernelFrame, type WireCodec } from '../wire/kernel-frame.ts';

/** The sidecar's own session on a kernel connection: its messages are told apart by msg_id, not by this. */
const SESSION = `sidecar-${randomUUID()}`;

/**
 * Message ids of the sidecar's own executions, shared by every kernel connection: a kernel
 * broadcasts iopub (their busy and idle) to every connection it has, so each relay must drop
 * them, and the relay cannot know how many connections will see an idle. So an id stays until
 * `graceMs` after its own connection saw both its reply and its idle (the other connections' copies
 * of the iopub left the gateway with it), or, if those never come (a kernel that hung or died),
 * until `ttlMs`; at most `max` are kept (the oldest go first).
 */
export class SilentMessageIds {
  readonly #ids = new Map<string, number>();

  readonly #ttlMs: number;
  readonly #graceMs: number;
  readonly #max: number;

  constructor(ttlMs = 10 * 60_000, graceMs = 1_000, max = 4096) {
    this.#ttlMs = ttlMs;
    this.#graceMs = graceMs;
    this.#max = max;
  }

  /** Ids still held (expired ones are let go first). */
  get size(): number {
    this.#purge(Date.now());
    return this.#ids.size;
  }

  add(msgId: string): void {
    const now = Date.now();
    this.#purge(now);
    while (this.#ids.size >= this.#max) this.#ids.delete(this.#ids.keys().next().value!);
    this.#ids.set(msgId, now + this.#ttlMs);
  }

  has(msgId: string | undefined): boolean {
    return msgId !== undefined && this.#ids.has(msgId);
  }

  /** Its connection saw its reply and its idle: held a little longer for the other connections' iopub. */
  settled(msgId: string): void {
    if (!this.#ids.has(msgId)) return;
    this.#ids.delete(msgId);
    this.#ids.set(msgId, Date.now() + this.#graceMs);
  }

  #purge(now: number): void {
    for (const [id, expires] of this.#ids) if (expires <= now) this.#ids.delete(id);
  }
}

interface Waiting {
  resolve: (answer: KernelAnswer) => void;
  reject: (error: TransportError) => void;
  timer: NodeJS.Timeout;
  bounds: EvaluateBounds;
  /** The comm messages' buffers so far, in order, within the bounds; null once past them. */
  buffers: Buffer[] | null;
  bytes: number;
  /** Its reply, kept until its idle has come too (or its idle, until the reply). */
  reply?: KernelFrame;
  idle?: boolean;
}

/**
 * The transport's channel on one kernel connection: a silent execution (`silent`, no history,
 * no stdin, the expression in `user_expressions`) sent on the relay's upstream socket. Its
 * messages are taken out before the relay's lanes (`intercept`), so none reaches the client and
 * its reply is never queued behind the execution whose end is waiting for it.
 */
export class SilentExecutions implements KernelCommandChannel {
  readonly #waiting = new Map<string, Waiting>();
  #closed = false;

  readonly #upstream: WebSocket;
  readonly #codec: WireCodec;
  readonly #ids: SilentMessageIds;

  constructor(upstream: WebSocket, codec: WireCodec, ids: SilentMessageIds) {
    this.#upstream = upstream;
    this.#codec = codec;
    this.#ids = ids;
  }

  /** Requests still waiting for their answer. */
  get pending(): number {
    return this.#waiting.size;
  }

  evaluate(expression: string, bounds: EvaluateBounds): Promise<KernelAnswer> {
    if (this.#closed || this.#upstream.readyState !== this.#upstream.OPEN)
      return Promise.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the kernel connection is closed'));
    const msgId = randomUUID();
    this.#ids.add(msgId);
    const frame = this.#codec.encodeMessage({
      channel: 'shell',
      header: {
        msg_id: msgId,
        msg_type: 'execute_request',
        username: 'sidecar',
        session: SESSION,
        date: new Date().toISOString(),
        version: '5.3',
      },
      parent_header: {},
      metadata: {},
      content: {
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { r: expression },
        allow_stdin: false,
        stop_on_error: false,
      },
    });
    return new Promise<KernelAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(msgId);
        reject(new TransportError('ERR_TRANSPORT_TIMEOUT', 'the kernel did not answer in time'));
      }, bounds.timeoutMs);
      timer.unref();
      this.#waiting.set(msgId, { resolve, reject, timer, bounds, buffers: [], bytes: 0 });
      this.#upstream.send(frame.data, { binary: frame.binary });
    });
  }

  /** Whether any of the sidecar's executions may still send messages (only then are frames looked at). */
  get watching(): boolean {
    return this.#ids.size > 0;
  }

  /** Is this one of the sidecar's own messages? Then it is consumed here and goes no further. */
  intercept(frame: KernelFrame): boolean {
    const parent = frame.parentMsgId;
    if (!this.#ids.has(parent)) return false;
    const waiting = this.#waiting.get(parent!);
    if (!waiting) return true;
    if (frame.msgType === 'execute_reply' && frame.channel !== 'iopub') waiting.reply = frame;
    else if (frame.msgType === 'comm_msg') this.#take(waiting, frame.buffers());
    else if (frame.msgType === 'status' && frame.content()?.execution_state === 'idle') waiting.idle = true;
    // The reply can come before the idle (shell and iopub travel apart): the next request waits for both.
    if (waiting.reply && waiting.idle) {
      this.#ids.settled(parent!);
      this.#settle(parent!, waiting.reply);
    }
    return true;
  }

  /** Buffers are kept only within the request's bounds: past them, none is kept, and the answer is refused. */
  #take(waiting: Waiting, buffers: readonly Buffer[]): void {
    if (!waiting.buffers) return;
    for (const buffer of buffers) waiting.bytes += buffer.length;
    if (
      waiting.bytes > waiting.bounds.maxBytes ||
      waiting.buffers.length + buffers.length > waiting.bounds.maxBuffers
    ) {
      waiting.buffers = null;
      return;
    }
    waiting.buffers.push(...buffers);
  }

  #settle(msgId: string, reply: KernelFrame): void {
    const waiting = this.#waiting.get(msgId);
    if (!waiting) return;
    this.#waiting.delete(msgId);
    clearTimeout(waiting.timer);
    const content = reply.content();
    const result = isPlainObject(content?.user_expressions) ? content.user_expressions.r : undefined;
    if (content?.status !== 'ok' || !isPlainObject(result) || result.status !== 'ok') {
      // The kernel's own error text is not passed on: it would reach the file card as the kernel wrote it.
      waiting.reject(new TransportError('ERR_TRANSPORT_KERNEL_ERROR', 'the collector failed in the kernel'));
      return;
    }
    const text = isPlainObject(result.data) ? result.data['text/plain'] : undefined;
    if (typeof text !== 'string')
      waiting.reject(new TransportError('ERR_TRANSPORT_PROTOCOL', 'the collector’s answer has no text'));
    else if (!waiting.buffers)
      waiting.reject(new TransportError('ERR_TRANSPORT_PROTOCOL', 'the kernel sent more bytes than it was asked for'));
    else waiting.resolve({ text, buffers: waiting.buffers });
  }

  /** The connection closed: everything waiting fails now, not at its timeout. */
  close(): void {
    this.#closed = true;
    for (const [, waiting] of this.#waiting) {
      clearTimeout(waiting.timer);
      waiting.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the kernel connection closed'));
    }
    this.#waiting.clear();
  }
}
