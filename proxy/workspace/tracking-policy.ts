import type { SkippedFile } from '../../contract/files-api.ts';
import { extensionOf } from '../../contract/previewable.ts';

export const DEFAULT_TRACKED_EXTENSIONS: readonly string[] = [
  'xlsx',
  'xls',
  'ods',
  'csv',
  'pdf',
  'docx',
  'pptx',
  'json',
  'txt',
  'md',
  'html',
  'zip',
  'parquet',
  'png',
  'jpg',
  'jpeg',
  'svg',
];
export const DEFAULT_MAX_FILE_BYTES = 512 * 1024 ** 2;
export const DEFAULT_QUOTA_BYTES = 5 * 1024 ** 3;

/** Temp files the upload route writes inside a workspace; never tracked, even with includeHidden. */
export const UPLOAD_TEMP_PREFIX = '.sidecar-upload-';

export interface TrackingPolicyOptions {
  /** Extensions (no dot, any case) to record, or '*' for every file. */
  extensions?: readonly string[] | '*';
  /** Record dotfiles, `__pycache__`, `~$` lock files and partial downloads too. */
  includeHidden?: boolean;
  /** Files larger than this are reported as skipped ('too-large'). */
  maxFileBytes?: number;
  /** Bytes recorded per chat (all versions) beyond which files are skipped ('quota-exceeded'). */
  quotaBytes?: number;
  /**
   * Record files with more than one hard link. Off by default: such a file may be another
   * chat's file or a host file linked in by the kernel (files the sidecar itself wrote are
   * recorded either way).
   */
  allowHardLinks?: boolean;
}

export interface TrackingPolicy {
  /** What it was made from: `createTrackingPolicy(policy.options)` makes an equal one (on a worker thread, say). */
  readonly options: Readonly<Required<TrackingPolicyOptions>>;
  readonly maxFileBytes: number;
  readonly quotaBytes: number;
  readonly allowHardLinks: boolean;
  /** Should the walk descend into this folder (one path segment)? */
  includesDirectory(name: string): boolean;
  /** Is this path (relative, POSIX) a file we record? */
  tracks(relPath: string): boolean;
  /** Is any segment hidden (dotfile, `__pycache__`, `~$` lock) or the name partial (`.tmp`, `.part`, `.crdownload`)? False with includeHidden. */
  isHiddenOrPartial(relPath: string): boolean;
  /** Why a file of this size cannot be kept, given the bytes the chat already uses; null when it can. */
  limitFor(size: number, usedBytes: number): SkippedFile['reason'] | null;
}

const PARTIAL_SUFFIXES = ['.tmp', '.part', '.crdownload'];

function isHiddenSegment(name: string): boolean {
  return name.startsWith('.') || name === '__pycache__' || name.startsWith('~$');
}

export function createTrackingPolicy(options: TrackingPolicyOptions = {}): TrackingPolicy {
  const extensions = options.extensions ?? DEFAULT_TRACKED_EXTENSIONS;
  const allowed = extensions === '*' ? null : new Set(extensions.map((e) => e.replace(/^\./, '').toLowerCase()));
  const includeHidden = options.includeHidden ?? false;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const quotaBytes = options.quotaBytes ?? DEFAULT_QUOTA_BYTES;
  const allowHardLinks = options.allowHardLinks ?? false;

  return {
    options: {
      extensions: allowed === null ? '*' : [...allowed],
      includeHidden,
      maxFileBytes,
      quotaBytes,
      allowHardLinks,
    },
    maxFileBytes,
    quotaBytes,
    allowHardLinks,
    includesDirectory(name) {
      return includeHidden || !isHiddenSegment(name);
    },
    tracks(relPath) {
      const name = relPath.slice(relPath.lastIndexOf('/') + 1);
      if (!name || name.startsWith(UPLOAD_TEMP_PREFIX) || this.isHiddenOrPartial(relPath)) return false;
      return allowed === null || allowed.has(extensionOf(name));
    },
    isHiddenOrPartial(relPath) {
      if (includeHidden) return false;
      const segments = relPath.split('/');
      if (segments.some(isHiddenSegment)) return true;
      const lower = (segments[segments.length - 1] ?? '').toLowerCase();
      return PARTIAL_SUFFIXES.some((suffix) => lower.endsWith(suffix));
    },
    limitFor(size, usedBytes) {
      if (size > maxFileBytes) return 'too-large';
      if (usedBytes + size > quotaBytes) return 'quota-exceeded';
      return null;
    },
  };
}
