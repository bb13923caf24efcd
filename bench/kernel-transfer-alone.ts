/**
 * Scenario 14's reference arm: the transport's own transfer (`KernelFileSync.pull`, the same
 * collector, requests and limits) over a WebSocket straight to Jupyter Server, with no sidecar
 * relay, lanes or recorder: what the gateway and the kernel allow at best, writing the same copy.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import WebSocket from 'ws';
import { SilentExecutions, SilentMessageIds } from '../proxy/gateway/silent-executions.ts';
import { KernelFileSync } from '../proxy/transport/kernel-file-sync.ts';
import { DEFAULT_TRANSFER_LIMITS } from '../proxy/transport/transfer-limits.ts';
import { createTrackingPolicy } from '../proxy/workspace/tracking-policy.ts';
import { v1Codec, V1_PROTOCOL } from '../proxy/wire/wire-v1.ts';
import type { KernelElsewhere } from '../test/support/kernel-elsewhere.ts';
import { timed } from './stats.ts';

/** Milliseconds of each pull of a changed `mib` MiB file, `runs` times. */
export async function pullAloneMs(bed: KernelElsewhere, mib: number, runs: number): Promise<number[]> {
  const { url, token } = bed.jupyter;
  const res = await fetch(`${url}api/kernels?token=${token}`, { method: 'POST', body: '{}' });
  const { id } = (await res.json()) as { id: string };
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${token}`, [V1_PROTOCOL], {
    perMessageDeflate: false,
    maxPayload: 64 * 1024 * 1024,
  });
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const channel = new SilentExecutions(ws, v1Codec, new SilentMessageIds());
  // As the relay does (gateway/prompt-ack.ts): an ACK at once, or Nagle holds Jupyter's next small message 40 ms.
  let due = false;
  ws.on('message', (data: Buffer) => {
    channel.intercept(v1Codec.decode(data, true));
    if (due) return;
    due = true;
    process.nextTick(() => {
      due = false;
      if (ws.readyState === ws.OPEN) ws.pong();
    });
  });
  const mirror = await mkdtemp(path.join(tmpdir(), 'gf-bench-alone-'));
  const kernelDir = path.join(bed.kernelRoot, 'alone');
  const sync = new KernelFileSync({
    policy: createTrackingPolicy(),
    limits: DEFAULT_TRANSFER_LIMITS,
    mirrorFor: () => mirror,
    kernelPathFor: () => kernelDir,
  });
  const write = (i: number) =>
    channel.evaluate(
      `open(${JSON.stringify(path.join(kernelDir, 'fifty.parquet'))}, 'wb').write(globals().setdefault('_bench_bytes', __import__('os').urandom(${mib} * 1024 * 1024))[${i}:] + _bench_bytes[:${i}])`,
      { timeoutMs: 60_000, maxBytes: 0, maxBuffers: 0 },
    );
  try {
    await sync.push('alone', id, channel);
    const samples: number[] = [];
    for (let i = 0; i <= runs; i++) {
      await write(i + 1);
      const ms = await timed(async () => {
        const refused = await sync.pull('alone', channel);
        if (refused.length > 0) throw new Error(`the transfer alone refused: ${JSON.stringify(refused)}`);
      });
      if ((await stat(path.join(mirror, 'fifty.parquet'))).size !== mib * 1024 * 1024)
        throw new Error('the transfer alone did not bring the file whole');
      if (i > 0) samples.push(ms); // the first pull also installs the collector
    }
    return samples;
  } finally {
    ws.close();
    await fetch(`${url}api/kernels/${id}?token=${token}`, { method: 'DELETE' });
    await rm(mirror, { recursive: true, force: true });
  }
}
