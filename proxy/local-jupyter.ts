import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { httpCall } from './http-call.ts';

/** Debian's Python: the one that has Jupyter here (the `python3` on PATH may not). */
export const DEFAULT_JUPYTER_PYTHON = process.env.JUPYTER_PYTHON ?? '/usr/bin/python3';

export interface LocalJupyterOptions {
  /** The folder Jupyter serves and starts kernels in (its root_dir). */
  rootDir: string;
  python?: string;
  host?: string;
  port?: number;
  /** Generated when not given. Empty string turns token auth off (only with a password). */
  token?: string;
  /** A plain password; hashed with Jupyter's own passwd() before it is passed on. */
  password?: string;
  /** Jupyter's base_url, e.g. `/jupyter/`. */
  baseUrl?: string;
  /** More `--ServerApp.*` arguments (tests raise Tornado's 10 MiB WebSocket message limit with them). */
  extraArgs?: string[];
  /** Seconds to wait for it to answer. */
  startTimeoutMs?: number;
  /** Where Jupyter's own log goes; inherited stderr when `inherit`, dropped by default. */
  log?: 'inherit' | 'ignore';
}

export interface LocalJupyter {
  url: string;
  token: string;
  rootDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function hashPassword(python: string, password: string): Promise<string> {
  const child = spawn(
    python,
    ['-c', 'import sys; from jupyter_server.auth import passwd; print(passwd(sys.stdin.read()))'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  child.stdin.end(password);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code: number = await new Promise((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  if (code !== 0) throw new Error(`could not hash the Jupyter password with ${python}`);
  return out.trim();
}

/**
 * Start a real Jupyter Server (Debian's /usr/bin/python3 -m jupyter_server) on loopback and
 * wait until it answers. Used by `npm start` when no gateway is given, and by the tests.
 */
export async function startLocalJupyter(options: LocalJupyterOptions): Promise<LocalJupyter> {
  const python = options.python ?? DEFAULT_JUPYTER_PYTHON;
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? (await freePort(host));
  const token = options.token ?? randomBytes(24).toString('hex');
  const baseUrl = options.baseUrl ?? '/';
  const rootDir = path.resolve(options.rootDir);
  await mkdir(rootDir, { recursive: true });
  const args = [
    '-m',
    'jupyter_server',
    '--allow-root',
    '--no-browser',
    `--ServerApp.ip=${host}`,
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${rootDir}`,
    `--ServerApp.token=${token}`,
    `--ServerApp.base_url=${baseUrl}`,
    // Each test and demo run is fresh: no stale kernels or sessions from an earlier one.
    '--ServerApp.open_browser=False',
  ];
  if (options.password !== undefined) {
    args.push(`--ServerApp.password=${await hashPassword(python, options.password)}`);
  }
  args.push(...(options.extraArgs ?? []));
  const child = spawn(python, args, {
    stdio: ['ignore', 'ignore', options.log === 'inherit' ? 'inherit' : 'ignore'],
    env: {
      ...process.env,
      JUPYTER_RUNTIME_DIR: path.join(rootDir, '.jupyter-runtime'),
      PYTHONUNBUFFERED: '1',
      PYDEVD_DISABLE_FILE_VALIDATION: '1',
    },
  });
  let exited = false;
  child.once('exit', () => (exited = true));

  const url = `http://${host}:${port}${baseUrl.replace(/\/?$/, '/')}`;
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited)
      throw new Error(
        `Jupyter Server exited during start (${python} -m jupyter_server). Is python3-jupyter-server installed?`,
      );
    try {
      const { status } = await httpCall(new URL('api', url), { timeoutMs: 2000, maxBodyBytes: 0 });
      if (status >= 200 && status < 300) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Jupyter Server did not answer on ${url} in time`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }

  return {
    url,
    token,
    rootDir,
    process: child,
    async stop() {
      if (exited) return;
      const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await done;
      clearTimeout(timer);
    },
  };
}
