/**
 * 200 kernel connections at once through one sidecar, executing for a few seconds, then closed:
 * every execution answered in order, and afterwards no socket and no file handle left open.
 *
 * The gateway is a fake (test/support/fake-gateway.ts) that speaks just enough of the kernel
 * protocol (execute_request -> status busy, stream, execute_reply, status idle): 200 real
 * ipykernels would need gigabytes and minutes here, and the sidecar's side of it is the same.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar } from '../../proxy/sidecar.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { reportAfter, survived } from './reliability-counter.ts';
import { openFds, rawRequest, waitFor } from './reliability-helpers.ts';

reportAfter('load');

const CONNECTIONS = 200;
const RUN_MS = 3000;
/** File handles the runtime may open on its own (timers, DNS, the test runner's pipes). */
const FD_SLACK = 8;

let dir: string;
let gateway: FakeGateway;
let sidecar: Sidecar;
let base: string;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-load-'));
  gateway = await startFakeGateway();
  const options = resolveOptions(
    { 'gateway-url': gateway.url, 'workspace-root': path.join(dir, 'ws'), 'data-dir': path.join(dir, 'store') },
    {},
  );
  options.port = 0;
  sidecar = await createSidecar(options);
  base = await sidecar.listen();
});

after(async () => {
  await sidecar?.close();
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

async function openConnection(chat: string, format: 'legacy' | 'v1'): Promise<RawKernelClient> {
  const res = await rawRequest(base, 'POST', `/chats/${chat}/api/kernels`, {
    headers: { 'content-type': 'application/json' },
    body: '{"name":"python3"}',
  });
  assert.equal(res.status, 201, res.body.toString());
  const { id } = res.json() as { id: string };
  return RawKernelClient.connect(`${base.replace(/^http/, 'ws')}chats/${chat}/api/kernels/${id}/channels`, format);
}

const connectionsOf = (server: Sidecar['server']) =>
  new Promise<number>((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));

test(`${CONNECTIONS} concurrent kernel connections for ${RUN_MS / 1000} s: all answered, nothing leaked`, async () => {
  // Warm up once, so what the runtime opens lazily (and keeps) is in the baseline.
  const warm = await openConnection('warm-up', 'legacy');
  await warm.execute('warm up');
  await warm.close();
  await waitFor(
    'warm-up closed',
    async () => sidecar.connections() === 0 && (await connectionsOf(sidecar.server)) === 0,
  );
  const fdsBefore = openFds();

  const clients = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) => openConnection(`load-${i}`, i % 2 ? 'v1' : 'legacy')),
  );
  assert.equal(sidecar.connections(), CONNECTIONS);
  assert.equal(gateway.sockets.size, CONNECTIONS);

  const deadline = Date.now() + RUN_MS;
  let executions = 0;
  let wrong = 0;
  await Promise.all(
    clients.map(async (client, i) => {
      for (let n = 0; Date.now() < deadline; n++) {
        const code = `print(${i}, ${n}, '/mnt/data/out.csv')`;
        const run = await client.execute(code, { timeoutMs: 20_000 });
        // The fake kernel echoes the code it got: /mnt/data went in as the workspace and came back out.
        if (run.reply?.content.status !== 'ok' || run.stream !== `${code}\n`) wrong++;
        executions++;
      }
    }),
  );
  assert.equal(wrong, 0, `${wrong} of ${executions} executions answered wrongly`);
  assert.ok(executions >= CONNECTIONS, `${executions} executions`);
  await Promise.all(clients.map((c) => c.close()));
  await waitFor('sidecar kernel connections back to 0', () => sidecar.connections() === 0, 10_000);
  await waitFor('gateway sockets back to 0', () => gateway.sockets.size === 0, 10_000);
  await waitFor('server connections back to 0', async () => (await connectionsOf(sidecar.server)) === 0, 10_000);
  const fdsAfter = await waitFor(
    'file handles back to the baseline',
    () => (openFds() <= fdsBefore + FD_SLACK ? openFds() : 0),
    10_000,
  ).catch(() => openFds());
  assert.ok(fdsAfter <= fdsBefore + FD_SLACK, `file handles: ${fdsBefore} before, ${fdsAfter} after`);
  process.stdout.write(
    `load: ${CONNECTIONS} connections, ${executions} executions in ${RUN_MS} ms, fds ${fdsBefore} -> ${fdsAfter}\n`,
  );

  const health = await fetch(`${base}sidecar/v1/health`, { headers: { connection: 'close' } });
  assert.equal(health.status, 200);
  survived();
});
