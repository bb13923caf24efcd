/**
 * The end-of-execution contract the tracker publishes: whoever wants to know when an execution
 * starts and ends (the file recorder today) implements ExecutionObserver and is handed to the
 * relay. It lives with its producer, so executions/ never imports its consumers.
 */
import type { SkippedFile } from '../../contract/files-api.ts';
import type { FileRecord } from '../storage/file-record.ts';

/** Why an execution ended: what the tracker saw. */
export type ExecutionEndReason =
  | 'completed' // its execute_reply and status: idle arrived (or one did, and the other not in time)
  | 'kernel-restarted' // status: restarting
  | 'kernel-dead' // status: dead
  | 'socket-closed' // the client or the gateway socket closed first
  | 'timeout'; // nothing ended it within the execution timeout

export interface ExecutionRef {
  kernelId: string;
  msgId: string;
  owner: string | null;
}

/** What an execution left behind, as the observer recorded it: the file card's content. */
export interface ExecutionFiles {
  recorded: FileRecord[];
  /** Seen but not kept during this execution's scan (over the size limit or the quota). */
  skipped: SkippedFile[];
  /**
   * The files could not be recorded now (the file store is away): the card says so, and the
   * chat's next scan once the store is back records what this execution wrote.
   */
  deferred?: boolean;
}

/**
 * What the kernel-channel relay tells the file tracker. executionStarted resolves once the
 * before-snapshot is taken (the relay forwards the request only then); executionEnded never
 * rejects (failures are logged and reported as events), and resolves with what it recorded
 * when it knows (undefined otherwise).
 */
export interface ExecutionObserver {
  executionStarted(chatId: string, execution: ExecutionRef): Promise<void>;
  executionEnded(
    chatId: string,
    execution: ExecutionRef,
    reason: ExecutionEndReason,
  ): Promise<ExecutionFiles | undefined | void>;
  /**
   * Whether executionEnded may be called at the first of an execution's execute_reply and idle
   * (the kernel has finished running its code by either), with `completed`, rather than at the
   * second: the recording then runs while the second is on its way. The relay still releases the
   * execution (its card, its held message) only once both have come and it is recorded. The
   * workspace recorder says yes; an observer that itself talks to the kernel (the kernel file
   * transport) leaves it unset, and is called at the second.
   */
  readonly recordsAtFirstHalf?: boolean;
}
