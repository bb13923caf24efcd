import type { ExecutionEndReason, ExecutionFiles, ExecutionObserver, ExecutionRef } from './execution-observer.ts';
import type { KernelFrame } from '../wire/kernel-frame.ts';
import { describeError, type Logger } from '../logger.ts';

interface Pending {
  ref: ExecutionRef;
  /** The execute_request's header: the parent of anything the sidecar adds to its output. */
  requestHeader: Record<string, unknown>;
  /** The first of its execute_reply and idle, kept back until the second arrives. */
  held: KernelFrame | undefined;
  timer: NodeJS.Timeout;
  /** Runs while a message is held: the second of the pair may never come. */
  pairTimer: NodeJS.Timeout | undefined;
  /** Its recording, when the observer records from the first of the pair (`recordsAtFirstHalf`). */
  recording: Promise<EndedExecution> | undefined;
  /** Resolves once the execution has ended and its observer has recorded it (never rejects). */
  recorded: Promise<void>;
  markRecorded: () => void;
}

/** One execution that ended, and what its observer recorded (undefined when it does not say). */
export interface EndedExecution {
  ref: ExecutionRef;
  requestHeader: Record<string, unknown>;
  reason: ExecutionEndReason;
  files: ExecutionFiles | undefined;
}

/** An execution the tracker has just ended: what it held back, and its recording, under way. */
export interface EndingExecution {
  msgId: string;
  /** Its first of execute_reply and idle, held until now; to be sent after anything added. */
  held: KernelFrame | undefined;
  /** Resolves once the observer has recorded the execution's files (never rejects). */
  ended: Promise<EndedExecution>;
}

/** What to do with a message from the kernel: pass it on, or (held) the tracker keeps it for now. */
export type Observed = 'pass' | 'held' | EndingExecution[];

export interface ExecutionTrackerOptions {
  chatId: string;
  kernelId: string;
  owner: string | null;
  observer: ExecutionObserver;
  /** An execution that has not ended after this long is ended with reason `timeout`. */
  timeoutMs: number;
  /** How long the first of execute_reply and idle waits for the second before the execution ends anyway. */
  pairWaitMs: number;
  logger: Logger;
  /** Called once an execution's files are recorded (the kernel's order lets the next one go). */
  onRecorded?: (msgId: string) => void;
}

/**
 * Knows when each execution sent through one kernel connection starts and ends.
 * It ends when both its execute_reply and its iopub `status: idle` (same parent msg_id) have
 * arrived, in either order. The first of the two is held (other messages still pass), because
 * clients stop at either (Open WebUI at idle, @jupyterlab/services and EG-style executors at the
 * reply) while the execution's iopub output may still trail the reply: only after the second has
 * come is all of its output out, so only then can something be added as its last output.
 * A kernel that restarts or dies, a closed socket, the timeout, or a second message that does
 * not come within `pairWaitMs` also ends what is in flight. Other clients' executions and the
 * server's own kernel_info requests are not ours and are ignored. An observer that records from
 * the first of the pair (`recordsAtFirstHalf`) is called then, so the end waits for the slower
 * of the second half and the recording rather than for both in turn.
 */
export class ExecutionTracker {
  private readonly pending = new Map<string, Pending>();
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private onSelfEnded: (ending: EndingExecution[]) => void = () => {};

  constructor(private readonly options: ExecutionTrackerOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Resolves once no execution sent through this connection is running or queued. */
  whenIdle(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Who to tell when the tracker ends an execution on its own (timeout, or the second of the pair
   * did not come): that one's held message has to go out too.
   */
  onEndedByTimer(listener: (ending: EndingExecution[]) => void): void {
    this.onSelfEnded = listener;
  }

  /** Before the execute_request is forwarded: take the before-snapshot, then start watching. */
  async begin(msgId: string, requestHeader: Record<string, unknown> = {}): Promise<void> {
    if (this.pending.has(msgId)) return;
    const { kernelId, owner } = this.options;
    const ref: ExecutionRef = { kernelId, msgId, owner };
    await this.started(ref);
    this.watch(ref, requestHeader);
    // The connection closed during the before-snapshot: nothing more comes for it, and watching
    // it until the timeout would record its files only then.
    if (this.closed) this.end(msgId, 'socket-closed');
  }

  /** The execution most recently sent that has not ended: a new request queues behind it in the kernel. */
  lastInFlight(): string | undefined {
    let last: string | undefined;
    for (const msgId of this.pending.keys()) last = msgId;
    return last;
  }

  /**
   * An execute_request the kernel will queue behind the execution in flight: watched from now
   * on, but its before-snapshot is not taken now (that execution is still writing files). The
   * returned function takes it at the kernel's boundary between the two: it waits until the
   * execution before has ended and been recorded, then tells the observer this one started.
   * A barrier calls it when the kernel reaches that boundary (see kernel-order-barrier.ts).
   */
  enqueue(msgId: string, requestHeader: Record<string, unknown> = {}): () => Promise<void> {
    const before = this.pending.get(this.lastInFlight() ?? '');
    const { kernelId, owner } = this.options;
    const ref: ExecutionRef = { kernelId, msgId, owner };
    if (!this.pending.has(msgId)) this.watch(ref, requestHeader);
    return async () => {
      await before?.recorded;
      if (this.pending.has(msgId)) await this.started(ref);
    };
  }

  private async started(ref: ExecutionRef): Promise<void> {
    const { chatId, observer, logger } = this.options;
    try {
      await observer.executionStarted(chatId, ref);
    } catch (error) {
      logger.error(`[sidecar] before-snapshot failed for chat ${chatId}: ${describeError(error)}`);
    }
  }

  private watch(ref: ExecutionRef, requestHeader: Record<string, unknown>): void {
    const { msgId } = ref;
    const timer = setTimeout(() => this.endByTimer(msgId, 'timeout'), this.options.timeoutMs);
    timer.unref();
    let markRecorded = () => {};
    const recorded = new Promise<void>((resolve) => (markRecorded = resolve));
    this.pending.set(msgId, {
      ref,
      requestHeader,
      held: undefined,
      timer,
      pairTimer: undefined,
      recording: undefined,
      recorded,
      markRecorded,
    });
  }

  /** Look at one message from the kernel, in order. */
  observe(frame: KernelFrame): Observed {
    if (this.pending.size === 0) return 'pass';
    if (frame.msgType === 'execute_reply') return this.completionHalf(frame);
    if (frame.msgType !== 'status') return 'pass';
    const state = frame.content()?.execution_state;
    if (state === 'idle') return this.completionHalf(frame);
    // Jupyter Server says `restarting` (and `dead`) itself when the kernel process goes away.
    // ipykernel's own `starting` is not used: it can arrive late after a fresh start.
    if (state === 'restarting') return this.endAll('kernel-restarted');
    if (state === 'dead') return this.endAll('kernel-dead');
    return 'pass';
  }

  /** The connection closed: end everything in flight, and what is still beginning once it has begun. */
  close(): EndingExecution[] {
    this.closed = true;
    return this.endAll('socket-closed');
  }

  /** End everything in flight; empty when nothing was. */
  endAll(reason: ExecutionEndReason): EndingExecution[] {
    return [...this.pending.keys()].map((id) => this.end(id, reason)!);
  }

  private completionHalf(frame: KernelFrame): Observed {
    const msgId = frame.parentMsgId;
    const pending = msgId ? this.pending.get(msgId) : undefined;
    if (!pending) return 'pass';
    if (!pending.held) {
      pending.held = frame;
      // The kernel has run the code: its files can be recorded while the second half comes.
      if (this.options.observer.recordsAtFirstHalf) pending.recording = this.record(pending, 'completed');
      pending.pairTimer = setTimeout(() => this.endByTimer(msgId!, 'completed'), this.options.pairWaitMs);
      pending.pairTimer.unref();
      return 'held';
    }
    // A second idle (or reply) for the same request is not the other half: pass it on.
    if (pending.held.msgType === frame.msgType) return 'pass';
    return [this.end(msgId!, 'completed')!];
  }

  private endByTimer(msgId: string, reason: ExecutionEndReason): void {
    const ending = this.end(msgId, reason);
    if (ending) this.onSelfEnded([ending]);
  }

  private end(msgId: string, reason: ExecutionEndReason): EndingExecution | undefined {
    const pending = this.pending.get(msgId);
    if (!pending) return undefined;
    this.pending.delete(msgId);
    if (this.pending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    clearTimeout(pending.timer);
    clearTimeout(pending.pairTimer);
    const ended = pending.recording ?? this.record(pending, reason);
    void ended.then(() => {
      pending.markRecorded();
      this.options.onRecorded?.(msgId);
    });
    return { msgId, held: pending.held, ended };
  }

  private async record(pending: Pending, reason: ExecutionEndReason): Promise<EndedExecution> {
    const { chatId, observer, logger } = this.options;
    let files: ExecutionFiles | undefined;
    try {
      files = (await observer.executionEnded(chatId, pending.ref, reason)) ?? undefined;
    } catch (error) {
      logger.error(`[sidecar] after-snapshot failed for chat ${chatId}: ${describeError(error)}`);
    }
    return { ref: pending.ref, requestHeader: pending.requestHeader, reason, files };
  }
}
