import type { FileRecord } from '../../proxy/storage/file-record.ts';

/** A recorded CSV file (version 1, made by code outside any execution), with the fields a test changes. */
export function fileRecord(fields: Partial<FileRecord> & Pick<FileRecord, 'id' | 'name' | 'size'>): FileRecord {
  return {
    chatId: 'c1',
    path: fields.name,
    mimeType: 'text/csv',
    format: 'CSV',
    sha256: 'a'.repeat(64),
    createdAt: '2026-01-01T00:00:00.000Z',
    modifiedAt: '2026-01-01T00:00:00.000Z',
    version: 1,
    execution: null,
    source: 'execution',
    owner: null,
    ...fields,
  };
}
