import { randomBytes } from 'node:crypto';
import type { ExecutionRef } from '../executions/execution-observer.ts';
import type { PutResult } from '../storage/blob-store.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { RecordDraft } from '../storage/record-store.ts';
import { formatLabel, mimeTypeOf } from '../workspace/format-label.ts';
import type { SnapshotEntry } from '../workspace/workspace-snapshot.ts';

/** What a scan is attributed to. */
export type ScanCause =
  { source: 'between-executions'; owner?: string | null } | { source: 'execution'; execution: ExecutionRef };

export type Attribution = Pick<FileRecord, 'source' | 'execution' | 'owner'>;

/** Where a scan's records say they came from: the execution (its kernel and message), or between executions. */
export function attributionOf(cause: ScanCause, owner: string | null): Attribution {
  return cause.source === 'execution'
    ? { source: 'execution', execution: { kernelId: cause.execution.kernelId, msgId: cause.execution.msgId }, owner }
    : { source: 'between-executions', execution: null, owner };
}

function newRecordId(): string {
  return randomBytes(12).toString('base64url');
}

/** The record of a stored file: its bytes (`put`), its workspace entry, and where it came from. */
export function draftRecord(
  chatId: string,
  rel: string,
  entry: Pick<SnapshotEntry, 'mtimeMs'>,
  put: PutResult,
  attribution: Attribution,
  now: Date,
): RecordDraft {
  const name = rel.slice(rel.lastIndexOf('/') + 1);
  return {
    id: newRecordId(),
    chatId,
    name,
    path: rel,
    size: put.size,
    mimeType: mimeTypeOf(name),
    format: formatLabel(name),
    sha256: put.sha256,
    createdAt: now.toISOString(),
    modifiedAt: new Date(entry.mtimeMs).toISOString(),
    execution: attribution.execution,
    source: attribution.source,
    owner: attribution.owner,
  };
}
