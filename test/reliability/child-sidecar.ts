/**
 * A whole sidecar in a process of its own (sidecar-child.ts), so a test can read that process's
 * memory alone from /proc: its RSS now and its peak (VmHWM) since it started.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MiB = 1024 * 1024;
const childEntry = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sidecar-child.ts');

export interface ChildSidecar {
  process: ChildProcess;
  /** `http://127.0.0.1:port/` */
  base: string;
  /** RSS right after it started listening. */
  idleRss: number;
  rss(): number;
  /** Peak RSS since the process started (the kernel's high-water mark). */
  peakRss(): number;
  stop(): Promise<void>;
}

const statusField = (pid: number, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

export const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

/** A sidecar on `dir` with no kernel behind it (only the files API is used) and `env` as its options. */
export async function startChildSidecar(dir: string, env: Record<string, string> = {}): Promise<ChildSidecar> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      childEntry,
      JSON.stringify({
        dir,
        workspaceRoot: path.join(dir, 'workspaces'),
        jupyterUrl: 'http://127.0.0.1:9/',
        token: '',
        env,
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const base = await new Promise<string>((resolve, reject) => {
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const match = /^url (\S+)$/m.exec(pending);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`the sidecar exited (${code})`)));
  });
  const pid = child.pid!;
  return {
    process: child,
    base,
    idleRss: statusField(pid, 'VmRSS'),
    rss: () => statusField(pid, 'VmRSS'),
    peakRss: () => statusField(pid, 'VmHWM'),
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
