import type { FileRecord } from '../storage/file-record.ts';

/** The JSON body of one delivery: one recorded file version. */
export interface FileRecordedPayload {
  type: 'file.recorded';
  deliveryId: string;
  chat: string;
  fileId: string;
  version: number;
  /** Relative to /mnt/data. */
  path: string;
  name: string;
  size: number;
  mimeType: string;
  sha256: string;
  execution: { kernelId: string; msgId: string } | null;
  owner: string | null;
  recordedAt: string;
  /** Downloads this version; signed (a capability link) when FILES_API_SECRET is set. */
  downloadUrl: string;
}

export function fileRecordedPayload(deliveryId: string, record: FileRecord, downloadUrl: string): FileRecordedPayload {
  return {
    type: 'file.recorded',
    deliveryId,
    chat: record.chatId,
    fileId: record.id,
    version: record.version,
    path: record.path,
    name: record.name,
    size: record.size,
    mimeType: record.mimeType,
    sha256: record.sha256,
    execution: record.execution,
    owner: record.owner,
    recordedAt: record.createdAt,
    downloadUrl,
  };
}
