import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactError } from './artifact-errors.ts';
import { isInside } from './workspace-snapshot.ts';

/**
 * Checks a client-supplied path (relative to `/mnt/data`) and returns it normalized to POSIX
 * segments joined by `/`. Rejects `..`, `.`, empty segments, absolute paths, NUL, backslashes
 * and control characters.
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
  for (const segment of segments) {
    if (segment === '' || segment === '.' || segment === '..') throw bad('"", "." and ".." segments are not allowed');
    if (Buffer.byteLength(segment) > 255) throw bad('a name is longer than 255 bytes');
  }
  return segments.join('/');
}

/**
 * Creates the parent folders of `relPath` inside the workspace one at a time, checking after
 * each step that the real path is still inside the real workspace: a symlinked folder pointing
 * elsewhere is refused before anything is created through it. Returns the absolute target and
 * its real path relative to the workspace (a symlinked folder inside the workspace is resolved).
 */
export async function resolveUploadTarget(
  workspaceDir: string,
  relPath: string,
): Promise<{ absPath: string; relPath: string }> {
  const realWorkspace = await realpath(workspaceDir);
  const segments = relPath.split('/');
  const name = segments.pop()!;
  let current = realWorkspace;
  for (const segment of segments) {
    const next = path.join(current, segment);
    try {
      await mkdir(next);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    current = await realpath(next);
    if (!isInside(realWorkspace, current)) {
      throw new ArtifactError('ERR_PATH_OUTSIDE_WORKSPACE', `Upload path ${relPath} leaves the chat workspace.`);
    }
    if (!(await lstat(current)).isDirectory()) {
      throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${segment} is not a folder.`);
    }
  }
  const absPath = path.join(current, name);
  return { absPath, relPath: path.relative(realWorkspace, absPath).split(path.sep).join('/') };
}
