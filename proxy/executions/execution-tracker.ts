import type { ExecutionEndReason, ExecutionObserver, ExecutionRef } from '../artifacts/file-record.ts';
import type { KernelFrame } from '../gateway/kernel-frame.ts';
import { describeError, type Logger } from '../logger.ts';

interface Pending {
  ref: ExecutionRef;
  replied: boolean;
  idle: boolean;
  timer: NodeJS.Timeout;
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
 * It ends when both its execute_reply and its iopub `status: idle` (same parent msg_id) have
 * arrived, in either order; a kernel that restarts or dies, a closed socket, or the timeout
 * also ends what is in flight. Other clients' executions and the server's own kernel_info
 * requests are not ours and are ignored.
 */
export class ExecutionTracker {
  private readonly pending = new Map<string, Pending>();

  constructor(private readonly options: ExecutionTrackerOptions) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Before the execute_request is forwarded: take the before-snapshot, then start watching. */
  async begin(msgId: string): Promise<void> {
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
    this.pending.set(msgId, { ref, replied: false, idle: false, timer });
  }

  /** Look at one message from the kernel. Returns a promise when it ended executions. */
  observe(frame: KernelFrame): Promise<void> | undefined {
    if (this.pending.size === 0) return undefined;
    if (frame.msgType === 'execute_reply') return this.mark(frame.parentMsgId, 'replied');
    if (frame.msgType !== 'status') return undefined;
    const state = frame.content()?.execution_state;
    if (state === 'idle') return this.mark(frame.parentMsgId, 'idle');
    // Jupyter Server says `restarting` (and `dead`) itself when the kernel process goes away.
    // ipykernel's own `starting` is not used: it can arrive late after a fresh start.
    if (state === 'restarting') return this.endAll('kernel-restarted');
    if (state === 'dead') return this.endAll('kernel-dead');
    return undefined;
  }

  endAll(reason: ExecutionEndReason): Promise<void> | undefined {
    if (this.pending.size === 0) return undefined;
    return Promise.all([...this.pending.keys()].map((id) => this.end(id, reason))).then(() => {});
  }

  private mark(parentMsgId: string | undefined, flag: 'replied' | 'idle'): Promise<void> | undefined {
    const pending = parentMsgId ? this.pending.get(parentMsgId) : undefined;
    if (!pending) return undefined;
    pending[flag] = true;
    return pending.replied && pending.idle ? this.end(parentMsgId!, 'completed') : undefined;
  }

  private async end(msgId: string, reason: ExecutionEndReason): Promise<void> {
    const pending = this.pending.get(msgId);
    if (!pending) return;
    this.pending.delete(msgId);
    clearTimeout(pending.timer);
    const { chatId, observer, logger } = this.options;
    try {
      await observer.executionEnded(chatId, pending.ref, reason);
    } catch (error) {
      logger.error(`[sidecar] after-snapshot failed for chat ${chatId}: ${describeError(error)}`);
    }
  }
}

/** An observer that records nothing: for a sidecar with tracking off, and for tests of the relay. */
export const nullObserver: ExecutionObserver = {
  async executionStarted() {},
  async executionEnded() {},
};
