/**
 * Scenario 12: two sidecar processes on one PostgreSQL and one shared folder, behind a TCP
 * round-robin balancer, in front of one real Jupyter Server; the baseline is the Jupyter Server
 * itself. Measured on two Jupyter Servers in one run:
 * - the stock one users run: the `1+1` round trip through the balancer vs direct is the goal
 *   row (ratio ≤ 1.05), and 200 connections on 20 kernels through the balancer (scenario 6's
 *   phases, unchanged, with the balancer where scenario 6 has its one sidecar);
 * - one whose kernel sockets have TCP_NODELAY (jupyter-nodelay.ts): the same round trip,
 *   reported. Stock Jupyter Server waits ~40 ms for a delayed ACK on most small messages, and
 *   the sidecar acknowledges each read at once (proxy/gateway/prompt-ack.ts), so on the stock
 *   server the sidecars beat direct; without the stall the rows show what the sidecars cost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { access, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rssBytes, type BenchBed } from './bench-bed.ts';
import { stalledShare, writeJupyterConfig } from './jupyter-nodelay.ts';
import { benchManyKernels } from './many-kernels.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { startRoundRobinBalancer, type RoundRobinBalancer } from './round-robin-balancer.ts';
import { quantile, roundRobin, signedMs, summarize, timed } from './stats.ts';
import { startTestBed, type TestBed } from '../test/support/harness.ts';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCENARIO = '12 two sidecars';
const TAIL_CHARS = 4000;

/** How the sidecars are started: the compiled build as deployed, or the sources under tsx if the build failed. */
interface SidecarEntry {
  args: string[];
  label: string;
}

interface SidecarProcess {
  url: URL;
  child: ChildProcess;
  stop(): Promise<void>;
}

interface Deployment {
  bed: TestBed;
  sidecars: SidecarProcess[];
  balancer: RoundRobinBalancer;
  stop(): Promise<void>;
}

/** Builds the proxy like the bench bed does (so a stale dist/ is never measured); tsx only if that fails. */
async function sidecarEntry(): Promise<SidecarEntry> {
  const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
  const built = await new Promise<boolean>((resolve) => {
    const build = spawn(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
    build.on('error', () => resolve(false));
    build.on('exit', (code) => resolve(code === 0));
  });
  const main = path.join(ROOT, 'dist/proxy/main.js');
  if (built && existsSync(main)) return { args: [main], label: 'the compiled build (dist/proxy/main.js)' };
  console.warn('[bench] building the sidecar failed: two sidecars run proxy/main.ts under tsx');
  return {
    args: ['--import', 'tsx', path.join(ROOT, 'proxy/main.ts')],
    label: 'proxy/main.ts under tsx (the build failed)',
  };
}

async function startSidecarProcess(
  entry: SidecarEntry,
  bed: TestBed,
  databaseUrl: string,
  sharedDataDir: string,
): Promise<SidecarProcess> {
  const child = spawn(
    process.execPath,
    [
      ...entry.args,
      '--gateway-url',
      bed.jupyter.url,
      '--port',
      '0',
      '--workspace-root',
      bed.workspaceRoot,
      '--data-dir',
      sharedDataDir,
    ],
    // The database URL through the environment, as the option's help advises (a flag shows in ps).
    {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4', FILES_API_SECRET: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  // Only a tail is kept: enough to say why a sidecar died, bounded over a long run.
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-TAIL_CHARS));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<URL>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a sidecar did not start in 30 s: ${output}`)), 30_000);
    const onData = () => {
      const match = /listening on (http:\/\/\S+\/)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(new URL(match[1]!));
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a sidecar exited during start (${code}): ${output}`));
    });
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(force);
    },
  };
}

/** One Jupyter Server (with or without TCP_NODELAY), two sidecars on a fresh database and one shared folder, the balancer. */
async function startDeployment(entry: SidecarEntry, cluster: TestPostgres, nodelay: boolean): Promise<Deployment> {
  const configDir = await writeJupyterConfig(await mkdtemp(path.join(tmpdir(), 'gf-bench-two-')), nodelay);
  // Read by the Jupyter Server startTestBed spawns; set only while it starts.
  const previous = process.env.JUPYTER_CONFIG_DIR;
  process.env.JUPYTER_CONFIG_DIR = configDir;
  const bed = await startTestBed().finally(() => {
    if (previous === undefined) delete process.env.JUPYTER_CONFIG_DIR;
    else process.env.JUPYTER_CONFIG_DIR = previous;
  });
  const sidecars: SidecarProcess[] = [];
  let balancer: RoundRobinBalancer | null = null;
  const stop = async () => {
    await balancer?.close();
    for (const sidecar of sidecars) await sidecar.stop();
    await bed.stop();
    await rm(configDir, { recursive: true, force: true });
  };
  try {
    const databaseUrl = await cluster.createDatabase(nodelay ? 'two_sidecars_nodelay' : 'two_sidecars_stock');
    // The shared volume: one blob store for both processes, next to the workspaces they both map.
    const shared = path.join(bed.dir, 'shared-store');
    await mkdir(shared, { recursive: true });
    // One after the other: both would run the schema migration at once (it is locked, but the
    // second start would only wait).
    for (let i = 0; i < 2; i++) sidecars.push(await startSidecarProcess(entry, bed, databaseUrl, shared));
    balancer = await startRoundRobinBalancer(sidecars.map((s) => s.url));
    return { bed, sidecars, balancer, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface RoundTrips {
  direct: number[];
  balanced: number[];
  /** Through a balancer straight to Jupyter: what the TCP hop alone adds. */
  hop: number[];
  /** The balanced samples split by the sidecar that carried them. */
  perSidecar: [number[], number[]];
}

/**
 * One kernel, created through the balancer in a chat; one direct client and two clients through
 * the balancer, which land on different sidecars. Before timing, each balanced client writes a
 * file under /mnt/data and sidecar A's files API must list both: the two processes map the same
 * chat and record into the same database. A fourth client goes through a balancer of its own
 * straight to Jupyter, so the added time splits into the hop and the sidecars.
 */
async function measureRoundTrips(d: Deployment, runs: number, warmup: number): Promise<RoundTrips> {
  const { bed, balancer } = d;
  const chat = 'bench-two-rt';
  const token = bed.jupyter.token;
  const res = await fetch(`${balancer.url}chats/${chat}/api/kernels?token=${token}`, { method: 'POST' });
  if (!res.ok) throw new Error(`creating a kernel through the balancer: HTTP ${res.status} ${await res.text()}`);
  const { id } = (await res.json()) as { id: string };
  const clients: RawKernelClient[] = [];
  const backendOf: number[] = [];
  const hopBalancer = await startRoundRobinBalancer([new URL(bed.jupyter.url)]);
  try {
    for (let i = 0; i < 2; i++) {
      const before = [...balancer.connections];
      clients.push(
        await RawKernelClient.connect(
          `${balancer.url.replace(/^http/, 'ws')}chats/${chat}/api/kernels/${id}/channels?token=${token}`,
          'legacy',
        ),
      );
      backendOf.push(balancer.connections.findIndex((n, k) => n > before[k]!));
    }
    if (backendOf[0] === backendOf[1]) throw new Error(`both balanced clients landed on sidecar ${backendOf[0]}`);
    const direct = await RawKernelClient.connect(
      `${bed.jupyter.url.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${token}`,
      'legacy',
    );
    clients.push(direct);
    const hopClient = await RawKernelClient.connect(
      `${hopBalancer.url.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${token}`,
      'legacy',
    );
    clients.push(hopClient);

    for (let i = 0; i < 2; i++) {
      const result = await clients[i]!.execute(`open('/mnt/data/via-${backendOf[i]}.txt', 'w').write('x')`);
      if (result.reply?.content.status !== 'ok')
        throw new Error(`writing through sidecar ${backendOf[i]}: ${JSON.stringify(result.reply?.content)}`);
      await access(path.join(bed.workspaceRoot, chat, `via-${backendOf[i]}.txt`));
    }
    const listed = (await (await fetch(`${d.sidecars[0]!.url}sidecar/v1/chats/${chat}/files`)).json()) as {
      files: Array<{ path: string }>;
    };
    const paths = listed.files.map((f) => f.path).sort();
    if (paths.join() !== 'via-0.txt,via-1.txt')
      throw new Error(`sidecar A lists ${JSON.stringify(paths)}, not both sidecars' files`);

    const execute = async (client: RawKernelClient) => {
      const result = await client.execute('1+1');
      if (result.reply?.content.status !== 'ok')
        throw new Error(`1+1 failed: ${JSON.stringify(result.reply?.content)}`);
      // Each client receives every client's IOPub; drop it so memory stays flat over the runs.
      for (const c of clients) c.received.length = 0;
    };
    let turn = 0;
    const [a, b, hop] = await roundRobin(runs, warmup, [
      () => timed(() => execute(direct)),
      () => timed(() => execute(clients[turn++ % 2]!)),
      () => timed(() => execute(hopClient)),
    ]);
    // The balanced arm used client (warmup + i) % 2 for its i-th timed sample.
    const perSidecar: [number[], number[]] = [[], []];
    b!.forEach((ms, i) => perSidecar[backendOf[(warmup + i) % 2]!]!.push(ms));
    return { direct: a!, balanced: b!, hop: hop!, perSidecar };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await hopBalancer.close();
    await fetch(`${bed.jupyter.url}api/kernels/${id}?token=${token}`, { method: 'DELETE' }).catch(() => {});
  }
}

/**
 * The round trip row (balanced vs direct, a goal or reported) and the hop row (a bare TCP hop vs
 * direct). `fast` is the same arms on the TCP_NODELAY server, for counting stalls on the stock one.
 */
function roundTripRows(
  times: RoundTrips,
  runs: number,
  label: string,
  withGoal: boolean,
  fast?: RoundTrips,
): ResultRow[] {
  const direct = summarize(times.direct);
  const balanced = summarize(times.balanced);
  const hop = summarize(times.hop);
  const [a, b] = times.perSidecar.map((s) => summarize(s).median);
  const ratio = balanced.median / direct.median;
  const stalls = (arm: keyof Omit<RoundTrips, 'perSidecar'>) =>
    stalledShare(times[arm], fast ? quantile(fast[arm], 0.25) : undefined);
  const goalRow: ResultRow = {
    scenario: SCENARIO,
    metric: `${label}: \`1+1\` round trip, ${runs} runs, through the balancer (half on each sidecar)`,
    unit: 'ms',
    direct,
    sidecar: balanced,
    ratio,
    goal: withGoal ? 'ratio ≤ 1.05' : 'report',
    pass: withGoal ? ratio <= 1.05 : null,
    detail: `${signedMs(balanced.median - direct.median)}; medians A ${a!.toFixed(1)}, B ${b!.toFixed(1)} ms; stalled runs: direct ${stalls('direct')}, balanced ${stalls('balanced')}`,
  };
  const hopRow: ResultRow = {
    scenario: SCENARIO,
    metric: `${label}: \`1+1\` round trip, ${runs} runs, through a balancer straight to Jupyter (the TCP hop alone)`,
    unit: 'ms',
    direct,
    sidecar: hop,
    ratio: hop.median / direct.median,
    goal: 'report',
    pass: null,
    detail: `${signedMs(hop.median - direct.median)}; stalled runs: hop ${stalls('hop')}`,
  };
  return [goalRow, hopRow];
}

/** Scenario 6's bench bed shape, with the balancer where its one sidecar is. */
async function balancedBenchBed(d: Deployment, quick: boolean): Promise<BenchBed> {
  const sidecar = d.sidecars[0]!;
  const scratch = path.join(d.bed.dir, 'scratch');
  await mkdir(scratch, { recursive: true });
  return {
    bed: d.bed,
    gatewayUrl: d.bed.jupyter.url,
    token: d.bed.jupyter.token,
    sidecarUrl: d.balancer.url,
    sidecar: sidecar.child,
    workspaceRoot: d.bed.workspaceRoot,
    dataDir: path.join(d.bed.dir, 'shared-store'),
    scratch,
    quick,
    startRss: await rssBytes(sidecar.child.pid!),
    restartSidecar: () => Promise.reject(new Error('scenario 12 does not restart its sidecars')),
    // The deployment stops its own parts.
    stop: () => Promise.resolve(),
  };
}

export async function benchTwoSidecars(quick: boolean): Promise<ScenarioResult> {
  const runs = quick ? 50 : 200;
  const warmup = quick ? 10 : 20;
  const entry = await sidecarEntry();
  const cluster = await startTestPostgres();
  let balancerSplit: string;
  let fastTimes: RoundTrips;
  let stockTimes: RoundTrips;
  let manyRows: ResultRow[];
  try {
    // The TCP_NODELAY server first: its fastest runs tell which stock runs stalled.
    const fast = await startDeployment(entry, cluster, true);
    try {
      fastTimes = await measureRoundTrips(fast, runs, warmup);
    } finally {
      await fast.stop();
    }
    const stock = await startDeployment(entry, cluster, false);
    try {
      stockTimes = await measureRoundTrips(stock, runs, warmup);
      const before = [...stock.balancer.connections];
      const many = await benchManyKernels(await balancedBenchBed(stock, quick));
      const handed = stock.balancer.connections.map((n, k) => n - before[k]!);
      balancerSplit = `${handed[0]} / ${handed[1]} connections to sidecar A / B, ${stock.balancer.upstreamErrors} that could not reach theirs`;
      manyRows = many.rows.map((row) => ({
        ...row,
        scenario: SCENARIO,
        metric: `stock Jupyter, through the balancer: ${row.metric}`,
      }));
    } finally {
      await stock.stop();
    }
  } finally {
    await cluster.destroy();
  }
  return {
    rows: [
      ...roundTripRows(stockTimes, runs, 'stock Jupyter (as users run it)', true, fastTimes),
      ...roundTripRows(fastTimes, runs, "Jupyter with TCP_NODELAY (the sidecars' own cost)", false),
      ...manyRows,
    ],
    notes: [
      `Two sidecar processes (${entry.label}) with DATABASE_URL on one throwaway PostgreSQL cluster (127.0.0.1, fsync off, a fresh database per Jupyter Server, pool size 4 each) and one --data-dir (blobs) and --workspace-root shared by both, started one after the other. In front: a TCP round-robin balancer in the bench process (node:net, each new connection to the next sidecar, bytes piped untouched, TCP_NODELAY on both legs). Direct is the Jupyter Server itself.`,
      `Round trip: one kernel created through the balancer in chat bench-two-rt; two legacy clients through the balancer (they land on different sidecars) used in turn, round robin with one direct client and one client through a one-backend balancer straight to Jupyter (the TCP hop alone), after ${warmup} untimed rounds. Before timing, each balanced client writes a file and sidecar A's files API lists both. IOPub goes to all four clients. Medians A and B are the balanced samples split by the sidecar that carried them.`,
      `Two Jupyter Servers, one after the other in this run. The goal row is on the stock server users run: it leaves Nagle on for its kernel WebSocket, so a direct client waits ~40 ms for a delayed ACK on most runs, while the sidecar acknowledges each read from the gateway at once (proxy/gateway/prompt-ack.ts) and does not. The report rows are on a server with TCP_NODELAY on its kernel sockets (jupyter-nodelay.ts): no stall on either path, so they show what the two sidecars themselves add. A run counts as stalled when it is over 30 ms slower than the same arm's fastest quarter on the TCP_NODELAY server.`,
      `Many kernels: scenario 6's code and phases unchanged (see its notes), with the balancer in place of its one sidecar, on the stock server; kernels created through the balancer, one chat each. Balancer: ${balancerSplit}.`,
    ],
  };
}
