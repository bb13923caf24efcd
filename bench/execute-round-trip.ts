/**
 * Scenario 1: the round trip of a trivial statement, `1+1`, from execute_request to both
 * execute_reply and status: idle. Through the sidecar with a chat prefix, so the request is
 * parsed and rewritten and the chat's workspace is snapshotted before and after; directly at
 * the gateway as the baseline. One kernel each, alternating.
 */
import { connectTo, startKernel, type BenchBed } from './bench-bed.ts';
import type { ScenarioResult } from './results-table.ts';
import { alternate, summarize, timed } from './stats.ts';

export async function benchExecuteRoundTrip(bench: BenchBed): Promise<ScenarioResult> {
  const runs = bench.quick ? 50 : 200;
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
    const d = summarize(direct);
    const s = summarize(sidecar);
    const ratio = s.median / d.median;
    return {
      rows: [
        {
          scenario: '1 execute round trip',
          metric: `\`1+1\` round trip, ${runs} runs`,
          unit: 'ms',
          direct: d,
          sidecar: s,
          ratio,
          goal: 'ratio ≤ 1.05',
          pass: ratio <= 1.05,
          detail: `+${(s.median - d.median).toFixed(2)} ms`,
        },
      ],
      notes: [
        "One kernel, created at /chats/bench-roundtrip/, with two legacy-format clients: one through the sidecar (rewriting, execution tracking and both workspace snapshots run on every execution; the workspace is empty) and one straight to the gateway. IOPub goes to both, so each side also receives the other side's output.",
      ],
    };
  } finally {
    await sidecarClient.close();
    await directClient.close();
    await kernel.shutdown();
  }
}
