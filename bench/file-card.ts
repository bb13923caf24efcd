/**
 * Scenario 9: what the file card costs. The round trip of an execution that writes one small
 * file, through two in-process sidecars over one Jupyter Server, card on (`rich`, with a
 * FILES_API_SECRET so each link is signed) and card off, with the direct run as the baseline.
 * Each execution writes new content, so every run records a version and (card on) sends a card.
 */
import { startSidecar, startTestBed } from '../test/support/harness.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';
import type { ScenarioResult } from './results-table.ts';
import { alternate, summarize, timed } from './stats.ts';

const SECRET = 'bench-card-secret-at-least-32-bytes-long';

export async function benchFileCard(quick: boolean): Promise<ScenarioResult> {
  const runs = quick ? 50 : 200;
  const bed = await startTestBed();
  const on = await startSidecar(bed, { 'announce-files': 'rich' }, {}, { FILES_API_SECRET: SECRET });
  const off = await startSidecar(bed, { 'announce-files': 'off', 'data-dir': `${bed.dir}/store-off` }, {}, { FILES_API_SECRET: SECRET });
  const open = async (base: string, chat: string | null) => {
    const prefix = chat ? `${base}chats/${chat}/` : base;
    const { id } = (await (await fetch(`${prefix}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' })).json()) as { id: string };
    return RawKernelClient.connect(`${prefix.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`, 'legacy');
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
    const onVsOff = await alternate(runs, 10, run(cardOff, '/mnt/data/one.csv', false), run(cardOn, '/mnt/data/one.csv', true));
    const offVsDirect = await alternate(runs, 10, run(direct, `${bed.workspaceRoot}/direct-one.csv`, false), run(cardOff, '/mnt/data/one.csv', false));
    const offS = summarize(onVsOff.a);
    const onS = summarize(onVsOff.b);
    const added = onS.median - offS.median;
    return {
      rows: [
        {
          scenario: '8 file card',
          metric: `write one small file, card on vs off, ${runs} runs`,
          unit: 'ms',
          direct: offS,
          sidecar: onS,
          ratio: onS.median / offS.median,
          goal: 'card adds ≤ 2 ms',
          pass: added <= 2,
          detail: `+${added.toFixed(2)} ms`,
        },
        {
          scenario: '8 file card',
          metric: `write one small file, card off vs direct, ${runs} runs`,
          unit: 'ms',
          direct: summarize(offVsDirect.a),
          sidecar: summarize(offVsDirect.b),
          ratio: summarize(offVsDirect.b).median / summarize(offVsDirect.a).median,
          goal: 'reported',
          pass: null,
          detail: `+${(summarize(offVsDirect.b).median - summarize(offVsDirect.a).median).toFixed(2)} ms`,
        },
      ],
      notes: [
        "In-process sidecars (tsx) over one Jupyter Server, legacy clients. Row 1's 'Direct' column is the sidecar with --announce-files off, 'Sidecar' the same with rich cards and signed links; row 2 compares card off with the gateway directly (recording one version per run is most of that difference).",
      ],
    };
  } finally {
    await Promise.all([cardOn.close(), cardOff.close(), direct.close()]);
    await on.stop();
    await off.stop();
    await bed.stop();
  }
}
