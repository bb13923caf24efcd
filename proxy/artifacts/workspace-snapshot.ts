import { realpath } from 'node:fs/promises';
import path from 'node:path';
import type { TrackingPolicy } from './tracking-policy.ts';
import { walkWorkspaceSync, type PackedWalk } from './workspace-walk.ts';
import type { WorkspaceWalker } from './workspace-walker.ts';

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
  /** Worker threads to walk on; without one the walk blocks this thread. */
  walker?: WorkspaceWalker;
}

export class WorkspaceOutsideRootError extends Error {
  readonly code = 'ERR_WORKSPACE_OUTSIDE_ROOT';
  constructor(dir: string) {
    super(`Workspace ${dir} is a symlink or resolves outside the workspace root; it is not scanned.`);
  }
}

/**
 * The chat folder's real path, or null when it does not exist. `dir` is a chat folder right under
 * the workspace root; anything but a real folder there (a symlink, wherever it points: it could
 * point at another chat) throws. One `realpath` tells both.
 */
export async function resolveWorkspace(dir: string, realRoot: string): Promise<string | null> {
  let realDir: string;
  try {
    realDir = await realpath(dir);
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw error;
  }
  if (realDir !== path.join(realRoot, path.basename(dir))) throw new WorkspaceOutsideRootError(dir);
  return realDir;
}

export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Turns a packed walk back into a snapshot. */
export function unpackWalk(walk: PackedWalk): WorkspaceSnapshot {
  const result: WorkspaceSnapshot = new Map();
  if (walk.count === 0) return result;
  const paths = walk.paths.split('\0');
  for (let i = 0; i < walk.count; i++) {
    result.set(paths[i]!, { size: walk.stats[3 * i]!, mtimeMs: walk.stats[3 * i + 1]!, ino: walk.stats[3 * i + 2]! });
  }
  return result;
}

/**
 * Snapshots a chat workspace without following symlinks (see `walkWorkspaceSync`).
 * A missing workspace is an empty snapshot. With a `walker` the walk runs on its worker
 * threads; without one it runs right here, blocking (fine for tools and tests).
 */
export async function snapshotWorkspace(dir: string, options: SnapshotOptions): Promise<WorkspaceSnapshot> {
  const realDir = await resolveWorkspace(dir, options.realRoot);
  if (realDir === null) return new Map();
  return walkSnapshot(realDir, options.policy, options.walker);
}

/**
 * Snapshots a folder `resolveWorkspace` already resolved. The real folder is walked, so a parent
 * swapped for a symlink later does not redirect the walk.
 */
export async function walkSnapshot(realDir: string, policy: TrackingPolicy, walker?: WorkspaceWalker): Promise<WorkspaceSnapshot> {
  return unpackWalk(walker ? await walker.walk(realDir, policy) : walkWorkspaceSync(realDir, policy));
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
