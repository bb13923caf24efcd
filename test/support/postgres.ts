/**
 * A throwaway PostgreSQL cluster for tests: Debian's binaries, `initdb` into a temp folder, a
 * free 127.0.0.1 port and a unix socket folder inside the temp folder; stopped and removed after.
 * initdb refuses to run as root, so as root the cluster runs as the `postgres` user.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://… with the test password, for `--database-url`. */
  url: string;
  port: number;
  dir: string;
  /** A database of its own on this cluster (created empty), as a URL. */
  createDatabase(name: string): Promise<string>;
  /** pg_ctl stop -m fast, then start again on the same port (the fault tests). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** False between stop() and start(). */
  isRunning(): boolean;
  /**
   * SIGSTOP every process of the server, then SIGCONT: while frozen, connections are accepted (by
   * the kernel's backlog) and nothing answers, as with a hung host or a network dropping packets.
   */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Stops the server and removes its folder. */
  destroy(): Promise<void>;
}

function binDir(): string {
  for (const version of ['17', '16', '15', '14', '13']) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (existsSync(path.join(dir, 'initdb'))) return dir;
  }
  throw new Error("PostgreSQL is not installed (scripts/setup.sh installs Debian's postgresql).");
}

export const TEST_PASSWORD = 'test-password-not-secret';

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = binDir();
  const asRoot = userInfo().uid === 0;
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-pg-'));
  const dataDir = path.join(dir, 'data');
  const socketDir = dir;
  const pwFile = path.join(dir, 'pw');
  await writeFile(pwFile, TEST_PASSWORD);
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
    await chown(pwFile, Number(stdout.trim()), Number(gid.trim()));
  }
  await chmod(dir, 0o700);
  const as = (command: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
  const user = asRoot ? 'postgres' : userInfo().username;
  await as(path.join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-U',
    user,
    '--auth=scram-sha-256',
    `--pwfile=${pwFile}`,
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  const port = await freePort();
  const options = `-p ${port} -k ${socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await as(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-o', options, '-l', path.join(dir, 'log'), '-w', 'start']);
  };
  const stop = async () => {
    await as(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
  };
  await start();
  const serverPids = async () => {
    const postmaster = (await readFile(path.join(dataDir, 'postmaster.pid'), 'utf8')).split('\n', 1)[0]!.trim();
    const { stdout } = await run('pgrep', ['-P', postmaster]).catch(() => ({ stdout: '' }));
    return [postmaster, ...stdout.split('\n').filter(Boolean)];
  };
  let frozen: string[] = [];
  const url = `postgres://${user}:${TEST_PASSWORD}@127.0.0.1:${port}/postgres`;
  let stopped = false;
  return {
    url,
    port,
    dir,
    async createDatabase(name) {
      await new Promise<void>((resolve, reject) => {
        const psql = spawn(
          path.join(bin, 'psql'),
          [
            '-h',
            '127.0.0.1',
            '-p',
            String(port),
            '-U',
            user,
            '-d',
            'postgres',
            '-v',
            'ON_ERROR_STOP=1',
            '-c',
            `CREATE DATABASE "${name}"`,
          ],
          {
            env: { ...process.env, PGPASSWORD: TEST_PASSWORD },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        let err = '';
        psql.stderr.on('data', (d: Buffer) => (err += d.toString()));
        psql.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`CREATE DATABASE ${name}: ${err}`))));
      });
      return url.replace(/\/postgres$/, `/${name}`);
    },
    stop: async () => {
      await stop();
      stopped = true;
    },
    start: async () => {
      await start();
      stopped = false;
    },
    isRunning: () => !stopped,
    async freeze() {
      frozen = await serverPids();
      await run('kill', ['-STOP', ...frozen]);
    },
    async thaw() {
      if (frozen.length > 0) await run('kill', ['-CONT', ...frozen]);
      frozen = [];
    },
    async destroy() {
      if (frozen.length > 0) await run('kill', ['-CONT', ...frozen]).catch(() => {});
      if (!stopped) await stop().catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
