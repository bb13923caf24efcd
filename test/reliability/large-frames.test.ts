/**
 * Issue 16, item 7: large kernel frames. A sidecar in a process of its own (its RSS read from
 * /proc) takes four 24 MiB execute_requests at once, twice, two of them naming /mnt/data
 * (rewritten) and two not (passed on unparsed); the kernels echo each back (execute_input). It
 * must go on answering (/health, on a connection of its own each time, is sampled through the
 * burst and every sample must be 200), the peak must stay a fixed part plus a small multiple of what is in flight,
 * what it held must be let go after a GC (JS heap and Buffers back to the baseline; the RSS glibc
 * keeps is reused by the next burst, not added to), a frame over the limit closes with 1009, and
 * SIGTERM still stops it. How long the health checks and the sidecar's event loop took is printed,
 * not asserted: that is speed, which lives in benchmarks, and on a loaded machine this test
 * process (parsing 4 x 24 MiB of echoes) is as slow to ask as the sidecar is to answer.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { startTestBed, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';
import { startSidecarProcess, type SettledMemory } from './sidecar-process.ts';

reportAfter('large-frames');

const MiB = 1024 * 1024;
// Half of --max-frame-mb, four at once: more than --max-in-flight-mb, so reading waits for room.
const FRAME_MIB = 24;
const BURST_FIXED_COST = 128 * 1024 * 1024;
const SAMPLE_EVERY_MS = 50;
let bed: TestBed;
let sidecar: ChildProcess;
let url: string;
let settledMemory: () => Promise<SettledMemory>;
/** One kernel per connection, as chat apps do (a kernel broadcasts its iopub to every connection). */
const kernelIds: string[] = [];

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

before(async () => {
  // Tornado refuses WebSocket messages over 10 MiB unless told otherwise; the sidecar's own limit is under test here.
  bed = await startTestBed({ extraArgs: ['--ServerApp.tornado_settings={"websocket_max_message_size": 268435456}'] });
  const started = await startSidecarProcess(bed, { MAX_FRAME_MB: '32', MAX_IN_FLIGHT_MB: '64' });
  ({ url, settledMemory } = started);
  sidecar = started.process;
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${url}chats/big/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
    assert.equal(res.status, 201);
    kernelIds.push(((await res.json()) as { id: string }).id);
  }
});

after(async () => {
  if (sidecar && sidecar.exitCode === null) sidecar.kill('SIGKILL');
  for (const id of kernelIds)
    await fetch(`${bed.jupyter.url}api/kernels/${id}?token=${bed.jupyter.token}`, { method: 'DELETE' }).catch(() => {});
  await bed?.stop();
});

const channels = (i = 0) =>
  `${url.replace(/^http/, 'ws')}chats/big/api/kernels/${kernelIds[i]}/channels?token=${bed.jupyter.token}`;

/**
 * GET /health on a new connection. A kept-alive one can be closed by the server's idle timer in
 * the same instant the next request is sent (ECONNRESET), a race of the client's, not the sidecar's.
 */
function healthStatus(): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`${url}sidecar/v1/health`, { agent: false }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode!));
    }).once('error', reject);
  });
}

/** Four 24 MiB execute_requests at once, one per kernel: two name /mnt/data (rewritten), two do not. */
async function burst(
  clients: RawKernelClient[],
  round: number,
): Promise<{ peak: number; slowestHealthMs: number; samples: number }> {
  let peak = rssOf(sidecar.pid!);
  let slowestHealthMs = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    // Sampling is the measurement here, not synchronization: each sample is also a health check.
    while (sampling) {
      peak = Math.max(peak, rssOf(sidecar.pid!));
      const started = performance.now();
      assert.equal(await healthStatus(), 200);
      samples++;
      slowestHealthMs = Math.max(slowestHealthMs, performance.now() - started);
      peak = Math.max(peak, rssOf(sidecar.pid!));
      await delay(SAMPLE_EVERY_MS); // so the sampling does not itself load the machine
    }
  })();
  const filler = 'x'.repeat(FRAME_MIB * MiB);
  const runs = await Promise.all(
    clients.map((client, i) =>
      client.execute(
        i % 2 ? `open('/mnt/data/big-${round}-${i}.txt','w').write('ok')  # ${filler}` : `x = ${round}  # ${filler}`,
        // A guard, not a measure: on a busy machine the kernels alone take minutes over 96 MiB.
        { timeoutMs: 10 * 60_000 },
      ),
    ),
  );
  sampling = false;
  await sampler;
  for (const run of runs)
    assert.equal(run.reply?.content.status, 'ok', JSON.stringify(run.reply?.content).slice(0, 300));
  for (const client of clients) client.received.length = 0; // the test's own copies of the echoes
  return { peak, slowestHealthMs, samples };
}

test('four 24 MiB execute_requests at once, twice: answering, bounded peak, memory comes back', async () => {
  const clients = await Promise.all([0, 1, 2, 3].map((i) => RawKernelClient.connect(channels(i), 'v1')));
  // Warm up (JIT, first execution, the walker) before the baseline.
  for (const client of clients)
    assert.equal((await client.execute("open('/mnt/data/warm.txt','w').write('ok')")).reply?.content.status, 'ok');
  const baseline = await settledMemory();
  const first = await burst(clients, 1);
  const afterFirst = await settledMemory();
  const second = await burst(clients, 2);
  const afterSecond = await settledMemory();
  for (const client of clients) await client.close();

  const inFlight = 4 * FRAME_MIB * MiB;
  const peak = Math.max(first.peak, second.peak);
  const slowest = Math.max(first.slowestHealthMs, second.slowestHealthMs);
  console.log(
    `large-frames: baseline rss ${mib(baseline.rss)}; peak ${mib(peak)} (+${mib(peak - baseline.rss)} for ${mib(inFlight)} of frames in, and their echoes out); ` +
      `after GC: rss ${mib(afterFirst.rss)} then ${mib(afterSecond.rss)}, JS heap ${mib(afterSecond.heap)} (baseline ${mib(baseline.heap)}), Buffers ${mib(afterSecond.buffers)}; ` +
      `${first.samples + second.samples} health checks, all 200, the slowest ${slowest.toFixed(0)} ms; ` +
      `the sidecar's event loop blocked at most ${Math.max(afterFirst.blockedMs, afterSecond.blockedMs)} ms`,
  );
  // A burst costs a part that does not grow with the frames (measured: +321 MiB for 96 MiB of frames,
  // +361 to +570 MiB for 192 MiB) and at most three times what is in flight on top.
  const bound = BURST_FIXED_COST + 3 * inFlight;
  assert.ok(peak - baseline.rss < bound, `peak grew by ${mib(peak - baseline.rss)}: more than ${mib(bound)}`);
  // Everything the sidecar held for the frames is let go...
  assert.ok(afterSecond.buffers < 8 * MiB, `Buffers still hold ${mib(afterSecond.buffers)}`);
  assert.ok(afterSecond.heap - baseline.heap < 16 * MiB, `the JS heap kept ${mib(afterSecond.heap - baseline.heap)}`);
  // ...and what the allocator keeps of the RSS is mostly reused by the next burst, not added to. How
  // much it keeps depends on how the bursts interleave (a loaded machine saw +74 MiB), so the bound is
  // what a burst carries: a leak of its frames (and their echoes) would keep at least twice that. A
  // leak of a single frame is the Buffers and heap checks' to find.
  assert.ok(
    afterSecond.rss - afterFirst.rss < inFlight,
    `RSS grew from ${mib(afterFirst.rss)} to ${mib(afterSecond.rss)} over a second burst`,
  );
  survived(8);
});

test('a frame over --max-frame-mb closes the connection with 1009, and the sidecar goes on', async () => {
  const client = await RawKernelClient.connect(channels(), 'v1');
  const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
  client.send('shell', 'execute_request', { code: `# ${'y'.repeat(33 * MiB)}`, silent: false });
  assert.equal(await closed, 1009);
  refused();
  const again = await RawKernelClient.connect(channels(), 'v1');
  assert.equal((await again.execute('1 + 1')).reply?.content.status, 'ok');
  await again.close();
});

test('SIGTERM stops it', async () => {
  const exited = new Promise<number | null>((resolve) => sidecar.once('exit', (code) => resolve(code)));
  sidecar.kill('SIGTERM');
  assert.equal(await exited, 0);
  survived();
});
