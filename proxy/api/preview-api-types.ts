/**
 * The JSON of the preview, diff and restore routes, shared by the sidecar and the element.
 * Rendering happens in the sidecar: the element only shows these shapes.
 */

/** One sheet (or a CSV/TSV) as display strings: the first rows and columns, with the full counts. */
export interface PreviewSheet {
  name: string;
  /** The first rows (the header row included), each cut to the first columns. */
  rows: string[][];
  rowCount: number;
  columnCount: number;
  /** More rows or columns exist than `rows` holds. */
  truncated: boolean;
}

export type FilePreview =
  | { kind: 'table'; sheets: PreviewSheet[] }
  /** A docx as HTML, sanitized on the sidecar: no script, handlers, remote URLs or `javascript:`. */
  | { kind: 'document'; html: string }
  | { kind: 'text'; language: 'markdown' | 'json' | 'code' | 'text'; text: string; truncated: boolean }
  /** HTML the code wrote: load `url` in an `<iframe sandbox>`; the sidecar adds `Content-Security-Policy: sandbox`. */
  | { kind: 'frame'; url: string }
  /** Raster images and SVG (shown as an image, so SVG script never runs) and PDF: the content URL. */
  | { kind: 'image' | 'pdf'; url: string };

/** GET {API_PREFIX}/chats/{chatId}/files/{id}/preview */
export interface PreviewResponse {
  id: string;
  sha256: string;
  preview: FilePreview;
}

export interface RowChange {
  change: 'added' | 'removed' | 'changed';
  /** The key column's value, or `row N` (1-based, after the header) when matched by position. */
  key: string;
  before?: string[];
  after?: string[];
}

export interface SheetDiff {
  name: string;
  /** 'added' / 'removed': the sheet exists in one version only. */
  status: 'same' | 'changed' | 'added' | 'removed';
  /** The header cell the rows were matched by, or null when matched by position. */
  keyColumn: string | null;
  counts: { added: number; removed: number; changed: number };
  header: string[];
  /** The first changes (see `truncated`). */
  rows: RowChange[];
  truncated: boolean;
}

export type FileDiff =
  | { kind: 'table'; sheets: SheetDiff[] }
  | { kind: 'text'; patch: string; counts: { added: number; removed: number }; truncated: boolean }
  /** Formats without a content diff: what changed is the size and the hash. */
  | { kind: 'binary' };

/** GET {API_PREFIX}/chats/{chatId}/files/{id}/diff?from={otherVersionId} */
export interface DiffResponse {
  from: { id: string; version: number; size: number; sha256: string };
  to: { id: string; version: number; size: number; sha256: string };
  diff: FileDiff;
}
