/**
 * Issue 21's held requests, as an attack: a client floods execute_requests behind a running cell
 * on a kernel that is not Python (no barrier, so the sidecar holds each one until the execution
 * before it is recorded). A whole sidecar runs in a process of its own (sidecar-child.ts, its RSS
 * read from /proc, its peak reset through clear_refs) with a small --max-in-flight-mb. Held
 * requests count in half of it: past that, the flooding connection stops being read, so a client
 * that tries to send 1 GiB gets only as far as the sidecar lets it (the old sidecar took it all
 * in: +1005 MiB), while another connection's interrupt (control channel) still reaches the running
 * cell; then every held cell runs, in order, with its reply. A connection that closes, and a
 * kernel restart that drops held cells (after a crash, or asked through REST, which Jupyter
 * Server tells no open socket of), give their bytes back (sidecar_held_request_bytes).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { packV1 } from '../../proxy/wire/wire-v1.ts';
import { startTestBed, type TestBed } from '../support/harness.ts';
import { writeNotPythonKernelspec } from '../support/not-python-kernelspec.ts';
import { RawKernelClient, type KernelMessage } from '../support/raw-kernel-client.ts';
import { within } from '../support/within.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';
import { startSidecarProcess, type SidecarProcess } from './sidecar-process.ts';

reportAfter('held-requests');

const MiB = 1024 * 1024;
const IN_FLIGHT_MIB = 16;
/** The share of --max-in-flight-mb held requests may take (frame-budget.ts). */
const HELD_SHARE = (IN_FLIGHT_MIB / 2) * MiB;
/** Small against the share, so several requests are held at once. */
const FRAME_BYTES = 2 * MiB;
const FLOOD_BYTES = 1024 * MiB;
/**
 * What holding (and then relaying) the flood may add to the sidecar's RSS: a fixed part for the
 * frames on their way (the socket buffers, the frame in hand, garbage not yet collected) and the
 * held share twice over. Measured: +20 MiB while held, a peak of +43 MiB while the held cells ran.
 */
const RSS_BOUND = 96 * MiB + 2 * HELD_SHARE;

const specs = writeNotPythonKernelspec();
process.env.JUPYTER_PATH = specs;
let bed: TestBed;
let sidecar: SidecarProcess;
let url: string;
const kernelIds: string[] = [];

const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const statusField = (pid: number, field: string) =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** RSS after a full GC in the sidecar, and the peak since the last reading, which it resets. */
async function memory(): Promise<{ rss: number; peak: number }> {
  const pid = sidecar.process.pid!;
  const peak = statusField(pid, 'VmHWM');
  const { rss } = await sidecar.settledMemory();
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // the peak starts again from here
  return { rss, peak };
}

/** The sidecar's sidecar_held_request_bytes (0 before it existed). */
async function heldBytes(): Promise<number> {
  const text = await (await fetch(`${url}metrics`)).text();
  return Number(/^sidecar_held_request_bytes (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Waits for the sidecar's gauge to meet `condition`, or for `stop` to settle first (checked after each reading). */
async function heldUntil(
  condition: (bytes: number) => boolean,
  what: string,
  stop?: Promise<unknown>,
): Promise<number> {
  let stopped = false;
  void stop?.then(() => (stopped = true));
  return within(
    (async () => {
      for (;;) {
        const bytes = await heldBytes();
        if (condition(bytes) || stopped) return bytes;
        await delay(50); // between readings of the gauge, not a wait for the event itself
      }
    })(),
    120_000,
    what,
  );
}

before(async () => {
  bed = await startTestBed();
  sidecar = await startSidecarProcess(bed, { MAX_IN_FLIGHT_MB: String(IN_FLIGHT_MIB), METRICS: 'on' });
  url = sidecar.url;
});

after(async () => {
  if (sidecar && sidecar.process.exitCode === null) sidecar.process.kill('SIGKILL');
  for (const id of kernelIds)
    await fetch(`${bed.jupyter.url}api/kernels/${id}?token=${bed.jupyter.token}`, { method: 'DELETE' }).catch(() => {});
  await bed?.stop();
  await rm(specs, { recursive: true, force: true });
});

async function startKernel(chat: string): Promise<{ id: string; channels: string }> {
  const res = await fetch(`${url}chats/${chat}/api/kernels?token=${bed.jupyter.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'not-python' }),
  });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  kernelIds.push(id);
  return {
    id,
    channels: `${url.replace(/^http/, 'ws')}chats/${chat}/api/kernels/${id}/channels?token=${bed.jupyter.token}`,
  };
}

const replyTo = (msgId: string) => (msg: KernelMessage) =>
  msg.header.msg_type === 'execute_reply' && msg.parent_header.msg_id === msgId;

/**
 * An execute_request's content for `code`. Not `stop_on_error`: an interrupt (or a restart) must
 * not abort what is queued behind the running cell.
 */
const cell = (code: string) => ({
  code,
  silent: false,
  store_history: false,
  user_expressions: {},
  allow_stdin: false,
  stop_on_error: false,
});

/**
 * A cell that runs until interrupted (or the kernel restarts), after `before` code; resolves once
 * the kernel has started it, with its msg_id and what it printed first.
 */
async function runForever(client: RawKernelClient, before = ''): Promise<{ msgId: string; stream: string }> {
  const msgId = client.send('shell', 'execute_request', cell(`${before}import time\ntime.sleep(3600)`));
  const started = (m: KernelMessage) =>
    m.parent_header.msg_id === msgId && m.header.msg_type === (before ? 'stream' : 'execute_input');
  const seen = await client.next(started);
  return { msgId, stream: before ? (seen.content.text as string) : '' };
}

/**
 * Sends `count` execute_requests of FRAME_BYTES each, the next once the last is written to the
 * socket (so the test holds one frame, and a sidecar that stops reading stops the flood). Each
 * prints its index; its bulk is a binary buffer the kernel ignores, so the kernel's own cost of
 * running the cells stays out of the test. Stops when the socket closes.
 */
function flood(client: RawKernelClient, count: number): { msgIds: string[]; done: Promise<number> } {
  const msgIds: string[] = [];
  const bulk = Buffer.alloc(FRAME_BYTES - 1024, 0x78);
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));
  const done = (async () => {
    for (let i = 0; i < count; i++) {
      const msgId = randomUUID();
      msgIds.push(msgId);
      const header = {
        msg_id: msgId,
        msg_type: 'execute_request',
        session: client.session,
        username: 'test',
        date: new Date().toISOString(),
        version: '5.3',
      };
      const frame = packV1([Buffer.from('shell'), json(header), json({}), json({}), json(cell(`print(${i})`)), bulk]);
      const sent = await new Promise<boolean>((resolve) => client.ws.send(frame, (error) => resolve(!error)));
      if (!sent) return i;
    }
    return count;
  })();
  return { msgIds, done };
}

test('1 GiB of execute_requests behind a running cell: bounded memory, an interrupt gets through, the held cells run in order', async () => {
  const kernel = await startKernel('held-flood');
  const flooder = await RawKernelClient.connect(kernel.channels, 'v1');
  const other = await RawKernelClient.connect(kernel.channels, 'v1');
  assert.equal((await flooder.execute('print("warm")')).stream, 'warm\n');
  const baseline = await memory();

  const { msgId: running } = await runForever(flooder);
  const count = FLOOD_BYTES / FRAME_BYTES;
  const sent = flood(flooder, count);
  // Past its share the sidecar stops reading the flood; one that does not reads it all.
  const held = await heldUntil((bytes) => bytes > HELD_SHARE, 'the flood was never held', sent.done);
  const whileHeld = await memory();
  const taken = sent.msgIds.slice();
  assert.ok(
    whileHeld.rss - baseline.rss < RSS_BOUND,
    `holding the flood raised the RSS by ${mib(whileHeld.rss - baseline.rss)}: more than ${mib(RSS_BOUND)}`,
  );
  assert.ok(taken.length < count, `all ${count} requests (${mib(FLOOD_BYTES)}) were taken in behind a running cell`);
  refused();

  // Another connection's interrupt (control channel) reaches the running cell meanwhile.
  const interrupted = flooder.next(replyTo(running));
  const interruptReply = other.next((m) => m.header.msg_type === 'interrupt_reply');
  other.send('control', 'interrupt_request', {});
  await within(interruptReply, 60_000, 'no interrupt_reply');
  const reply = await within(interrupted, 60_000, 'the running cell was not interrupted');
  assert.equal(reply.content.status, 'error');
  assert.equal(reply.content.ename, 'KeyboardInterrupt');
  survived();

  // Then every request sent while the flood was held runs, in order, with its reply.
  const last = taken.at(-1)!;
  if (!flooder.received.some(replyTo(last)))
    await within(flooder.next(replyTo(last)), 120_000, 'no reply to the last held cell');
  // The client gives up on the rest of its flood: what the sidecar holds of it goes with the connection.
  flooder.ws.terminate();
  const replies = flooder.received.filter((m) => m.header.msg_type === 'execute_reply');
  assert.deepEqual(
    replies.map((m) => m.parent_header.msg_id).filter((id) => taken.includes(id!)),
    taken,
    'every held cell answered, in the order sent',
  );
  assert.ok(replies.every((m) => m.parent_header.msg_id === running || m.content.status === 'ok'));
  const printed = flooder.received
    .filter((m) => m.header.msg_type === 'stream' && taken.includes(m.parent_header.msg_id!))
    .map((m) => m.content.text as string)
    .join('');
  assert.equal(printed, taken.map((_, i) => `${i}\n`).join(''));
  await heldUntil((bytes) => bytes === 0, 'a closed connection kept its held requests');
  const drained = await memory();
  console.log(
    `held-requests: a client tried to send ${mib(FLOOD_BYTES)} behind a running cell (${count} requests of ${mib(FRAME_BYTES)}); ` +
      `the sidecar held ${mib(held)} (share ${mib(HELD_SHARE)}) and stopped reading after ${taken.length} requests had been written; ` +
      `RSS baseline ${mib(baseline.rss)}, while held +${mib(whileHeld.rss - baseline.rss)} (peak +${mib(whileHeld.peak - baseline.rss)}), ` +
      `peak while the held cells ran +${mib(drained.peak - baseline.rss)}, after the client left +${mib(drained.rss - baseline.rss)}; bound +${mib(RSS_BOUND)}`,
  );
  assert.ok(
    drained.peak - baseline.rss < RSS_BOUND,
    `running the held cells peaked at +${mib(drained.peak - baseline.rss)}: more than ${mib(RSS_BOUND)}`,
  );
  survived(taken.length + 1);
  await other.close();
});

test('a connection that closes, and a kernel restart that drops the held cells, give back their bytes', async () => {
  const kernel = await startKernel('held-restart');
  const runner = await RawKernelClient.connect(kernel.channels, 'v1');
  const pid = Number((await runForever(runner, 'import os\nprint(os.getpid(), flush=True)\n')).stream);
  const count = (4 * HELD_SHARE) / FRAME_BYTES;
  // Held behind another connection's cell that runs on: a connection that closes gives them back at once.
  const leaving = await RawKernelClient.connect(kernel.channels, 'v1');
  const gone = flood(leaving, count);
  await heldUntil((bytes) => bytes > HELD_SHARE, 'the requests were never held', gone.done);
  leaving.ws.terminate();
  // The sidecar stopped reading that socket, so it learns of the close when it next writes to it:
  // kernel output, which goes to every connection (a control request's busy and idle, here).
  await within(
    (async () => {
      while ((await heldBytes()) > 0) {
        const msgId = runner.send('control', 'kernel_info_request', {});
        await runner.next((m) => m.header.msg_type === 'kernel_info_reply' && m.parent_header.msg_id === msgId);
      }
    })(),
    60_000,
    'a closed connection kept its held requests',
  );
  survived();

  // Held again, and the kernel restarts.
  const flooder = await RawKernelClient.connect(kernel.channels, 'v1');
  const sent = flood(flooder, count);
  await heldUntil((bytes) => bytes > HELD_SHARE, 'the requests were never held', sent.done);
  // The kernel dies; Jupyter Server restarts it and says so (`restarting`), as after any crash.
  process.kill(pid, 'SIGKILL');
  assert.equal(await within(sent.done, 120_000, 'the connection was not read again after the restart'), count);
  const last = sent.msgIds.at(-1)!;
  if (!flooder.received.some(replyTo(last)))
    await within(flooder.next(replyTo(last)), 120_000, 'no reply to the last request');
  const answered = new Set(
    flooder.received.filter((m) => m.header.msg_type === 'execute_reply').map((m) => m.parent_header.msg_id),
  );
  const firstAnswered = sent.msgIds.findIndex((id) => answered.has(id));
  assert.ok(firstAnswered > 0, 'the requests held at the restart were dropped');
  assert.ok(
    sent.msgIds.slice(firstAnswered).every((id) => answered.has(id)),
    'every request after them ran',
  );
  assert.equal(await heldBytes(), 0, 'the restart gave back what it dropped');
  survived();
  await flooder.close();
  await runner.close();
});

test('a restart asked through REST drops the held cells, and the next cell runs at once', async () => {
  const kernel = await startKernel('held-rest-restart');
  const runner = await RawKernelClient.connect(kernel.channels, 'v1');
  await runForever(runner);
  const queued = await RawKernelClient.connect(kernel.channels, 'v1');
  const dropped = [0, 1].map((i) => queued.send('shell', 'execute_request', cell(`print(${i})`)));
  await heldUntil((bytes) => bytes > 0, 'the requests were never held');
  const restart = await fetch(
    `${url}chats/held-rest-restart/api/kernels/${kernel.id}/restart?token=${bed.jupyter.token}`,
    { method: 'POST' },
  );
  assert.equal(restart.status, 200);
  // Jupyter Server tells no open socket of this restart: the sidecar drops the held cells itself,
  // as the kernel drops its queue (before, they stayed held until the execution timeout)...
  await heldUntil((bytes) => bytes === 0, 'the restart kept the held requests');
  // ...so the next cell runs in the new kernel instead of waiting behind them. It is sent on a new
  // connection, as JupyterLab reconnects after a restart: Jupyter Server 1.23 does not re-subscribe
  // an open socket's iopub to the new kernel, so that socket sees replies but no output and no idle.
  const fresh = await RawKernelClient.connect(kernel.channels, 'v1');
  await iopubAnswers(fresh);
  const next = await fresh.execute('print("after")', { timeoutMs: 60_000 });
  assert.equal(next.reply?.content.status, 'ok');
  assert.equal(next.stream, 'after\n');
  const replied = queued.received.filter((m) => m.header.msg_type === 'execute_reply');
  assert.ok(!replied.some((m) => dropped.includes(m.parent_header.msg_id!)), 'a dropped cell ran');
  survived();
  await fresh.close();
  await queued.close();
  await runner.close();
});

/**
 * Resolves once the kernel's status messages reach `client` through iopub: Jupyter Server checks a
 * new connection so only when it believes the kernel idle, and a kernel just restarted may still
 * look busy to it. Each kernel_info_request is answered on shell; its busy status comes through
 * iopub once that is connected, as a careful client (and the sidecar's MCP connection) checks.
 */
async function iopubAnswers(client: RawKernelClient): Promise<void> {
  const probes = new Set<string>();
  const answered = () =>
    client.received.some((m) => m.header.msg_type === 'status' && probes.has(m.parent_header.msg_id!));
  while (!answered()) {
    const msgId = client.send('shell', 'kernel_info_request', {});
    probes.add(msgId);
    await within(
      client.next((m) => m.parent_header.msg_id === msgId && m.header.msg_type === 'kernel_info_reply'),
      60_000,
      'no kernel_info_reply',
    );
  }
}
