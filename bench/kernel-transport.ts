/**
 * `node --import tsx bench/kernel-transport.ts`: what `--file-transport kernel` adds to an
 * execution against the same execution on a shared disk (0 files changed, 1 small file, one
 * 10 MB file), and MB/s of a 50 MB file over the kernel's channel against a local copy, measured
 * in the same run. Not yet one of `npm run bench`'s scenarios.
 */
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startSidecar, startTestBed, type RunningSidecar } from '../test/support/harness.ts';
import { startKernelElsewhere, startKernelTransportSidecar } from '../test/support/kernel-elsewhere.ts';
import { RawKernelClient } from '../test/support/raw-kernel-client.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function client(proxy: RunningSidecar, token: string, chat: string): Promise<RawKernelClient> {
  const base = `${proxy.url}chats/${chat}/`;
  const { id } = (await (await fetch(`${base}api/kernels?token=${token}`, { method: 'POST' })).json()) as {
    id: string;
  };
  const c = await RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${token}`,
    'v1',
  );
  await c.execute('import os');
  return c;
}

async function timed(c: RawKernelClient, code: (i: number) => string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await c.execute(code(i));
    out.push(performance.now() - t);
  }
  return out;
}

const CASES: [string, (i: number) => string, number][] = [
  ['0 files changed', () => '1', 30],
  ['1 small file', (i) => `open('/mnt/data/s.csv', 'w').write('a,${i}\\n')`, 20],
  ['one 10 MB file', (i) => `open('/mnt/data/t.parquet', 'wb').write(os.urandom(10 * 1024 * 1024)) and ${i}`, 5],
];

const shared = await startTestBed();
const elsewhere = await startKernelElsewhere();
const sharedProxy = await startSidecar(shared, { 'record-wait-ms': '600000' });
const kernelProxy = await startKernelTransportSidecar(elsewhere, { 'record-wait-ms': '600000' });
try {
  const a = await client(sharedProxy, shared.jupyter.token, 'b1');
  const b = await client(kernelProxy, elsewhere.jupyter.token, 'b1');
  for (const [name, code, n] of CASES) {
    const s: number[] = [];
    const k: number[] = [];
    // Alternated, so load from elsewhere on the machine falls on both.
    for (let r = 0; r < n; r++) {
      s.push(...(await timed(a, (i) => code(r * 10 + i), 1)));
      k.push(...(await timed(b, (i) => code(r * 10 + i), 1)));
    }
    console.log(
      `${name}: shared ${median(s).toFixed(1)} ms, kernel ${median(k).toFixed(1)} ms, added ${(median(k) - median(s)).toFixed(1)} ms (median of ${n})`,
    );
  }
  const t = performance.now();
  await b.execute("open('/mnt/data/fifty.parquet', 'wb').write(os.urandom(50 * 1024 * 1024))");
  const overChannel = performance.now() - t;
  const t0 = performance.now();
  await b.execute('1');
  const baseline = performance.now() - t0;
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-bench-copy-'));
  await writeFile(path.join(dir, 'a'), Buffer.alloc(50 * 1024 * 1024, 7));
  const c0 = performance.now();
  await copyFile(path.join(dir, 'a'), path.join(dir, 'b'));
  const local = performance.now() - c0;
  await rm(dir, { recursive: true, force: true });
  const channelMBs = 50 / ((overChannel - baseline) / 1000);
  const localMBs = 50 / (local / 1000);
  console.log(
    `50 MB: over the channel ${channelMBs.toFixed(1)} MB/s (execution ${overChannel.toFixed(0)} ms minus a no-op ${baseline.toFixed(0)} ms), local copy ${localMBs.toFixed(0)} MB/s: ${((channelMBs / localMBs) * 100).toFixed(1)} %`,
  );
  await a.close();
  await b.close();
} finally {
  await sharedProxy.stop();
  await kernelProxy.stop();
  await shared.stop();
  await elsewhere.stop();
}
