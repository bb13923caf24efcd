import { randomUUID } from 'node:crypto';
import type { EncodedFrame, KernelFrame, OutgoingKernelMessage, WireCodec } from '../wire/kernel-frame.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';

/**
 * A client that pipelines (JupyterLab runs a cell while another still runs) sends its next
 * execute_request before the kernel has finished the current one, and the kernel starts the
 * next the moment the current one ends. A scan of the workspace at the end of the current
 * execution would then race the next one's first writes. So before each queued request the
 * relay sends a barrier: a silent execution of the sidecar's own that waits for one line on
 * stdin. The kernel reaches it exactly between the two executions and waits there; the relay
 * answers its `input_request` only once the execution before has been recorded and the next
 * one's before-snapshot taken. Everything in answer to a barrier is the sidecar's and never
 * reaches the client.
 *
 * The kernel keeps its own semantics: a barrier has `stop_on_error: false`, so it never aborts
 * the queue itself, while an execution that fails with `stop_on_error` aborts the barrier and
 * the requests behind it exactly as it would have without the sidecar. Barriers are sent only
 * to Python kernels (learned from a `kernel_info_reply`, the client's or the sidecar's own);
 * other kernels fall back to the order of their messages alone.
 */
const BARRIER_CODE = "__import__('builtins').input()";

/** The sidecar's own requests remembered at once per connection; the oldest are forgotten past this. */
const MAX_OWN_REQUESTS = 1024;

interface OwnRequest {
  kind: 'kernel-info' | 'barrier';
  /** Resolves when the kernel may go on (barriers only); called once, at its input_request. */
  release?: () => Promise<void>;
  /** A barrier still waited for: forwarded, neither answered nor aborted yet. */
  open: boolean;
  /** The header whose session and username the sidecar's messages reuse. */
  like: Record<string, unknown>;
  /** Its reply, and its iopub `status: idle`, have come: once both have, nothing more comes for it. */
  replied?: boolean;
  idle?: boolean;
}

export class KernelOrderBarriers {
  private language: string | undefined;
  private readonly own = new Map<string, OwnRequest>();
  private openBarriers = 0;
  private onSettled: () => void = () => {};

  constructor(
    private readonly codec: WireCodec,
    private readonly sendUpstream: (frame: EncodedFrame) => void,
  ) {}

  /** Barriers can be used: the kernel said it runs Python. */
  get available(): boolean {
    return this.language === 'python';
  }

  /** Barriers the kernel has not passed yet: while any is open, the kernel needs this connection to go on. */
  get open(): number {
    return this.openBarriers;
  }

  /** Called once no barrier is open any more (the relay closes the gateway socket of a client that left then). */
  whenSettled(listener: () => void): void {
    this.onSettled = listener;
  }

  /** Ask the kernel its language, so a later barrier knows whether it can be used. */
  askLanguage(): void {
    const msgId = this.remember({ kind: 'kernel-info', open: false, like: {} });
    this.sendUpstream(this.codec.encodeMessage(request('shell', msgId, 'kernel_info_request', {}, {})));
  }

  /** Learn the kernel's language from a kernel_info_reply on its way to the client. */
  learn(frame: KernelFrame): void {
    const info = frame.content()?.language_info;
    if (isPlainObject(info) && typeof info.name === 'string') this.language = info.name.toLowerCase();
  }

  /**
   * Send a barrier ahead of the queued request whose header is `requestHeader` (its session and
   * username are reused). `release` runs when the kernel reaches the barrier; the kernel goes on
   * once it resolves.
   */
  sendBarrier(requestHeader: Record<string, unknown>, release: () => Promise<void>): void {
    const msgId = this.remember({ kind: 'barrier', release, open: true, like: requestHeader });
    this.openBarriers++;
    const content = {
      code: BARRIER_CODE,
      silent: true,
      store_history: false,
      user_expressions: {},
      allow_stdin: true,
      stop_on_error: false,
    };
    this.sendUpstream(this.codec.encodeMessage(request('shell', msgId, 'execute_request', content, requestHeader)));
  }

  /**
   * A message from the kernel in answer to one of the sidecar's own requests: handled here and
   * never passed on (true). Anything else: false.
   */
  claim(frame: KernelFrame): boolean {
    // Most connections have none of the sidecar's requests outstanding: no need to read the parent.
    if (this.own.size === 0) return false;
    const parent = frame.parentMsgId;
    const own = parent === undefined ? undefined : this.own.get(parent);
    if (!own) return false;
    if (frame.msgType === 'status' && frame.content()?.execution_state === 'idle') own.idle = true;
    else if (frame.msgType?.endsWith('_reply')) own.replied = true;
    if (own.idle && own.replied) this.own.delete(parent!);
    if (frame.msgType === 'kernel_info_reply') this.learn(frame);
    else if (frame.msgType === 'input_request' && own.release) {
      const release = own.release;
      own.release = undefined;
      const reply = this.codec.encodeMessage(
        request('stdin', randomUUID(), 'input_reply', { value: '' }, own.like, frame.header() ?? {}),
      );
      void release()
        .catch(() => {})
        .then(() => this.sendUpstream(reply));
    } else if (frame.msgType === 'execute_reply' && own.open) {
      // Passed, or aborted by a failed execution before it (then it never asked for input).
      own.open = false;
      own.release = undefined;
      if (--this.openBarriers === 0) this.onSettled();
    }
    return true;
  }

  /** Answer every barrier now, without waiting for anything (the client left: the kernel must not wait on it). */
  releaseAll(): void {
    for (const own of this.own.values()) {
      if (own.release) own.release = () => Promise.resolve();
    }
  }

  private remember(entry: OwnRequest): string {
    const msgId = `sidecar-${randomUUID()}`;
    this.own.set(msgId, entry);
    if (this.own.size > MAX_OWN_REQUESTS) {
      const [oldest] = this.own.keys();
      const dropped = this.own.get(oldest!);
      this.own.delete(oldest!);
      if (dropped?.open && --this.openBarriers === 0) this.onSettled();
    }
    return msgId;
  }
}

function request(
  channel: string,
  msgId: string,
  msgType: string,
  content: Record<string, unknown>,
  like: Record<string, unknown>,
  parent: Record<string, unknown> = {},
): OutgoingKernelMessage {
  const field = (name: string, fallback: string) =>
    typeof like[name] === 'string' ? (like[name] as string) : fallback;
  return {
    channel,
    header: {
      msg_id: msgId,
      msg_type: msgType,
      username: field('username', 'sidecar'),
      session: field('session', 'sidecar'),
      date: new Date().toISOString(),
      version: field('version', '5.3'),
    },
    parent_header: parent,
    metadata: {},
    content,
  };
}
