import type { FileRecord } from '../storage/file-record.ts';
import { filesApiPaths, type FileSummary, type FileVersionSummary } from '../../contract/files-api.ts';

export function downloadUrlFor(record: Pick<FileRecord, 'chatId' | 'id'>): string {
  return filesApiPaths.fileContent(record.chatId, record.id);
}

function toVersionSummary(record: FileRecord): FileVersionSummary {
  return {
    id: record.id,
    version: record.version,
    size: record.size,
    sha256: record.sha256,
    createdAt: record.createdAt,
    modifiedAt: record.modifiedAt,
    downloadUrl: downloadUrlFor(record),
    execution: record.execution,
    source: record.source,
  };
}

/** One summary per path: the latest version with every version newest first; newest files first. */
export function summarizeFiles(records: readonly FileRecord[]): FileSummary[] {
  const byPath = new Map<string, FileRecord[]>();
  for (const record of records) {
    const list = byPath.get(record.path);
    if (list) list.push(record);
    else byPath.set(record.path, [record]);
  }
  const summaries: FileSummary[] = [];
  for (const versions of byPath.values()) {
    versions.sort((a, b) => b.version - a.version);
    const latest = versions[0]!;
    summaries.push({
      ...toVersionSummary(latest),
      name: latest.name,
      path: latest.path,
      mimeType: latest.mimeType,
      format: latest.format,
      versions: versions.map(toVersionSummary),
    });
  }
  return summaries.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.path.localeCompare(b.path));
}

export function summarizePath(records: readonly FileRecord[], path: string): FileSummary | undefined {
  return summarizeFiles(records.filter((r) => r.path === path))[0];
}
