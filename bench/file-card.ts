/**
 * Scenario 9: what the file card costs. The round trip of an execution that writes one small
 * file (from sending execute_request until both its execute_reply and idle are in), through two
 * in-process sidecars over one Jupyter Server, card on (`rich`, with a FILES_API_SECRET so each
 * link is signed) and card off, and directly at the server; the three arms round robin in one
 * run. Each execution writes new content, so every run records a version and (card on) sends a card.
 *
 * Run twice: against a Jupyter Server whose kernel sockets have TCP_NODELAY (the card's own cost),
 * and against a stock one. Jupyter Server never turns Nagle's algorithm off on its kernel
 * WebSocket, so a small message written while the previous one is unacknowledged waits for the
 * reader's delayed ACK (40 ms on Linux): status busy, then execute_input 40 ms later, in a random
 * share of runs of every arm, direct included. Those runs make the stock medians land at ~20 or
 * ~44 ms by chance; the share of stalled runs per arm is shown.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSidecar, startTestBed } from '../test/support/harness.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';
import { writeJupyterConfig } from './jupyter-nodelay.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { quantile, roundRobin, signedMs, summarize, timed } from './stats.ts';

const SECRET = 'bench-card-secret-at-least-32-bytes-long';
/** A run this much slower than the arm's fastest quarter waited for a delayed ACK. */
const STALL_MS = 30;

interface ArmTimes {
  on: number[];
  off: number[];
  direct: number[];
}

async function measure(runs: number, nodelay: boolean): Promise<ArmTimes> {
  const configDir = await writeJupyterConfig(await mkdtemp(path.join(tmpdir(), 'gf-bench-card-')), nodelay);
  // Read by the Jupyter Server startTestBed spawns; set only while it starts.
  const previous = process.env.JUPYTER_CONFIG_DIR;
  process.env.JUPYTER_CONFIG_DIR = configDir;
  const bed = await startTestBed().finally(() => {
    if (previous === undefined) delete process.env.JUPYTER_CONFIG_DIR;
    else process.env.JUPYTER_CONFIG_DIR = previous;
  });
  const on = await startSidecar(bed, { 'announce-files': 'rich' }, {}, { FILES_API_SECRET: SECRET });
  const off = await startSidecar(
    bed,
    { 'announce-files': 'off', 'data-dir': `${bed.dir}/store-off` },
    {},
    { FILES_API_SECRET: SECRET },
  );
  const open = async (base: string, chat: string | null) => {
    const prefix = chat ? `${base}chats/${chat}/` : base;
    const { id } = (await (
      await fetch(`${prefix}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' })
    ).json()) as { id: string };
    return RawKernelClient.connect(
      `${prefix.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
      'legacy',
    );
  };
  const cardOn = await open(on.url, 'bench-card-on');
  const cardOff = await open(off.url, 'bench-card-off');
  const direct = await open(bed.jupyter.url, null);
  let n = 0;
  const run = (client: RawKernelClient, target: string, expectCard: boolean) => () =>
    timed(async () => {
      const result = await client.execute(`open('${target}', 'w').write('${n++}')`);
      const card = result.messages.some((m) => m.header.msg_type === 'display_data');
      if (card !== expectCard) throw new Error(`expected ${expectCard ? 'a' : 'no'} card`);
    });
  try {
    const [offTimes, onTimes, directTimes] = await roundRobin(runs, 10, [
      run(cardOff, '/mnt/data/one.csv', false),
      run(cardOn, '/mnt/data/one.csv', true),
      run(direct, `${bed.workspaceRoot}/direct-one.csv`, false),
    ]);
    return { off: offTimes!, on: onTimes!, direct: directTimes! };
  } finally {
    await Promise.all([cardOn.close(), cardOff.close(), direct.close()]);
    await on.stop();
    await off.stop();
    await bed.stop();
    await rm(configDir, { recursive: true, force: true });
  }
}

function stalledShare(samples: readonly number[]): string {
  const fast = quantile(samples, 0.25);
  const stalled = samples.filter((s) => s > fast + STALL_MS).length;
  return `${Math.round((100 * stalled) / samples.length)}%`;
}

function rows(times: ArmTimes, runs: number, label: string, withGoal: boolean): ResultRow[] {
  const on = summarize(times.on);
  const off = summarize(times.off);
  const direct = summarize(times.direct);
  const added = on.median - off.median;
  const stalls = `stalled runs: on ${stalledShare(times.on)}, off ${stalledShare(times.off)}, direct ${stalledShare(times.direct)}`;
  return [
    {
      scenario: '9 file card',
      metric: `${label}: write one small file, card on vs off, ${runs} runs`,
      unit: 'ms',
      direct: off,
      sidecar: on,
      ratio: on.median / off.median,
      goal: withGoal ? 'card adds ≤ 2 ms' : 'reported',
      pass: withGoal ? added <= 2 : null,
      detail: `${signedMs(added)}; ${stalls}`,
    },
    {
      scenario: '9 file card',
      metric: `${label}: write one small file, card off vs direct, ${runs} runs`,
      unit: 'ms',
      direct,
      sidecar: off,
      ratio: off.median / direct.median,
      goal: 'reported',
      pass: null,
      detail: signedMs(off.median - direct.median),
    },
  ];
}

export async function benchFileCard(quick: boolean): Promise<ScenarioResult> {
  const runs = quick ? 50 : 200;
  const nodelay = await measure(runs, true);
  const stock = await measure(runs, false);
  return {
    rows: [...rows(nodelay, runs, 'Jupyter with TCP_NODELAY', true), ...rows(stock, runs, 'stock Jupyter', false)],
    notes: [
      "In-process sidecars (tsx) over one Jupyter Server, legacy clients; card on, card off and direct round robin in one run. Rows 'card on vs off': 'Direct' is the sidecar with --announce-files off, 'Sidecar' the same with rich cards and signed links. Rows 'card off vs direct': 'Direct' is the server itself (recording one version per run is most of that difference).",
      "Jupyter Server leaves Nagle on for its kernel WebSocket: a small message written while the previous one is unacknowledged waits for the reader's delayed ACK (40 ms on Linux), in a random share of runs of every arm, direct included. The goal is judged on a server whose kernel sockets have TCP_NODELAY (a config file of the bench turns it on); the stock rows show the stall and its share per arm.",
    ],
  };
}
