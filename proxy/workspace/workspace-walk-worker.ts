/** Worker-thread entry of `WorkspaceWalker`: one walk per message, answered in order. */
import { parentPort } from 'node:worker_threads';
import { createTrackingPolicy, type TrackingPolicyOptions } from './tracking-policy.ts';
import { walkWorkspaceSync, type WalkRoot } from './workspace-walk.ts';

export interface WalkRequest {
  root: WalkRoot;
  policy: TrackingPolicyOptions;
}

export type WalkResponse =
  | { ok: true; paths: string; count: number; stats: Float64Array }
  | { ok: false; message: string; code: string | undefined };

const port = parentPort;
if (!port) throw new Error('workspace-walk-worker runs only as a worker thread');

port.on('message', (request: WalkRequest) => {
  let response: WalkResponse;
  let transfer: ArrayBuffer[] = [];
  try {
    const walk = walkWorkspaceSync(request.root, createTrackingPolicy(request.policy));
    response = { ok: true, ...walk };
    transfer = [walk.stats.buffer as ArrayBuffer];
  } catch (error) {
    const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : undefined;
    response = { ok: false, message: error instanceof Error ? error.message : String(error), code };
  }
  port.postMessage(response, transfer);
});
