import { closeSync, opendirSync, lstatSync, type Dir, type Dirent, type Stats } from 'node:fs';
import {
  errnoOf,
  listingPath,
  openFolderSync,
  openRootSync,
  entryPath,
  MAX_FOLDER_DEPTH,
  procFdAvailable,
  VANISHED_ERRNOS,
  type FolderRef,
} from './folder-fd.ts';
import type { TrackingPolicy } from './tracking-policy.ts';

/**
 * What one walk found, packed for a cheap hand-over between threads: `paths` joined by NUL
 * (no file name can hold one), and per path `STATS_PER_FILE` numbers in `stats`: size, mtime
 * (whole milliseconds), inode and link count.
 */
export interface PackedWalk {
  paths: string;
  count: number;
  stats: Float64Array;
}

export const STATS_PER_FILE = 4;

/**
 * The chat folder to walk: its real path, and either an fd already open on it (used through
 * /proc/self/fd, never closed by the walk) or the device and inode it must have.
 */
export interface WalkRoot {
  path: string;
  fd?: number;
  dev?: number;
  ino?: number;
}

function ignorable(error: unknown): boolean {
  return VANISHED_ERRNOS.has(errnoOf(error) ?? '');
}

interface Visit {
  folder: FolderRef;
  rel: string;
  /** Subfolder names still to visit: opened one at a time, so open fds stay at the tree's depth. */
  subfolders: string[];
  owned: boolean;
  /** Folders between it and the chat folder (0: the chat folder). */
  depth: number;
}

/**
 * Walks a chat folder synchronously, never following a symlink: a symlink (file or folder,
 * wherever it points) is never part of the result. Each folder is opened `O_DIRECTORY|O_NOFOLLOW`
 * relative to its parent's fd and listed through its own fd (see folder-fd.ts): a folder swapped
 * for a symlink mid-walk is never entered, and every name comes from a folder of the workspace.
 * Files and folders that vanish or cannot be read mid-walk are left out; other errors throw.
 * Folders deeper than `MAX_FOLDER_DEPTH` are not entered, so a walk holds at most that many fds.
 *
 * Synchronous on purpose: one `lstat` per file is the whole cost of a walk, and the promise
 * API spends more on each call than the system call itself. Run it on a worker thread
 * (`WorkspaceWalker`) so the event loop never waits for it.
 */
export function walkWorkspaceSync(root: string | WalkRoot, policy: TrackingPolicy): PackedWalk;
/**
 * With `maxEntries`: gives up (null) once it has seen more folder entries than that, having
 * spent at most that many steps: how a caller walks small workspaces inline and sends the rest
 * to a thread.
 */
export function walkWorkspaceSync(
  root: string | WalkRoot,
  policy: TrackingPolicy,
  options: { maxEntries: number },
): PackedWalk | null;
export function walkWorkspaceSync(
  root: string | WalkRoot,
  policy: TrackingPolicy,
  options?: { maxEntries: number },
): PackedWalk | null {
  const maxEntries = options?.maxEntries ?? Number.POSITIVE_INFINITY;
  const start: WalkRoot = typeof root === 'string' ? { path: root } : root;
  let seen = 0;
  const paths: string[] = [];
  const numbers: number[] = [];
  const add = (rel: string, stats: Stats) => {
    paths.push(rel);
    numbers.push(stats.size, Math.trunc(stats.mtimeMs), stats.ino, stats.nlink);
  };

  let rootFolder: FolderRef;
  let ownsRoot = true;
  if (start.fd !== undefined && procFdAvailable()) {
    rootFolder = { fd: start.fd, path: start.path };
    ownsRoot = false;
  } else {
    try {
      rootFolder = openRootSync(
        start.path,
        start.dev !== undefined && start.ino !== undefined ? { dev: start.dev, ino: start.ino } : undefined,
      );
    } catch (error) {
      if (ignorable(error)) return { paths: '', count: 0, stats: new Float64Array(0) };
      throw error;
    }
  }
  const stack: Visit[] = [];
  try {
    const first = visit(rootFolder, '', ownsRoot, 0);
    if (!first) return null;
    stack.push(first);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const name = top.subfolders.pop();
      if (name === undefined) {
        stack.pop();
        if (top.owned) closeSync(top.folder.fd);
        continue;
      }
      let child: FolderRef;
      try {
        child = openFolderSync(top.folder, name);
      } catch (error) {
        if (ignorable(error)) continue;
        throw error;
      }
      const rel = top.rel ? `${top.rel}/${name}` : name;
      let next: Visit | null;
      try {
        next = visit(child, rel, true, top.depth + 1);
      } catch (error) {
        closeSync(child.fd);
        throw error;
      }
      if (!next) {
        closeSync(child.fd);
        return null;
      }
      stack.push(next);
    }
  } finally {
    for (const open of stack) if (open.owned) closeSync(open.folder.fd);
  }
  return { paths: paths.join('\0'), count: paths.length, stats: Float64Array.from(numbers) };

  /** Lists one folder through its fd: records its files, returns its subfolders; null past maxEntries. */
  function visit(folder: FolderRef, rel: string, owned: boolean, depth: number): Visit | null {
    const found: Visit = { folder, rel, subfolders: [], owned, depth };
    let dir: Dir;
    try {
      dir = opendirSync(listingPath(folder), { bufferSize: 128 });
    } catch (error) {
      if (ignorable(error)) return found;
      throw error;
    }
    try {
      for (let entry = readEntry(dir); entry !== null; entry = readEntry(dir)) {
        if (++seen > maxEntries) return null;
        visitEntry(found, entry);
      }
    } finally {
      dir.closeSync();
    }
    return found;
  }

  function visitEntry(parent: Visit, entry: Dirent): void {
    if (entry.isSymbolicLink()) return;
    if (entry.isDirectory()) {
      if (parent.depth < MAX_FOLDER_DEPTH && policy.includesDirectory(entry.name)) parent.subfolders.push(entry.name);
      return;
    }
    if (entry.isBlockDevice() || entry.isCharacterDevice() || entry.isFIFO() || entry.isSocket()) return;
    const rel = parent.rel ? `${parent.rel}/${entry.name}` : entry.name;
    const knownFile = entry.isFile();
    if (knownFile && !policy.tracks(rel)) return;
    let stats: Stats | undefined;
    try {
      // By path, not through /proc/self/fd: half the cost of a walk (measured: a relative lstat
      // costs ~1.8x). The name came from the folder's own fd listing; if an ancestor was swapped
      // since, this lstat may describe a file elsewhere, but nothing trusts it alone: the copy
      // reopens the file relative to the folder fds and refuses another inode, and a limit is
      // reported only after the same check (ArtifactRecorder).
      stats = lstatSync(`${parent.folder.path}/${entry.name}`, { throwIfNoEntry: false });
    } catch (error) {
      if (ignorable(error)) return;
      if (errnoOf(error) !== 'ENAMETOOLONG') throw error;
      // A path past PATH_MAX (long names, deep folders): through the folder's fd instead.
      stats = lstatEntry(parent.folder, entry.name);
    }
    if (!stats) return;
    if (knownFile) {
      if (stats.isFile()) add(rel, stats);
    } else if (stats.isDirectory()) {
      // Unknown dirent type (some file systems): lstat told us.
      if (parent.depth < MAX_FOLDER_DEPTH && policy.includesDirectory(entry.name)) parent.subfolders.push(entry.name);
    } else if (stats.isFile() && policy.tracks(rel)) {
      add(rel, stats);
    }
  }
}

function lstatEntry(folder: FolderRef, name: string): Stats | undefined {
  try {
    return lstatSync(entryPath(folder, name), { throwIfNoEntry: false });
  } catch (error) {
    if (ignorable(error) || errnoOf(error) === 'ENAMETOOLONG') return undefined;
    throw error;
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
