import { ArtifactError } from './artifact-errors.ts';
import { MAX_FOLDER_DEPTH } from '../workspace/folder-fd.ts';

/**
 * Checks a client-supplied path (relative to `/mnt/data`) and returns it normalized to POSIX
 * segments joined by `/`, in Unicode NFC. Rejects `..`, `.`, empty segments, absolute paths, NUL,
 * backslashes and control characters, and folders nested past MAX_FOLDER_DEPTH; and names that
 * Windows or macOS could not save when the file is downloaded or unzipped there (portableName).
 *
 * NFC, because macOS hands a browser names in NFD and most other systems in NFC: `café.csv` from
 * either is one name. Uploads are downloaded and zipped for Windows and macOS, so a name is
 * refused there where those cannot hold it, rather than saved under a name they change or fail on.
 */
export function normalizeUploadPath(raw: string): string {
  const bad = (why: string) => new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${why}.`);
  if (typeof raw !== 'string' || raw.length === 0) throw bad('it is empty');
  if (raw.length > 1024) throw bad('it is longer than 1024 characters');
  if (raw.includes('\\')) throw bad('backslashes are not allowed');
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw bad('NUL and control characters are not allowed');
  if (raw.startsWith('/')) throw bad('it must be relative to /mnt/data');
  const segments = raw.normalize('NFC').split('/');
  if (segments.length > MAX_FOLDER_DEPTH + 1) throw bad(`it is nested more than ${MAX_FOLDER_DEPTH} folders deep`);
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw bad('"", "." and ".." segments are not allowed');
    if (Buffer.byteLength(segment) > 255) throw bad('a name is longer than 255 bytes');
    portableName(segment);
  }
  return segments.join('/');
}

/** Characters Windows does not allow in a name (and `:`, which macOS's Finder shows as `/`). */
const NOT_ON_WINDOWS = /[<>:"|?*]/;
/** Device names Windows reserves, with any extension (`aux.txt`), in any case; ¹²³ count as digits there. */
const RESERVED_ON_WINDOWS = /^(CON|PRN|AUX|NUL|COM[0-9¹²³]|LPT[0-9¹²³]|CONIN\$|CONOUT\$)$/i;

/** Refuses a name (one path segment) Windows or macOS would refuse, rename or read as a device. */
function portableName(name: string): void {
  const refuse = (why: string) =>
    new ArtifactError(
      'ERR_UPLOAD_NAME_NOT_PORTABLE',
      `The name ${JSON.stringify(name)} cannot be saved on every system the file may be downloaded to: ${why}. Rename it and upload again.`,
    );
  const character = NOT_ON_WINDOWS.exec(name);
  if (character) throw refuse(`Windows does not allow ${character[0]} in names`);
  if (/[. ]$/.test(name)) throw refuse('Windows drops a trailing dot or space, so it would be another name there');
  // Windows reads the part before the first dot, trailing spaces dropped, as a device name.
  if (RESERVED_ON_WINDOWS.test(name.split('.')[0]!.trimEnd()))
    throw refuse(`Windows reserves ${name.split('.')[0]!.trimEnd()} for a device`);
}

/**
 * How Windows and macOS compare names: case-insensitively, and (macOS) whatever the Unicode
 * normalization. Two paths with the same key are one file there.
 */
export const lookAlikeKey = (relPath: string): string => relPath.normalize('NFC').toLowerCase();

/**
 * The path an upload is recorded at: the chat's existing file whose name only differs by case or
 * normalization (`Report.CSV` for `report.csv`), so the upload becomes its new version, as it
 * would be on the user's own system; else the path asked for.
 */
export function lookAlikeOf(requested: string, existing: Iterable<string>): string {
  const key = lookAlikeKey(requested);
  let alike: string | undefined;
  for (const path of existing) {
    if (path === requested) return requested;
    if (alike === undefined && lookAlikeKey(path) === key) alike = path;
  }
  return alike ?? requested;
}
