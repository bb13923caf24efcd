import { ArtifactError } from './artifact-errors.ts';
import { MAX_FOLDER_DEPTH } from '../workspace/folder-fd.ts';

/**
 * Checks a client-supplied path (relative to `/mnt/data`) and returns it normalized to POSIX
 * segments joined by `/`. Rejects `..`, `.`, empty segments, absolute paths, NUL, backslashes
 * and control characters, and folders nested past MAX_FOLDER_DEPTH.
 */
export function normalizeUploadPath(raw: string): string {
  const bad = (why: string) => new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${why}.`);
  if (typeof raw !== 'string' || raw.length === 0) throw bad('it is empty');
  if (raw.length > 1024) throw bad('it is longer than 1024 characters');
  if (raw.includes('\\')) throw bad('backslashes are not allowed');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad('NUL and control characters are not allowed');
  if (raw.startsWith('/')) throw bad('it must be relative to /mnt/data');
  const segments = raw.split('/');
  if (segments.length > MAX_FOLDER_DEPTH + 1) throw bad(`it is nested more than ${MAX_FOLDER_DEPTH} folders deep`);
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw bad('"", "." and ".." segments are not allowed');
    if (Buffer.byteLength(segment) > 255) throw bad('a name is longer than 255 bytes');
  }
  return segments.join('/');
}
