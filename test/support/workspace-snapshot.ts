import { openWorkspace, walkSnapshot, type WorkspaceSnapshot } from '../../proxy/workspace/workspace-snapshot.ts';
import type { TrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';
import type { WorkspaceWalker } from '../../proxy/workspace/workspace-walker.ts';

export interface SnapshotOptions {
  policy: TrackingPolicy;
  /** Real path of the workspace root: the chat folder must resolve inside it. */
  realRoot: string;
  /** Worker threads to walk on; without one the walk blocks this thread. */
  walker?: WorkspaceWalker;
  /** A walk on a worker thread fails with ERR_SCAN_TIMEOUT after this long. */
  timeoutMs?: number;
}

/**
 * Snapshots a chat workspace as a scan does (`openWorkspace`, then `walkSnapshot` from its fd),
 * in one call for tests and benches. A missing workspace is an empty snapshot. With a `walker`
 * the walk runs on its worker threads; without one it runs right here, blocking.
 */
export async function snapshotWorkspace(dir: string, options: SnapshotOptions): Promise<WorkspaceSnapshot> {
  const workspace = await openWorkspace(dir, options.realRoot);
  if (workspace === null) return new Map();
  try {
    return await walkSnapshot(workspace, options.policy, options.walker, options.timeoutMs);
  } finally {
    await workspace.close();
  }
}
