/**
 * The files API contract: the JSON the sidecar sends, where its routes live, and how their
 * paths are built. The sidecar (proxy/api) and the <generated-files> element (widget/) both
 * import this module and nothing else of each other, so a change here is seen by both
 * type checks. No runtime imports: it runs in Node and in the browser as it is.
 */

/** All routes live under API_PREFIX, which Jupyter does not use. */
export const API_PREFIX = '/sidecar/v1';
export const WIDGET_PATH = '/sidecar/widget/generated-files.js';

/** Where a version came from: the code during an execution, the code between executions, or the user. */
export type FileSource = 'execution' | 'between-executions' | 'upload' | 'restore';

export interface FileVersionSummary {
  id: string;
  version: number;
  size: number;
  sha256: string;
  createdAt: string;
  modifiedAt: string;
  /** Relative to the sidecar origin, e.g. `/sidecar/v1/chats/c1/files/ID/content`. */
  downloadUrl: string;
  execution: { kernelId: string; msgId: string } | null;
  source: FileSource;
}

/** The latest version of one path, with all its versions (newest first). */
export interface FileSummary extends FileVersionSummary {
  name: string;
  /** Relative to /mnt/data, e.g. `out/report.xlsx`. */
  path: string;
  mimeType: string;
  /** A human label for display, e.g. `Excel workbook`, `CSV`, `XYZ file`. Not an extension. */
  format: string;
  versions: FileVersionSummary[];
}

/** GET {API_PREFIX}/chats/{chatId}/files */
export interface FileListResponse {
  chatId: string;
  files: FileSummary[];
  /** Files over a size or quota limit: seen, not kept. */
  skipped: SkippedFile[];
}

export interface SkippedFile {
  path: string;
  size: number;
  /** `transfer-refused`: the kernel file transport (`--file-transport kernel`) would not take it; `detail` says why. */
  reason: 'too-large' | 'quota-exceeded' | 'copy-failed' | 'transfer-refused';
  /** What exactly was refused, in words for the user (transfer refusals). */
  detail?: string;
  at: string;
  /** The file's mtime when it was skipped (ISO); a change of it makes the recorder try again. */
  modifiedAt?: string;
}

/** Every error the sidecar itself returns. */
export interface ErrorResponse {
  error: { code: string; message: string };
}

/**
 * The codes an upload can be refused with (PUT .../uploads/{path}). A client that sends
 * `If-None-Match: *` gets 412 ERR_UPLOAD_CONFLICT when the path already holds a file; without
 * that header an upload replaces the file (a new version), as it always did.
 */
export type UploadErrorCode =
  | 'ERR_UPLOAD_TOO_LARGE'
  | 'ERR_QUOTA_EXCEEDED'
  | 'ERR_INVALID_PATH'
  | 'ERR_PATH_OUTSIDE_WORKSPACE'
  | 'ERR_UPLOAD_CONFLICT'
  | 'ERR_WORKSPACE_OUTSIDE_ROOT';

/** POST {API_PREFIX}/chats/{chatId}/files/{fileId}/link: a plain URL for the browser's download manager. */
export interface FileLinkResponse {
  /** Absolute path on the sidecar origin; carries a short-lived token for this one version (none when the API is open). */
  url: string;
  /** ISO time after which the URL stops working; null when the API is open. */
  expiresAt: string | null;
  /** Bytes behind the URL (the zip's is an upper bound: stored, not compressed). */
  size: number;
}

/**
 * SSE on GET {API_PREFIX}/chats/{chatId}/events:
 * `event: file` with a FileSummary (new file or new version),
 * `event: skipped` with a SkippedFile, and a comment heartbeat every 15 s.
 */
export type FileEventName = 'file' | 'skipped';

const seg = (value: string) => encodeURIComponent(value);

/** What a link token names instead of a file version when it opens the chat's zip (no record id looks like it). */
export const ARCHIVE_LINK_ID = 'archive';

/** Path builders, relative to the sidecar origin (a base path prefix goes in front). */
export const filesApiPaths = {
  chat: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}`,
  files: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files`,
  fileContent: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/content`,
  fileLink: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/link`,
  /** A version's preview (JSON; its HTML frame: previewFramePath); a diff against the version `fromId`; a restore (POST). */
  filePreview: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/preview`,
  fileDiff: (chatId: string, fileId: string, fromId: string) =>
    `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/diff?from=${seg(fromId)}`,
  fileRestore: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/restore`,
  archive: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/archive.zip`,
  archiveLink: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/archive.zip/link`,
  events: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/events`,
  /** Each segment of the path under /mnt/data is encoded; the slashes stay. */
  upload: (chatId: string, relPath: string) =>
    `${API_PREFIX}/chats/${seg(chatId)}/uploads/${relPath.split('/').map(seg).join('/')}`,
} as const;

/** Where a previewed HTML version is shown, in a sandboxed frame (the preview's `url` says it to the element). */
export const previewFramePath = (chatId: string, fileId: string) =>
  `${filesApiPaths.filePreview(chatId, fileId)}/frame`;

// ---- Previews, diffs and restores: rendered by the sidecar, only shown by the element. ----

/** One sheet (or a CSV/TSV) as display strings: the first rows and columns, with the full counts. */
export interface PreviewSheet {
  name: string;
  /** The header row, then the first `--preview-rows` (100) rows under it, each cut to the first columns. */
  rows: string[][];
  /** Rows of the sheet, the header row included. */
  rowCount: number;
  columnCount: number;
  /** More rows or columns exist than `rows` holds. */
  truncated: boolean;
}

export type FilePreview =
  | { kind: 'table'; sheets: PreviewSheet[] }
  /** A docx as HTML, sanitized on the sidecar: no script, handlers, remote URLs or `javascript:`. */
  | { kind: 'document'; html: string }
  | {
      kind: 'text';
      language: 'markdown' | 'json' | 'code' | 'text';
      text: string;
      truncated: boolean;
      /** Markdown rendered to HTML and sanitized on the sidecar exactly as a docx is (absent when cut short). */
      html?: string;
    }
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
  /** The first changes (see `truncated`), each row cut to its first 50 columns and long cells cut (ending in `…`). */
  rows: RowChange[];
  truncated: boolean;
  /** Columns of the widest row listed (rows and header show at most the first 50). */
  columnCount?: number;
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

/**
 * Bidirectional-text controls (embeddings, overrides, isolates, marks). A right-to-left override
 * turns `invoice\u202Excod.html` into what looks like `invoicelmth.docx`: an HTML file dressed as
 * a document. A file name is shown and saved without them, by the sidecar and the element alike.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function withoutBidiControls(name: string): string {
  return name.replace(BIDI_CONTROLS, '');
}
