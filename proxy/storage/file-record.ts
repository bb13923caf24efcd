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
