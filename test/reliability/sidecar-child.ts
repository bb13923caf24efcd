/**
 * Child process for sidecar-process.ts (large-frames, held-requests): a whole sidecar in front of the test's Jupyter Server,
 * in a process of its own so the test can read its RSS alone. Prints `url <url>` when listening.
 * SIGUSR2 runs a full GC and prints `gc <rss>` (run with --expose-gc), so "memory came back" is
 * measured after a collection rather than whenever V8 feels like one, followed by the longest
 * stretch its event loop was blocked since the last such line; SIGTERM closes it cleanly.
 * Arguments: a JSON object { dir, workspaceRoot, jupyterUrl, token, env }.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startSidecar, type TestBed } from '../support/harness.ts';

const args = JSON.parse(process.argv[2]!) as {
  dir: string;
  workspaceRoot: string;
  jupyterUrl: string;
  token: string;
  env: Record<string, string>;
};
const bed = {
  dir: args.dir,
  workspaceRoot: args.workspaceRoot,
  jupyter: { url: args.jupyterUrl, token: args.token },
} as TestBed;
const proxy = await startSidecar(bed, {}, {}, args.env);
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();
process.on('SIGUSR2', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  // One turn of the loop lets sockets finish the writes they were completing, then collect again.
  setImmediate(() => {
    gc?.();
    report();
  });
});
function report(): void {
  const { rss, heapUsed, arrayBuffers } = process.memoryUsage();
  const blockedMs = Math.round(loopDelay.max / 1e6);
  loopDelay.reset();
  process.stdout.write(`gc ${rss} ${heapUsed} ${arrayBuffers} ${blockedMs}\n`);
}
process.on('SIGTERM', () => {
  void proxy.stop().then(() => process.exit(0));
});
process.stdout.write(`url ${proxy.url}\n`);
