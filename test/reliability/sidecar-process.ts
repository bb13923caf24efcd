/**
 * A whole sidecar in a process of its own (sidecar-child.ts) in front of a test bed's Jupyter
 * Server, so a test can read its memory alone: its RSS from /proc, and after a full GC from the
 * line it prints on SIGUSR2.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestBed } from '../support/harness.ts';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sidecar-child.ts');

export interface SettledMemory {
  rss: number;
  heap: number;
  buffers: number;
  /** The longest the sidecar's event loop was blocked since the last reading. */
  blockedMs: number;
}

export interface SidecarProcess {
  readonly process: ChildProcess;
  readonly url: string;
  /** The next line it prints that starts with `prefix`, without the prefix. */
  nextLine(prefix: string): Promise<string>;
  /** RSS, JS heap and Buffer bytes after a full GC in the sidecar. */
  settledMemory(): Promise<SettledMemory>;
}

/** Starts it with `env` (the sidecar's options) and resolves once it listens; rejects if it exits first. */
export async function startSidecarProcess(bed: TestBed, env: Record<string, string>): Promise<SidecarProcess> {
  const sidecar = spawn(
    process.execPath,
    [
      '--expose-gc',
      // V8 frees a collected ArrayBuffer's memory on a helper thread after gc() returns, so a reading
      // taken just then can still count a frame already let go (CI once saw one 24 MiB frame so).
      '--no-concurrent-array-buffer-sweeping',
      '--import',
      'tsx',
      child,
      JSON.stringify({
        dir: bed.dir,
        workspaceRoot: bed.workspaceRoot,
        jupyterUrl: bed.jupyter.url,
        token: bed.jupyter.token,
        env,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lineWaiters: Array<(line: string) => boolean> = [];
  const nextLine = (prefix: string) =>
    new Promise<string>((resolve) =>
      lineWaiters.push((line) => (line.startsWith(prefix) ? (resolve(line.slice(prefix.length)), true) : false)),
    );
  let pending = '';
  sidecar.stdout!.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop()!;
    for (const line of parts) {
      const i = lineWaiters.findIndex((w) => w(line));
      if (i !== -1) lineWaiters.splice(i, 1);
    }
  });
  const exited = new Promise<never>((_, reject) =>
    sidecar.once('exit', (code) => reject(new Error(`the sidecar exited (${code})`))),
  );
  exited.catch(() => {}); // only a failure while it starts
  const url = (await Promise.race([nextLine('url '), exited])).trim();
  return {
    process: sidecar,
    url,
    nextLine,
    async settledMemory() {
      const answer = nextLine('gc ');
      sidecar.kill('SIGUSR2');
      const [rss, heap, buffers, blockedMs] = (await answer).split(' ').map(Number) as [number, number, number, number];
      return { rss, heap, buffers, blockedMs };
    },
  };
}
