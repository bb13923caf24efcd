import { randomUUID } from 'node:crypto';
import type WebSocket from 'ws';
import {
  TransportError,
  type EvaluateBounds,
  type KernelAnswer,
  type KernelCommandChannel,
} from '../transport/kernel-command-channel.ts';
import { REPLY_TYPE, REQUEST_TYPE } from '../transport/collector-source.ts';
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
  kind: 'evaluate' | 'request';
  resolve: (answer: KernelAnswer) => void;
  reject: (error: TransportError) => void;
  timer: NodeJS.Timeout;
  bounds: EvaluateBounds;
  /** The kernel_info_request that follows a request. */
  probeId?: string;
}

/**
 * The transport's channel on one kernel connection. Its messages are sent on the relay's
 * upstream socket and taken out before the relay's lanes (`intercept`), so none reaches the
 * client and no answer is queued behind the execution whose end is waiting for it.
 *   evaluate: a silent execution (`silent`, no history, no stdin, the expression in `user_expressions`).
 *   request:  a shell message of the collector's own type, answered on shell to this connection only,
 *             followed by a `kernel_info_request` whose reply, if it comes first, says nothing handled it.
 */
export class SilentExecutions implements KernelCommandChannel {
  readonly #waiting = new Map<string, Waiting>();
  /** kernel_info_request id -> the request it follows. */
  readonly #probes = new Map<string, string>();
  /** Ids sent on this connection whose reply and idle have not both come yet. */
  readonly #unsettled = new Map<string, { reply: boolean; idle: boolean }>();
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
    return this.#ask('evaluate', bounds, (msgId) => {
      this.#send(msgId, 'execute_request', {
        code: '',
        silent: true,
        store_history: false,
        user_expressions: { r: expression },
        allow_stdin: false,
        stop_on_error: false,
      });
    });
  }

  request(args: Record<string, unknown>, buffers: Buffer[], bounds: EvaluateBounds): Promise<KernelAnswer> {
    return this.#ask('request', bounds, (msgId) => {
      this.#send(msgId, REQUEST_TYPE, { args }, buffers);
      // The kernel answers its shell messages in order, on this connection's socket.
      const probeId = randomUUID();
      this.#ids.add(probeId);
      this.#unsettled.set(probeId, { reply: false, idle: false });
      this.#probes.set(probeId, msgId);
      this.#waiting.get(msgId)!.probeId = probeId;
      this.#send(probeId, 'kernel_info_request', {});
    });
  }

  #ask(kind: Waiting['kind'], bounds: EvaluateBounds, send: (msgId: string) => void): Promise<KernelAnswer> {
    if (this.#closed || this.#upstream.readyState !== this.#upstream.OPEN)
      return Promise.reject(new TransportError('ERR_TRANSPORT_CLOSED', 'the kernel connection is closed'));
    const msgId = randomUUID();
    this.#ids.add(msgId);
    this.#unsettled.set(msgId, { reply: false, idle: false });
    return new Promise<KernelAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        const waiting = this.#waiting.get(msgId);
        if (!waiting) return;
        // What never came is not waited for here any more (the shared ids keep dropping it until their TTL).
        this.#unsettled.delete(msgId);
        if (waiting.probeId) this.#unsettled.delete(waiting.probeId);
        this.#fail(msgId, waiting, new TransportError('ERR_TRANSPORT_TIMEOUT', 'the kernel did not answer in time'));
      }, bounds.timeoutMs);
      timer.unref();
      this.#waiting.set(msgId, { kind, resolve, reject, timer, bounds });
      send(msgId);
    });
  }

  #send(msgId: string, msgType: string, content: Record<string, unknown>, buffers?: Buffer[]): void {
    const frame = this.#codec.encodeMessage({
      channel: 'shell',
      header: {
        msg_id: msgId,
        msg_type: msgType,
        username: 'sidecar',
        session: SESSION,
        date: new Date().toISOString(),
        version: '5.3',
      },
      parent_header: {},
      metadata: {},
      content,
      buffers,
    });
    this.#upstream.send(frame.data, { binary: frame.binary });
  }

  /** Whether any of the sidecar's executions may still send messages (only then are frames looked at). */
  get watching(): boolean {
    return this.#ids.size > 0;
  }

  /** Is this one of the sidecar's own messages? Then it is consumed here and goes no further. */
  intercept(frame: KernelFrame): boolean {
    const parent = frame.parentMsgId;
    if (!this.#ids.has(parent)) return false;
    const id = parent!;
    const isReply = frame.channel !== 'iopub' && frame.msgType !== undefined && frame.msgType.endsWith('_reply');
    this.#note(id, isReply, frame.msgType === 'status' && frame.content()?.execution_state === 'idle');
    if (!isReply) return true;
    const waiting = this.#waiting.get(id);
    if (waiting?.kind === 'evaluate' && frame.msgType === 'execute_reply') this.#settleEvaluate(id, waiting, frame);
    else if (waiting?.kind === 'request' && frame.msgType === REPLY_TYPE) this.#settleRequest(id, waiting, frame);
    const probed = this.#probes.get(id);
    if (probed !== undefined && frame.msgType === 'kernel_info_reply') {
      this.#probes.delete(id);
      const request = this.#waiting.get(probed);
      if (request)
        this.#fail(
          probed,
          request,
          new TransportError('ERR_TRANSPORT_NO_HANDLER', 'the kernel did not answer the collector’s request'),
        );
    }
    return true;
  }

  /** Its connection saw an id's reply and its idle: the id is held a little longer for the other connections' iopub. */
  #note(msgId: string, reply: boolean, idle: boolean): void {
    const state = this.#unsettled.get(msgId);
    if (!state) return;
    state.reply ||= reply;
    state.idle ||= idle;
    if (!state.reply || !state.idle) return;
    this.#unsettled.delete(msgId);
    this.#ids.settled(msgId);
  }

  #fail(msgId: string, waiting: Waiting, error: TransportError): void {
    this.#done(msgId, waiting);
    waiting.reject(error);
  }

  #succeed(msgId: string, waiting: Waiting, answer: KernelAnswer): void {
    this.#done(msgId, waiting);
    waiting.resolve(answer);
  }

  #done(msgId: string, waiting: Waiting): void {
    this.#waiting.delete(msgId);
    clearTimeout(waiting.timer);
    if (waiting.probeId) this.#probes.delete(waiting.probeId);
  }

  #settleEvaluate(msgId: string, waiting: Waiting, reply: KernelFrame): void {
    const content = reply.content();
    const result = isPlainObject(content?.user_expressions) ? content.user_expressions.r : undefined;
    if (content?.status !== 'ok' || !isPlainObject(result) || result.status !== 'ok')
      // The kernel's own error text is not passed on: it would reach the file card as the kernel wrote it.
      return this.#fail(msgId, waiting, kernelError());
    const text = isPlainObject(result.data) ? result.data['text/plain'] : undefined;
    if (typeof text !== 'string') return this.#fail(msgId, waiting, noText());
    this.#succeed(msgId, waiting, { text, buffers: [] });
  }

  /** A reply's buffers are kept only within the request's bounds: past them, the answer is refused. */
  #settleRequest(msgId: string, waiting: Waiting, reply: KernelFrame): void {
    const content = reply.content();
    if (content?.status !== 'ok') return this.#fail(msgId, waiting, kernelError());
    if (typeof content.text !== 'string') return this.#fail(msgId, waiting, noText());
    const buffers = reply.buffers();
    let bytes = 0;
    for (const buffer of buffers) bytes += buffer.length;
    if (bytes > waiting.bounds.maxBytes || buffers.length > waiting.bounds.maxBuffers)
      return this.#fail(
        msgId,
        waiting,
        new TransportError('ERR_TRANSPORT_PROTOCOL', 'the kernel sent more bytes than it was asked for'),
      );
    this.#succeed(msgId, waiting, { text: content.text, buffers: [...buffers] });
  }

  /** The connection closed: everything waiting fails now, not at its timeout. */
  close(): void {
    this.#closed = true;
    for (const [msgId, waiting] of this.#waiting)
      this.#fail(msgId, waiting, new TransportError('ERR_TRANSPORT_CLOSED', 'the kernel connection closed'));
    this.#probes.clear();
    this.#unsettled.clear();
  }
}

const kernelError = () => new TransportError('ERR_TRANSPORT_KERNEL_ERROR', 'the collector failed in the kernel');
const noText = () => new TransportError('ERR_TRANSPORT_PROTOCOL', 'the collector’s answer has no text');
