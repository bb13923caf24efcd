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
 */
export class ExecutionGate {
  #held = 0;
  readonly #parts: ExecutionGateParts;

  constructor(parts: ExecutionGateParts) {
    this.#parts = parts;
  }

  /** Requests held back now. */
  get held(): number {
    return this.#held;
  }

  /** A non-silent execute_request with a msg_id, rewritten and ready to go to the kernel. */
  admit(frame: KernelFrame, msgId: string): Promise<void> | undefined {
    const { order, tracker } = this.#parts;
    const header = frame.header() ?? {};
    if (order.has(msgId)) {
      // The same msg_id again: the kernel runs it again, but its files are the first one's.
      this.#parts.toKernel(frame.encode());
      return;
    }
    const before = order.last();
    const execution = order.add(msgId, this, frame.content()?.stop_on_error !== false);
    if (!before) return this.#start(execution, frame, header);
    if (before.connection === this && tracker.lastInFlight() === before.msgId && this.#parts.barrierUsable()) {
      this.#parts.sendBarrier(header, tracker.enqueue(msgId, header));
      execution.forwarded = true;
      this.#parts.toKernel(frame.encode());
      return;
    }
    this.#held++;
    void before.settled.then(() => this.#parts.inLane(() => this.#release(execution, before, frame, header)));
    return;
  }

  #release(
    execution: OrderedExecution,
    before: OrderedExecution,
    frame: KernelFrame,
    header: Record<string, unknown>,
  ): Promise<void> | undefined {
    this.#held--;
    const { order } = this.#parts;
    if (!this.#parts.connected() || execution.outcome === 'lost') return void order.settle(execution.msgId);
    if ((before.outcome === 'failed' || before.outcome === 'aborted') && before.replyHeader) {
      execution.outcome = 'aborted';
      execution.replyHeader = before.replyHeader;
      for (const message of abortedExecution(this.#parts.codec, header, before.replyHeader))
        this.#parts.toClient(message);
      return void order.settle(execution.msgId);
    }
    return this.#start(execution, frame, header);
  }

  /** As on an idle kernel: the before-snapshot, then the request goes. */
  #start(execution: OrderedExecution, frame: KernelFrame, header: Record<string, unknown>): Promise<void> {
    return this.#parts.tracker.begin(execution.msgId, header).then(() => {
      execution.forwarded = true;
      this.#parts.toKernel(frame.encode());
    });
  }
}
