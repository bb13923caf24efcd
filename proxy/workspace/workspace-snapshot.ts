import path from 'node:path';
import { errnoOf, openFolderAt, type OpenFolder } from './folder-fd.ts';
import type { TrackingPolicy } from './tracking-policy.ts';
import { STATS_PER_FILE, walkWorkspaceSync, type PackedWalk, type WalkRoot } from './workspace-walk.ts';
import type { WorkspaceWalker } from './workspace-walker.ts';
import { SidecarError } from '../errors.ts';

export interface SnapshotEntry {
  size: number;
  /** Truncated to whole milliseconds: what a record's ISO `modifiedAt` can hold. */
  mtimeMs: number;
  ino: number;
  /** Hard links to the inode (1 for a file no one linked elsewhere). */
  nlink: number;
}

/** relPath (POSIX, relative to the workspace) -> what lstat said. */
export type WorkspaceSnapshot = Map<string, SnapshotEntry>;

/** Its message names the server path: clients get the fixed one errors.ts gives the code. */
export class WorkspaceOutsideRootError extends SidecarError<'ERR_WORKSPACE_OUTSIDE_ROOT'> {
  constructor(dir: string) {
    super(
      'ERR_WORKSPACE_OUTSIDE_ROOT',
      `Workspace ${dir} is a symlink or resolves outside the workspace root; it is not scanned.`,
    );
  }
}

/** Where the chat folder `dir` is under the real workspace root (what `openWorkspace` opens). */
export function workspaceRealPath(dir: string, realRoot: string): string {
  return path.join(realRoot, path.basename(dir));
}

/**
 * Opens the chat folder `dir` (right under the workspace root) as a folder fd: everything the
 * sidecar then reads or writes in the workspace is reached relative to it. Null when it does not
 * exist; a symlink or anything but a real folder there throws (`O_NOFOLLOW|O_DIRECTORY` on the
 * real root's child, so no check-then-use gap).
 */
export async function openWorkspace(dir: string, realRoot: string): Promise<OpenFolder | null> {
  try {
    return await openFolderAt(workspaceRealPath(dir, realRoot));
  } catch (error) {
    const errno = errnoOf(error);
    if (errno === 'ENOENT') return null;
    if (errno === 'ELOOP' || errno === 'ENOTDIR') throw new WorkspaceOutsideRootError(dir);
    throw error;
  }
}

/** Turns a packed walk back into a snapshot. */
function unpackWalk(walk: PackedWalk): WorkspaceSnapshot {
  const result: WorkspaceSnapshot = new Map();
  if (walk.count === 0) return result;
  const paths = walk.paths.split('\0');
  for (let i = 0; i < walk.count; i++) {
    const at = STATS_PER_FILE * i;
    result.set(paths[i]!, {
      size: walk.stats[at]!,
      mtimeMs: walk.stats[at + 1]!,
      ino: walk.stats[at + 2]!,
      nlink: walk.stats[at + 3]!,
    });
  }
  return result;
}

/**
 * Snapshots a chat folder `openWorkspace` opened: the walk starts from that fd (or, without
 * /proc, from its path checked against the fd's device and inode), so a folder swapped or moved
 * meanwhile does not redirect it. Keep the folder open until the walk is done.
 */
export async function walkSnapshot(
  workspace: OpenFolder,
  policy: TrackingPolicy,
  walker?: WorkspaceWalker,
  timeoutMs?: number,
): Promise<WorkspaceSnapshot> {
  const stats = await workspace.handle.stat();
  const root: WalkRoot = { path: workspace.path, fd: workspace.fd, dev: stats.dev, ino: stats.ino };
  return unpackWalk(walker ? await walker.walk(root, policy, { timeoutMs }) : walkWorkspaceSync(root, policy));
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
