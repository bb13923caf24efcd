/**
 * The JSON the files API sends, shared by the routes and the <generated-files> element.
 * All routes live under API_PREFIX, which Jupyter does not use.
 */
export const API_PREFIX = '/sidecar/v1';
export const WIDGET_PATH = '/sidecar/widget/generated-files.js';

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
  source: 'execution' | 'between-executions' | 'upload';
}

/** The latest version of one path, with all its versions (newest first). */
export interface FileSummary extends FileVersionSummary {
  name: string;
  /** Relative to /mnt/data, e.g. `out/report.xlsx`. */
  path: string;
  mimeType: string;
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
  reason: 'too-large' | 'quota-exceeded' | 'copy-failed';
  at: string;
  /** The file's mtime when it was skipped (ISO); a change of it makes the recorder try again. */
  modifiedAt?: string;
}

/** Every error the sidecar itself returns. */
export interface ErrorResponse {
  error: { code: string; message: string };
}

/**
 * SSE on GET {API_PREFIX}/chats/{chatId}/events:
 * `event: file` with a FileSummary (new file or new version),
 * `event: skipped` with a SkippedFile, and a comment heartbeat every 15 s.
 */
export type FileEventName = 'file' | 'skipped';

/**
 * Bidirectional-text controls (embeddings, overrides, isolates, marks). A right-to-left override
 * turns `invoice\u202Excod.html` into what looks like `invoicelmth.docx`: an HTML file dressed as
 * a document. A file name is shown and saved without them, by the sidecar and the element alike.
 */
const BIDI_CONTROLS = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;

export function withoutBidiControls(name: string): string {
  return name.replace(BIDI_CONTROLS, '');
}
