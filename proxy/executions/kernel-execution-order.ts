import type { KernelFrame } from '../wire/kernel-frame.ts';

/**
 * How an execution's execute_reply ended it, as far as the executions queued behind it care:
 * `failed` is an error with `stop_on_error` (the kernel aborts what is queued behind it),
 * `aborted` was aborted itself, `lost` was in the kernel when it restarted or died.
 */
export type ExecutionOutcome = 'ok' | 'failed' | 'aborted' | 'lost';

/** One execution on a kernel, from the moment a relay took it until its files are recorded. */
export interface OrderedExecution {
  readonly msgId: string;
  /** The connection (relay) that sent it. */
  readonly connection: object;
  /** Sent to the kernel (false while the sidecar holds it). */
  forwarded: boolean;
  readonly stopOnError: boolean;
  outcome: ExecutionOutcome | undefined;
  /** Its execute_reply's header: the kernel's session, for a reply the sidecar makes up in its name. */
  replyHeader: Record<string, unknown> | undefined;
  /** Resolves once it and every execution before it on the kernel are recorded (never rejects). */
  readonly settled: Promise<void>;
}

interface Entry extends OrderedExecution {
  markSettled: () => void;
}

/**
 * The executions of one kernel in the order relays took them, shared by every connection to
 * that kernel: a connection whose request would queue behind another connection's execution
 * (whose boundary it cannot see) asks here what it waits for.
 */
export class KernelExecutionOrder {
  readonly #entries = new Map<string, Entry>();
  readonly #onEmpty: () => void;

  constructor(onEmpty: () => void) {
    this.#onEmpty = onEmpty;
  }

  get size(): number {
    return this.#entries.size;
  }

  has(msgId: string): boolean {
    return this.#entries.has(msgId);
  }

  /** The execution taken last and not yet recorded: a new one queues behind it. */
  last(): OrderedExecution | undefined {
    let last: Entry | undefined;
    for (const entry of this.#entries.values()) last = entry;
    return last;
  }

  /** Take an execution; one already taken (the same msg_id sent twice) is returned as it is. */
  add(msgId: string, connection: object, stopOnError: boolean): OrderedExecution {
    const known = this.#entries.get(msgId);
    if (known) return known;
    const before = this.last();
    let markSettled = () => {};
    const own = new Promise<void>((resolve) => (markSettled = resolve));
    const entry: Entry = {
      msgId,
      connection,
      forwarded: false,
      stopOnError,
      outcome: undefined,
      replyHeader: undefined,
      settled: before ? Promise.all([own, before.settled]).then(() => {}) : own,
      markSettled,
    };
    this.#entries.set(msgId, entry);
    return entry;
  }

  /** Its files are recorded, or it never ran (aborted, dropped): the ones behind it may go on. */
  settle(msgId: string): void {
    const entry = this.#entries.get(msgId);
    if (!entry) return;
    this.#entries.delete(msgId);
    entry.markSettled();
    if (this.#entries.size === 0) this.#onEmpty();
  }

  /** A message from the kernel: an execute_reply says how an execution ended; a restart or death loses the queue. */
  observe(frame: KernelFrame): void {
    if (this.#entries.size === 0) return;
    if (frame.msgType === 'execute_reply') this.#replied(frame);
    else if (frame.msgType === 'status') {
      // Jupyter Server says `restarting` (and `dead`) itself when the kernel process goes away.
      const state = frame.content()?.execution_state;
      if (state === 'restarting' || state === 'dead') this.lost();
    }
  }

  #replied(frame: KernelFrame): void {
    const entry = frame.parentMsgId === undefined ? undefined : this.#entries.get(frame.parentMsgId);
    if (!entry) return;
    const status = frame.content()?.status;
    entry.replyHeader = frame.header();
    if (status === 'aborted') entry.outcome = 'aborted';
    else if (status === 'error') entry.outcome = entry.stopOnError ? 'failed' : 'ok';
    else entry.outcome ??= 'ok';
  }

  /** The kernel restarted or died: what was in it (or held for it) is gone, as its queue is. */
  lost(): void {
    for (const entry of this.#entries.values()) entry.outcome ??= 'lost';
  }
}

/** Every kernel's order, for as long as a connection to it is open or an execution of it unrecorded. */
export class KernelExecutionOrders {
  readonly #orders = new Map<string, { order: KernelExecutionOrder; connections: number }>();

  /** A connection to `kernelId` opened: its order, and what to call once the connection closed. */
  join(kernelId: string): { order: KernelExecutionOrder; leave: () => void } {
    let held = this.#orders.get(kernelId);
    if (!held) {
      const order = new KernelExecutionOrder(() => this.#forgetIfUnused(kernelId));
      held = { order, connections: 0 };
      this.#orders.set(kernelId, held);
    }
    held.connections++;
    const joined = held;
    let left = false;
    return {
      order: joined.order,
      leave: () => {
        if (left) return;
        left = true;
        joined.connections--;
        this.#forgetIfUnused(kernelId);
      },
    };
  }

  /** Kernels with an order kept (for tests and metrics). */
  get size(): number {
    return this.#orders.size;
  }

  #forgetIfUnused(kernelId: string): void {
    const held = this.#orders.get(kernelId);
    if (held && held.connections === 0 && held.order.size === 0) this.#orders.delete(kernelId);
  }
}
