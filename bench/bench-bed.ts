import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/free-port.ts';
import { startTestBed, type TestBed } from '../test/support/harness.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';
import { writeJupyterConfig } from './jupyter-nodelay.ts';

/** A real Jupyter Server and the compiled sidecar as a child process in front of it, both on 127.0.0.1. */
export interface BenchBed {
  bed: TestBed;
  /** The gateway, for direct connections (ends in `/`). */
  gatewayUrl: string;
  token: string;
  /** The sidecar (ends in `/`). */
  sidecarUrl: string;
  sidecar: ChildProcess;
  workspaceRoot: string;
  dataDir: string;
  /** A scratch folder for the scenarios, outside the workspaces. */
  scratch: string;
  quick: boolean;
  /** The sidecar's RSS once it answered its first request. */
  startRss: number;
  /** A fresh sidecar process on the same port and data: what a scenario measures starts clean. */
  restartSidecar(): Promise<void>;
  stop(): Promise<void>;
}

export interface BenchKernel {
  id: string;
  /** Where it was created: through a chat prefix of the sidecar, or at the gateway. */
  via: 'sidecar' | 'direct';
  chatId: string | null;
  connect(format?: 'legacy' | 'v1'): Promise<RawKernelClient>;
  shutdown(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '..');

/** The sidecar is measured as deployed: compiled (`npm run build:proxy`), not under tsx. */
async function buildSidecar(): Promise<void> {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  await new Promise<void>((resolve, reject) => {
    const build = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    build.on('error', reject);
    build.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`building the sidecar failed (tsc exit ${code})`)),
    );
  });
}

/**
 * Jupyter Server's IOPub rate limits (1 MB/s, 1000 msg/s by default) would drop output-heavy runs
 * in both paths alike, so they are off. `nodelay`: a server patched to turn Nagle's algorithm off
 * on its kernel sockets (see jupyter-nodelay.ts), to see what the sidecar itself adds. `mcp`: the
 * sidecar serves MCP too (it loads the MCP SDK only then).
 */
export async function startBenchBed(options: { quick: boolean; nodelay?: boolean; mcp?: boolean }): Promise<BenchBed> {
  const configParent = await mkdtemp(path.join(tmpdir(), 'gf-bench-'));
  const configDir = await writeJupyterConfig(path.join(configParent, 'jupyter-config'), options.nodelay ?? false);
  // Read by the Jupyter Server startTestBed spawns; set only while it starts.
  const previous = process.env.JUPYTER_CONFIG_DIR;
  process.env.JUPYTER_CONFIG_DIR = configDir;
  const bed = await startTestBed().finally(() => {
    if (previous === undefined) delete process.env.JUPYTER_CONFIG_DIR;
    else process.env.JUPYTER_CONFIG_DIR = previous;
  });
  const dataDir = path.join(bed.dir, 'store');
  const scratch = path.join(bed.dir, 'scratch');
  await mkdir(scratch, { recursive: true });
  await buildSidecar();
  const port = await freePort();
  const log = createWriteStream(path.join(bed.dir, 'sidecar.log'));
  const sidecarUrl = `http://127.0.0.1:${port}/`;
  const args = [
    // As the bin runs it: the node flags of its shebang line.
    ...(await shebangNodeFlags(path.join(ROOT, 'dist/proxy/main.js'))),
    // e.g. BENCH_SIDECAR_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the sidecar.
    ...(process.env.BENCH_SIDECAR_NODE_ARGS ? process.env.BENCH_SIDECAR_NODE_ARGS.split(' ') : []),
    'dist/proxy/main.js',
    '--gateway-url',
    bed.jupyter.url,
    '--port',
    String(port),
    '--workspace-root',
    bed.workspaceRoot,
    '--data-dir',
    dataDir,
    // The 1 GiB download must be kept, and the bulk scenarios must not hit the chat quota.
    '--max-file-mb',
    '2048',
    '--chat-quota-mb',
    '1000000',
    '--upload-max-mb',
    '2048',
    // Loopback callers only: no key.
    ...(options.mcp ? ['--mcp', '--mcp-max-kernels', '100'] : []),
    ...(process.env.BENCH_SIDECAR_ARGS ? process.env.BENCH_SIDECAR_ARGS.split(' ') : []),
  ];
  const startSidecar = async (): Promise<ChildProcess> => {
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FILES_API_SECRET: '', MCP_API_KEY: '', GATEWAY_TOKEN: bed.jupyter.token },
    });
    child.stdout!.pipe(log, { end: false });
    child.stderr!.pipe(log, { end: false });
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`the sidecar exited during start; see ${path.join(bed.dir, 'sidecar.log')}`);
      try {
        if ((await fetch(`${sidecarUrl}sidecar/v1/health`)).ok) return child;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('the sidecar did not answer in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stopSidecar = async (child: ChildProcess) => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(force);
  };
  const sidecar = await startSidecar();
  const benchBed: BenchBed = {
    bed,
    gatewayUrl: bed.jupyter.url,
    token: bed.jupyter.token,
    sidecarUrl,
    sidecar,
    workspaceRoot: bed.workspaceRoot,
    dataDir,
    scratch,
    quick: options.quick,
    startRss: await rssBytes(sidecar.pid!),
    async restartSidecar() {
      await stopSidecar(benchBed.sidecar);
      benchBed.sidecar = await startSidecar();
    },
    async stop() {
      await stopSidecar(benchBed.sidecar);
      log.end();
      await bed.stop();
      await rm(configParent, { recursive: true, force: true });
    },
  };
  return benchBed;
}

/** Starts a kernel through the sidecar's chat prefix (tracking on for that chat) or at the gateway. */
export async function startKernel(
  bench: BenchBed,
  via: 'sidecar' | 'direct',
  chatId: string | null = null,
): Promise<BenchKernel> {
  const base = via === 'sidecar' ? `${bench.sidecarUrl}chats/${chatId}/` : bench.gatewayUrl;
  const res = await fetch(`${base}api/kernels?token=${bench.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'python3' }),
  });
  if (!res.ok) throw new Error(`creating a kernel via ${via}: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const wsBase = base.replace(/^http/, 'ws');
  return {
    id,
    via,
    chatId,
    connect: (format = 'legacy') =>
      RawKernelClient.connect(`${wsBase}api/kernels/${id}/channels?token=${bench.token}`, format),
    async shutdown() {
      await fetch(`${bench.gatewayUrl}api/kernels/${id}?token=${bench.token}`, { method: 'DELETE' }).catch(() => {});
    },
  };
}

/** Connects to a kernel the way a second client would: its own session, through the sidecar or not. */
export function connectTo(
  bench: BenchBed,
  kernelId: string,
  via: 'sidecar' | 'direct',
  chatId: string | null,
  format: 'legacy' | 'v1' = 'legacy',
) {
  const base = via === 'sidecar' ? `${bench.sidecarUrl}chats/${chatId}/` : bench.gatewayUrl;
  return RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?token=${bench.token}`,
    format,
  );
}

/** The node flags in a script's `#!/usr/bin/env -S node --flag ...` line. */
async function shebangNodeFlags(script: string): Promise<string[]> {
  const first = (await readFile(script, 'utf8')).split('\n', 1)[0]!;
  const words = first
    .replace(/^#!\S*env\s+(-S\s+)?/, '')
    .split(/\s+/)
    .filter(Boolean);
  return words[0] === 'node' ? words.slice(1) : [];
}

/** Resident set size of a process, from /proc (bytes). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : Number.NaN;
}

/** Samples a process's RSS every `everyMs` until stopped; returns the peak and the samples. */
export function sampleRss(pid: number, everyMs = 25) {
  let peak = 0;
  let stopped = false;
  const samples: number[] = [];
  const loop = (async () => {
    while (!stopped) {
      try {
        const rss = await rssBytes(pid);
        samples.push(rss);
        if (rss > peak) peak = rss;
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop(): Promise<{ peak: number; samples: number[] }> {
      stopped = true;
      await loop;
      return { peak, samples };
    },
  };
}

/** CPU time (user + system) a process has used so far, in ms, from /proc/PID/stat (process time, not wall time). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, in parentheses): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / CLOCK_TICKS_PER_S;
}

/** USER_HZ: 100 on every Linux build the bench runs on (getconf CLK_TCK). */
const CLOCK_TICKS_PER_S = 100;

export const MB = 1024 * 1024;
