/**
 * Scenario 1: the round trip of a trivial statement, `1+1`, from execute_request to both
 * execute_reply and status: idle. Through the sidecar with a chat prefix, so the request is
 * parsed and rewritten and the execution is tracked and scanned; directly at the gateway as the
 * baseline. One kernel, two clients, alternating. Twice: on the stock Jupyter Server of the bench
 * bed, as deployed, and on a second one patched to TCP_NODELAY, where no delayed-ACK stall hides
 * what the sidecar itself adds.
 */
import { connectTo, startBenchBed, startKernel, type BenchBed } from './bench-bed.ts';
import { stalledShare } from './jupyter-nodelay.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { alternate, signedMs, summarize, timed } from './stats.ts';

interface Arms {
  direct: number[];
  sidecar: number[];
}

async function measure(bench: BenchBed, runs: number): Promise<Arms> {
  // One kernel, two clients (each its own session): the kernel process is the same for both sides.
  const kernel = await startKernel(bench, 'sidecar', 'bench-roundtrip');
  const sidecarClient = await kernel.connect();
  const directClient = await connectTo(bench, kernel.id, 'direct', null);
  try {
    const run = (client: typeof sidecarClient) => () =>
      timed(async () => {
        const result = await client.execute('1+1');
        if (result.reply?.content.status !== 'ok')
          throw new Error(`1+1 failed: ${JSON.stringify(result.reply?.content)}`);
      });
    const { a: direct, b: sidecar } = await alternate(runs, 20, run(directClient), run(sidecarClient));
    return { direct, sidecar };
  } finally {
    await sidecarClient.close();
    await directClient.close();
    await kernel.shutdown();
  }
}

export async function benchExecuteRoundTrip(bench: BenchBed): Promise<ScenarioResult> {
  const runs = bench.quick ? 50 : 200;
  const stock = await measure(bench, runs);
  const patchedBed = await startBenchBed({ quick: bench.quick, nodelay: true });
  const patched = await measure(patchedBed, runs).finally(() => patchedBed.stop());
  const row = (arms: Arms, metric: string, goal: string | null, fast: Arms): ResultRow => {
    const d = summarize(arms.direct);
    const s = summarize(arms.sidecar);
    const ratio = s.median / d.median;
    const stalls = `runs that waited ~40 ms for a delayed ACK: ${stalledShare(arms.direct, summarize(fast.direct).median)} direct, ${stalledShare(arms.sidecar, summarize(fast.sidecar).median)} sidecar`;
    return {
      scenario: '1 execute round trip',
      metric,
      unit: 'ms',
      direct: d,
      sidecar: s,
      ratio,
      goal: goal ?? 'report',
      pass: goal ? ratio <= 1.05 : null,
      detail: `${signedMs(s.median - d.median)}; ${stalls}`,
    };
  };
  return {
    rows: [
      row(stock, `\`1+1\` round trip, ${runs} runs, stock Jupyter Server`, 'ratio ≤ 1.05', patched),
      row(patched, `\`1+1\` round trip, ${runs} runs, Jupyter Server patched to TCP_NODELAY`, null, patched),
    ],
    notes: [
      "One kernel, created at /chats/bench-roundtrip/, with two legacy-format clients: one through the sidecar (rewriting, execution tracking and the workspace scan run on every execution; the workspace is empty) and one straight to the gateway. IOPub goes to both, so each side also receives the other side's output.",
      "Stock: the Jupyter Server as users run it. It keeps Nagle's algorithm on for kernel WebSockets, so a message written while the previous one is unacknowledged waits for the reader's delayed ACK (~40 ms). The sidecar acknowledges each read from the gateway at once with an unsolicited pong (proxy/gateway/prompt-ack.ts); a direct client such as this one does not. That is why the sidecar is faster here.",
      'Patched: a second Jupyter Server and sidecar started for this row, the server with TCP_NODELAY set on each kernel socket as it opens (bench/jupyter-nodelay.ts). Neither side stalls, so the difference is what the sidecar itself adds to an execution.',
    ],
  };
}
