import type { FileSummary, FileVersionSummary } from '../contract/files-api.ts';

export interface GeneratedFilesDownloadDetail {
  /** The file, or `null` for "Download all". */
  file: FileSummary | null;
  /** The version saved: the latest one unless an older version was picked. */
  version: FileVersionSummary | null;
  /** The name the file is saved under. */
  name: string;
  /** The URL fetched (without token). */
  url: string;
}

/**
 * Fired before a download starts, by a button, "Download all", a sandbox link
 * or `download()`. Cancel it to handle the download yourself.
 */
export class GeneratedFilesDownloadEvent extends Event {
  static readonly type = 'generated-files-download';
  readonly detail: GeneratedFilesDownloadDetail;
  constructor(detail: GeneratedFilesDownloadDetail) {
    super(GeneratedFilesDownloadEvent.type, { bubbles: true, composed: true, cancelable: true });
    this.detail = detail;
  }
}

export interface GeneratedFilesChangeDetail {
  file: FileSummary;
  /** `added` for a new path, `updated` for a new version of a known one. */
  change: 'added' | 'updated';
}

/** Fired when a new file or a new version arrives after the first load (live or by polling). */
export class GeneratedFilesChangeEvent extends Event {
  static readonly type = 'generated-files-change';
  readonly detail: GeneratedFilesChangeDetail;
  constructor(detail: GeneratedFilesChangeDetail) {
    super(GeneratedFilesChangeEvent.type, { bubbles: true, composed: true });
    this.detail = detail;
  }
}

export interface GeneratedFilesUploadDetail {
  /** `start` (cancelable), `progress`, then `done` or `error`. */
  phase: 'start' | 'progress' | 'done' | 'error';
  file: File;
  /** Where it goes, relative to /mnt/data. */
  path: string;
  /** Bytes sent so far, of `total`. */
  sent: number;
  total: number;
  /** With `done`: the file as the sidecar recorded it (`source: 'upload'`). */
  summary?: FileSummary;
  /** With `error`: why (a `FilesApiError` for a refusal, with the sidecar's `code`). */
  error?: Error;
}

/** Fired as a file given by the user goes to the chat's /mnt/data. Cancel `start` to keep it from being sent. */
export class GeneratedFilesUploadEvent extends Event {
  static readonly type = 'generated-files-upload';
  readonly detail: GeneratedFilesUploadDetail;
  constructor(detail: GeneratedFilesUploadDetail) {
    super(GeneratedFilesUploadEvent.type, { bubbles: true, composed: true, cancelable: detail.phase === 'start' });
    this.detail = detail;
  }
}

declare global {
  interface HTMLElementEventMap {
    'generated-files-download': GeneratedFilesDownloadEvent;
    'generated-files-change': GeneratedFilesChangeEvent;
    'generated-files-upload': GeneratedFilesUploadEvent;
  }
}
