import type { SkippedFile } from '../../contract/files-api.ts';

/** One version of one generated file, as stored. */
export interface FileRecord {
  /** Opaque id of this version (URL-safe, unique across the store). */
  id: string;
  chatId: string;
  /** Base name, e.g. `report.xlsx`. */
  name: string;
  /** Path relative to `/mnt/data`, POSIX separators, e.g. `out/report.xlsx`. */
  path: string;
  size: number;
  /** From mime-types by extension; `application/octet-stream` when unknown. */
  mimeType: string;
  /** Human label, e.g. `Excel workbook`, `CSV`, `PDF`. */
  format: string;
  sha256: string;
  /** ISO times: when this version was recorded, and the file's mtime. */
  createdAt: string;
  modifiedAt: string;
  /** 1 for the first version of this path in this chat, then 2, 3, ... */
  version: number;
  /** Which execution made it; null when found between executions or uploaded. */
  execution: { kernelId: string; msgId: string } | null;
  source: 'execution' | 'between-executions' | 'upload' | 'restore';
  /** The user the chat belongs to, when known (X-User-Id or KERNEL_USERNAME at kernel creation). */
  owner: string | null;
}

/** Why an execution ended: what the tracker saw. */
export type ExecutionEndReason =
  | 'completed' // its execute_reply and status: idle arrived (or one did, and the other not in time)
  | 'kernel-restarted' // status: restarting, or a new kernel session
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
}

/**
 * What the kernel-channel relay tells the file tracker. executionStarted resolves once the
 * before-snapshot is taken (the relay forwards the request only then); executionEnded never
 * rejects (failures are logged and reported as events), and resolves with what it recorded
 * when it knows (undefined otherwise).
 */
export interface ExecutionObserver {
  executionStarted(chatId: string, execution: ExecutionRef): Promise<void>;
  executionEnded(chatId: string, execution: ExecutionRef, reason: ExecutionEndReason): Promise<ExecutionFiles | undefined | void>;
}
