import type { ExecutionTracker } from '../executions/execution-tracker.ts';
import type { KernelExecutionOrder, OrderedExecution } from '../executions/kernel-execution-order.ts';
import type { EncodedFrame, KernelFrame, WireCodec } from '../wire/kernel-frame.ts';
import { abortedExecution } from './aborted-execution.ts';
import type { LaneStep } from './ordered-lane.ts';

export interface ExecutionGateParts {
  /** The kernel's executions, shared by every connection to it. */
  order: KernelExecutionOrder;
  /** This connection's tracker. */
  tracker: ExecutionTracker;
  codec: WireCodec;
  /** Whether a barrier can separate this connection's queued requests (a Python kernel, no kernel file transport). */
  barrierUsable: () => boolean;
  /** Send a barrier ahead of a queued request; `release` runs when the kernel reaches it. */
  sendBarrier: (requestHeader: Record<string, unknown>, release: () => Promise<void>) => void;
  toKernel: (frame: EncodedFrame) => void;
  toClient: (frame: EncodedFrame) => void;
  /** Run a step in order with the client's other messages. */
  inLane: (step: LaneStep) => void;
  /** The client is still there to run a held request for. */
  connected: () => boolean;
  /** Count a held request's bytes (frame-budget.ts); returns the function that gives them back. */
  hold: (bytes: number) => () => void;
}

/** A request the sidecar holds: its frame until it goes to the kernel, or until the connection closes. */
interface HeldRequest {
  frame: KernelFrame | undefined;
  readonly header: Record<string, unknown>;
  readonly giveBack: () => void;
}

/**
 * Where each execution of one connection starts, in the kernel's order of executions from every
 * connection. A request that queues behind an execution of its own connection, on a kernel where
 * barriers work, goes at once, a barrier ahead of it (see kernel-order-barrier.ts). Any other
 * request that would queue in the kernel (behind another connection's execution, whose boundary
 * no barrier of this connection can mark; on a kernel that is not Python; with the kernel file
 * transport, whose collector must run between the two) is held by the sidecar until the
 * execution before it is recorded, then started as on an idle kernel. The kernel's own rules
 * still hold: when that execution failed with `stop_on_error` (or was aborted itself), the held
 * request is answered `aborted` as the kernel would have answered it; when the kernel restarted
 * or died meanwhile, it is dropped, as the kernel's queue is.
 *
 * A held request's bytes count against the frame budget's share for held requests until it
 * leaves, whichever way: a client that floods requests behind a running cell stops being read
 * (frame-budget.ts), while the messages it sent before go on through the lane as ever. A
 * connection that closes lets go of its held frames at once; their places in the kernel's order
 * are settled in turn, as before.
 */
export class ExecutionGate {
  readonly #held = new Set<HeldRequest>();
  readonly #parts: ExecutionGateParts;

  constructor(parts: ExecutionGateParts) {
    this.#parts = parts;
  }

  /** Requests held back now. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * A non-silent execute_request with a msg_id, rewritten and ready to go to the kernel;
   * `bytes`: its size as received.
   */
  admit(frame: KernelFrame, msgId: string, stopOnError: boolean, bytes: number): Promise<void> | undefined {
    const { order, tracker } = this.#parts;
    const header = frame.header() ?? {};
    if (order.has(msgId)) {
      // The same msg_id again: the kernel runs it again, but its files are the first one's.
      this.#parts.toKernel(frame.encode());
      return;
    }
    const before = order.last();
    const execution = order.add(msgId, this, stopOnError);
    if (!before) return this.#start(execution, frame, header);
    if (before.connection === this && tracker.lastInFlight() === before.msgId && this.#parts.barrierUsable()) {
      this.#parts.sendBarrier(header, tracker.enqueue(msgId, header));
      execution.forwarded = true;
      this.#parts.toKernel(frame.encode());
      return;
    }
    const held: HeldRequest = { frame, header, giveBack: this.#parts.hold(bytes) };
    this.#held.add(held);
    void before.settled.then(() => this.#parts.inLane(() => this.#release(execution, before, held)));
    return;
  }

  /** The connection closed: its held frames go now (their places in the order settle in turn). */
  dropHeld(): void {
    for (const held of this.#held) {
      held.frame = undefined;
      held.giveBack();
    }
    this.#held.clear();
  }

  #release(execution: OrderedExecution, before: OrderedExecution, held: HeldRequest): Promise<void> | undefined {
    this.#held.delete(held);
    const { frame, header } = held;
    held.frame = undefined;
    const { order } = this.#parts;
    if (!frame || !this.#parts.connected() || execution.outcome === 'lost') {
      held.giveBack();
      return void order.settle(execution.msgId);
    }
    if ((before.outcome === 'failed' || before.outcome === 'aborted') && before.replyHeader) {
      held.giveBack();
      execution.outcome = 'aborted';
      execution.replyHeader = before.replyHeader;
      for (const message of abortedExecution(this.#parts.codec, header, before.replyHeader))
        this.#parts.toClient(message);
      return void order.settle(execution.msgId);
    }
    // Its bytes count until it has gone to the kernel.
    return this.#start(execution, frame, header).finally(held.giveBack);
  }

  /** As on an idle kernel: the before-snapshot, then the request goes. */
  #start(execution: OrderedExecution, frame: KernelFrame, header: Record<string, unknown>): Promise<void> {
    return this.#parts.tracker.begin(execution.msgId, header).then(() => {
      execution.forwarded = true;
      this.#parts.toKernel(frame.encode());
    });
  }
}
