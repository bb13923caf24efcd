import type { ExecutionEndReason, ExecutionFiles, ExecutionObserver, ExecutionRef } from '../artifacts/file-record.ts';
import type { KernelFrame } from '../gateway/kernel-frame.ts';
import { describeError, type Logger } from '../logger.ts';

interface Pending {
  ref: ExecutionRef;
  /** The execute_request's header: the parent of anything the sidecar adds to its output. */
  requestHeader: Record<string, unknown>;
  timer: NodeJS.Timeout;
}

/** One execution that ended, and what its observer recorded (undefined when it does not say). */
export interface EndedExecution {
  ref: ExecutionRef;
  requestHeader: Record<string, unknown>;
  reason: ExecutionEndReason;
  files: ExecutionFiles | undefined;
}

export interface ExecutionTrackerOptions {
  chatId: string;
  kernelId: string;
  owner: string | null;
  observer: ExecutionObserver;
  /** An execution that has not ended after this long is ended with reason `timeout`. */
  timeoutMs: number;
  logger: Logger;
}

/**
 * Knows when each execution sent through one kernel connection starts and ends.
 * It ends at the first of its execute_reply and its iopub `status: idle` (same parent msg_id):
 * the kernel sends either only once the code has run, and clients stop at either (Open WebUI at
 * idle, @jupyterlab/services and EG-style executors at both), so what the sidecar adds to the
 * execution's output must go out before the first. A kernel that restarts or dies, a closed
 * socket, or the timeout also ends what is in flight. Other clients' executions and the server's own kernel_info
 * requests are not ours and are ignored.
 */
export class ExecutionTracker {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: ExecutionTrackerOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Before the execute_request is forwarded: take the before-snapshot, then start watching. */
  async begin(msgId: string, requestHeader: Record<string, unknown> = {}): Promise<void> {
    if (this.pending.has(msgId)) return;
    const { chatId, kernelId, owner, observer, logger } = this.options;
    const ref: ExecutionRef = { kernelId, msgId, owner };
    try {
      await observer.executionStarted(chatId, ref);
    } catch (error) {
      logger.error(`[sidecar] before-snapshot failed for chat ${chatId}: ${describeError(error)}`);
    }
    const timer = setTimeout(() => void this.end(msgId, 'timeout'), this.options.timeoutMs);
    timer.unref();
    this.pending.set(msgId, { ref, requestHeader, timer });
  }

  /** Look at one message from the kernel. Returns a promise when it ended executions. */
  observe(frame: KernelFrame): Promise<EndedExecution[]> | undefined {
    if (this.pending.size === 0) return undefined;
    if (frame.msgType === 'execute_reply') return this.endOne(frame.parentMsgId);
    if (frame.msgType !== 'status') return undefined;
    const state = frame.content()?.execution_state;
    if (state === 'idle') return this.endOne(frame.parentMsgId);
    // Jupyter Server says `restarting` (and `dead`) itself when the kernel process goes away.
    // ipykernel's own `starting` is not used: it can arrive late after a fresh start.
    if (state === 'restarting') return this.endAll('kernel-restarted');
    if (state === 'dead') return this.endAll('kernel-dead');
    return undefined;
  }

  endAll(reason: ExecutionEndReason): Promise<EndedExecution[]> | undefined {
    if (this.pending.size === 0) return undefined;
    return Promise.all([...this.pending.keys()].map((id) => this.end(id, reason))).then((ended) => ended.filter((e) => e !== undefined));
  }

  private endOne(parentMsgId: string | undefined): Promise<EndedExecution[]> | undefined {
    if (!parentMsgId || !this.pending.has(parentMsgId)) return undefined;
    return this.end(parentMsgId, 'completed').then((ended) => (ended ? [ended] : []));
  }

  private async end(msgId: string, reason: ExecutionEndReason): Promise<EndedExecution | undefined> {
    const pending = this.pending.get(msgId);
    if (!pending) return undefined;
    this.pending.delete(msgId);
    clearTimeout(pending.timer);
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

/** An observer that records nothing: for a sidecar with tracking off, and for tests of the relay. */
export const nullObserver: ExecutionObserver = {
  async executionStarted() {},
  async executionEnded() {},
};
