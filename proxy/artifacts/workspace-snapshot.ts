import type { Dirent } from 'node:fs';
import { lstat, readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import type { TrackingPolicy } from './tracking-policy.ts';

export interface SnapshotEntry {
  size: number;
  /** Truncated to whole milliseconds: what a record's ISO `modifiedAt` can hold. */
  mtimeMs: number;
  ino: number;
}

/** relPath (POSIX, relative to the workspace) -> what lstat said. */
export type WorkspaceSnapshot = Map<string, SnapshotEntry>;

export interface SnapshotOptions {
  policy: TrackingPolicy;
  /** Real path of the workspace root: the chat folder must resolve inside it. */
  realRoot: string;
  /** How many readdir/lstat calls run at once. */
  concurrency?: number;
}

export class WorkspaceOutsideRootError extends Error {
  readonly code = 'ERR_WORKSPACE_OUTSIDE_ROOT';
  constructor(dir: string) {
    super(`Workspace ${dir} is a symlink or resolves outside the workspace root; it is not scanned.`);
  }
}

/**
 * The chat folder's real path, or null when it does not exist. Throws when it is a symlink
 * (it could point at another chat) or resolves outside the real workspace root.
 */
export async function resolveWorkspace(dir: string, realRoot: string): Promise<string | null> {
  let realDir: string;
  try {
    if ((await lstat(dir)).isSymbolicLink()) throw new WorkspaceOutsideRootError(dir);
    realDir = await realpath(dir);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
  if (!isInside(realRoot, realDir) || realDir === realRoot) throw new WorkspaceOutsideRootError(dir);
  return realDir;
}

export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

const IGNORED_WALK_ERRORS = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'ELOOP']);

function ignorable(error: unknown): boolean {
  return error instanceof Error && 'code' in error && IGNORED_WALK_ERRORS.has(String(error.code));
}

/**
 * Walks a chat workspace without following symlinks: a symlink (file or folder, wherever it
 * points) is never part of a snapshot. Files that vanish mid-walk are left out.
 * A missing workspace is an empty snapshot.
 */
export async function snapshotWorkspace(dir: string, options: SnapshotOptions): Promise<WorkspaceSnapshot> {
  const result: WorkspaceSnapshot = new Map();
  const realDir = await resolveWorkspace(dir, options.realRoot);
  if (realDir === null) return result;
  // Walk the real folder so a parent swapped for a symlink later does not redirect the walk.
  const { policy } = options;
  const limit = Math.max(1, options.concurrency ?? 64);

  const visitFile = async (abs: string, rel: string) => {
    const stats = await lstat(abs, { bigint: false });
    if (!stats.isFile()) return;
    result.set(rel, { size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), ino: stats.ino });
  };

  const visitEntry = async (abs: string, rel: string, entry: Dirent) => {
    if (entry.isSymbolicLink()) return;
    if (entry.isDirectory()) {
      if (policy.includesDirectory(entry.name)) tasks.push(() => visitDir(abs, rel));
      return;
    }
    if (entry.isFile()) {
      if (policy.tracks(rel)) tasks.push(() => visitFile(abs, rel));
      return;
    }
    if (entry.isBlockDevice() || entry.isCharacterDevice() || entry.isFIFO() || entry.isSocket()) return;
    // Unknown dirent type (some file systems): ask lstat.
    tasks.push(async () => {
      const stats = await lstat(abs);
      if (stats.isDirectory() && policy.includesDirectory(entry.name)) tasks.push(() => visitDir(abs, rel));
      else if (stats.isFile() && policy.tracks(rel)) {
        result.set(rel, { size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), ino: stats.ino });
      }
    });
  };

  const visitDir = async (abs: string, rel: string) => {
    const entries = await readdir(abs, { withFileTypes: true });
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      await visitEntry(path.join(abs, entry.name), childRel, entry);
    }
  };

  // A small work pool: tasks are pushed while others run; a stack keeps memory near the tree depth.
  const tasks: Array<() => Promise<void>> = [() => visitDir(realDir, '')];
  await new Promise<void>((resolve, reject) => {
    let active = 0;
    let failed = false;
    const pump = () => {
      if (failed) return;
      while (active < limit && tasks.length > 0) {
        const task = tasks.pop()!;
        active++;
        task()
          .catch((error: unknown) => {
            if (!ignorable(error)) throw error;
          })
          .then(
            () => {
              active--;
              if (active === 0 && tasks.length === 0) resolve();
              else pump();
            },
            (error: unknown) => {
              failed = true;
              reject(error);
            },
          );
      }
    };
    pump();
  });
  return result;
}

export interface KnownFileState {
  size: number;
  mtimeMs: number;
}

export interface SnapshotDiff {
  /** Paths not known before. */
  added: string[];
  /** Known paths whose size or mtime differ. */
  changed: string[];
  /** Known paths no longer present. */
  removed: string[];
}

/** Compares a snapshot with what is known, by size and mtime only (hashing comes later). */
export function diffSnapshot(
  known: ReadonlyMap<string, KnownFileState>,
  current: ReadonlyMap<string, KnownFileState>,
): SnapshotDiff {
  const added: string[] = [];
  const changed: string[] = [];
  const removed: string[] = [];
  for (const [rel, now] of current) {
    const before = known.get(rel);
    if (!before) added.push(rel);
    else if (before.size !== now.size || before.mtimeMs !== now.mtimeMs) changed.push(rel);
  }
  for (const rel of known.keys()) if (!current.has(rel)) removed.push(rel);
  return { added, changed, removed };
}
