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
export type FileSource = 'execution' | 'between-executions' | 'upload';

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

/** The claims of a download link's token: one chat, one file version (or the zip), nothing else. */
export interface DownloadTokenClaims {
  chat: string;
  /** A file version id, or ARCHIVE_LINK_ID for the chat's zip. */
  file: string;
  scope: 'download';
}
export const ARCHIVE_LINK_ID = 'archive.zip';

/** Path builders, relative to the sidecar origin (a base path prefix goes in front). */
export const filesApiPaths = {
  chat: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}`,
  files: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files`,
  fileContent: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/content`,
  fileLink: (chatId: string, fileId: string) => `${API_PREFIX}/chats/${seg(chatId)}/files/${seg(fileId)}/link`,
  archive: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/archive.zip`,
  archiveLink: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/archive.zip/link`,
  events: (chatId: string) => `${API_PREFIX}/chats/${seg(chatId)}/events`,
  /** Each segment of the path under /mnt/data is encoded; the slashes stay. */
  upload: (chatId: string, relPath: string) =>
    `${API_PREFIX}/chats/${seg(chatId)}/uploads/${relPath.split('/').map(seg).join('/')}`,
} as const;
