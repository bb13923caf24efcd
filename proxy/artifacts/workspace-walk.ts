import { lstatSync, opendirSync, type Dir, type Dirent, type Stats } from 'node:fs';
import path from 'node:path';
import type { TrackingPolicy } from './tracking-policy.ts';

/**
 * What one walk found, packed for a cheap hand-over between threads: `paths` joined by NUL
 * (no file name can hold one), and per path three numbers in `stats`: size, mtime (whole
 * milliseconds) and inode.
 */
export interface PackedWalk {
  paths: string;
  count: number;
  stats: Float64Array;
}

const IGNORED_WALK_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP']);

function ignorable(error: unknown): boolean {
  return error instanceof Error && 'code' in error && IGNORED_WALK_ERRORS.has(String(error.code));
}

/**
 * Walks a real (already resolved) workspace folder synchronously, never following a symlink:
 * a symlink (file or folder, wherever it points) is never part of the result. Files and folders
 * that vanish or cannot be read mid-walk are left out; other errors throw.
 *
 * Synchronous on purpose: one `lstat` per file is the whole cost of a walk, and the promise
 * API spends more on each call than the system call itself. Run it on a worker thread
 * (`WorkspaceWalker`) so the event loop never waits for it.
 */
export function walkWorkspaceSync(realDir: string, policy: TrackingPolicy): PackedWalk;
/**
 * With `maxEntries`: gives up (null) once it has seen more folder entries than that, having
 * spent at most that many steps: how a caller walks small workspaces inline and sends the rest
 * to a thread.
 */
export function walkWorkspaceSync(realDir: string, policy: TrackingPolicy, options: { maxEntries: number }): PackedWalk | null;
export function walkWorkspaceSync(realDir: string, policy: TrackingPolicy, options?: { maxEntries: number }): PackedWalk | null {
  const maxEntries = options?.maxEntries ?? Number.POSITIVE_INFINITY;
  let seen = 0;
  const paths: string[] = [];
  const numbers: number[] = [];
  const add = (rel: string, stats: Stats) => {
    paths.push(rel);
    numbers.push(stats.size, Math.trunc(stats.mtimeMs), stats.ino);
  };
  const stack: Array<[abs: string, rel: string]> = [[path.resolve(realDir), '']];
  while (stack.length > 0) {
    const [dirAbs, dirRel] = stack.pop()!;
    let dir: Dir;
    try {
      dir = opendirSync(dirAbs, { bufferSize: 128 });
    } catch (error) {
      if (ignorable(error)) continue;
      throw error;
    }
    try {
      if (!walkFolder(dir, dirAbs, dirRel)) return null;
    } finally {
      dir.closeSync();
    }
  }
  return { paths: paths.join('\0'), count: paths.length, stats: Float64Array.from(numbers) };

  /** Visits one folder's entries; false when the walk went past maxEntries. */
  function walkFolder(dir: Dir, dirAbs: string, dirRel: string): boolean {
    for (let entry = readEntry(dir); entry !== null; entry = readEntry(dir)) {
      if (++seen > maxEntries) return false;
      if (entry.isSymbolicLink()) continue;
      const abs = `${dirAbs}/${entry.name}`; // both already normal: cheaper than path.join per file
      const rel = dirRel ? `${dirRel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) {
        if (policy.includesDirectory(entry.name)) stack.push([abs, rel]);
        continue;
      }
      if (entry.isBlockDevice() || entry.isCharacterDevice() || entry.isFIFO() || entry.isSocket()) continue;
      const knownFile = entry.isFile();
      if (knownFile && !policy.tracks(rel)) continue;
      let stats: Stats | undefined;
      try {
        stats = lstatSync(abs, { throwIfNoEntry: false });
      } catch (error) {
        if (ignorable(error)) continue;
        throw error;
      }
      if (!stats) continue;
      if (knownFile) {
        if (stats.isFile()) add(rel, stats);
      } else if (stats.isDirectory()) {
        // Unknown dirent type (some file systems): lstat told us.
        if (policy.includesDirectory(entry.name)) stack.push([abs, rel]);
      } else if (stats.isFile() && policy.tracks(rel)) {
        add(rel, stats);
      }
    }
    return true;
  }
}

/** The next entry of a folder, or null at its end (or when it vanished mid-walk). */
function readEntry(dir: Dir): Dirent | null {
  try {
    return dir.readSync();
  } catch (error) {
    if (ignorable(error)) return null;
    throw error;
  }
}
