/**
 * Webhooks on a real Jupyter Server: a receiver started here verifies every signature; it is
 * down, then up; the sidecar is killed with SIGKILL between recording and delivery.
 * Every wait is for an event (a delivery, a line, a counter), never for a time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { verifySignature } from '../../proxy/webhooks/webhook-signature.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { freePort } from '../support/free-port.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';

const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef';
const FILES_SECRET = 'webhook-files-secret-at-least-32-bytes!!';
const child = fileURLToPath(new URL('../support/webhook-child.ts', import.meta.url));
let bed: TestBed;

before(async () => {
  bed = await startTestBed();
});
after(() => bed?.stop());

/** A receiver like an app would write: verifies, dedupes by the signed delivery id, answers 204. */
class Receiver extends WebhookReceiver {
  constructor() {
    super(WEBHOOK_SECRET);
  }
}

async function execute(proxy: RunningSidecar, chat: string, code: string) {
  const base = `${proxy.url}chats/${chat}/`;
  const { id } = (await (await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' })).json()) as {
    id: string;
  };
  const client = await RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'v1',
  );
  const run = await client.execute(code);
  await client.close();
  return run;
}

async function healthOf(proxy: RunningSidecar) {
  return (
    (await (await fetch(`${proxy.url}sidecar/v1/health`)).json()) as {
      webhooks: { pending: number; failed: number; failedAttempts: number; delivered: number };
    }
  ).webhooks;
}

describe('webhooks', () => {
  test('one signed POST per recorded file version, with a link that downloads it', async () => {
    const receiver = new Receiver();
    const port = await receiver.listen();
    const proxy = await startSidecar(
      bed,
      { 'webhook-url': `http://127.0.0.1:${port}/hook`, 'public-url': 'http://files.example.test/' },
      {},
      { WEBHOOK_SECRET, FILES_API_SECRET: FILES_SECRET },
    );
    try {
      await execute(
        proxy,
        'hook-a',
        "open('/mnt/data/a.csv', 'w').write('a,1\\n')\nopen('/mnt/data/b.csv', 'w').write('b')",
      );
      await receiver.waitFor(2);
      const byPath = new Map([...receiver.deliveries.values()].map((d) => [d.path, d]));
      const a = byPath.get('a.csv')!;
      assert.equal(a.chat, 'hook-a');
      assert.equal(a.version, 1);
      assert.equal(a.size, 4);
      assert.equal(a.mimeType, 'text/csv');
      assert.match(a.sha256, /^[0-9a-f]{64}$/);
      assert.ok(a.execution?.msgId);
      const link = new URL(a.downloadUrl);
      assert.equal(link.origin, 'http://files.example.test', 'links use --public-url');
      assert.ok(link.searchParams.get('token'));
      // The same link on the sidecar's real address downloads the exact bytes.
      assert.equal(await (await fetch(new URL(link.pathname + link.search, proxy.url))).text(), 'a,1\n');
      assert.equal(receiver.forged, 0);
      assert.equal(receiver.headerMismatches, 0);
      // The receiver has both; the sidecar counts each once its answer is in and the entry removed.
      while ((await healthOf(proxy)).delivered < 2) await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(await healthOf(proxy), { pending: 0, failed: 0, failedAttempts: 0, delivered: 2 });
      // A forged delivery fails verification.
      assert.equal(verifySignature(WEBHOOK_SECRET, '{"x":1}', 't=1,v1=00'), false);
    } finally {
      await proxy.stop();
      await receiver.close();
    }
  });

  test('a receiver down, then up: every delivery arrives, none twice after idempotency', async () => {
    const port = await freePort();
    const proxy = await startSidecar(
      bed,
      { 'webhook-url': `http://127.0.0.1:${port}/hook`, 'webhook-retry-min': '20ms', 'webhook-retry-max': '200ms' },
      {},
      { WEBHOOK_SECRET },
    );
    const receiver = new Receiver();
    try {
      await execute(proxy, 'hook-down', "for j in range(4): open(f'/mnt/data/d{j}.csv', 'w').write(str(j))");
      // Wait until the sidecar has seen the receiver down a few times.
      while ((await healthOf(proxy)).failedAttempts < 8) await new Promise((resolve) => setImmediate(resolve));
      assert.equal((await healthOf(proxy)).pending, 4);
      await receiver.listen(port);
      await receiver.waitFor(4);
      assert.deepEqual([...receiver.deliveries.values()].map((d) => d.path).sort(), [
        'd0.csv',
        'd1.csv',
        'd2.csv',
        'd3.csv',
      ]);
      assert.equal(receiver.forged, 0);
      assert.equal(receiver.headerMismatches, 0);
      while ((await healthOf(proxy)).pending > 0) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(
        (await proxy.sidecar.store.listOutbox()).filter((e) => e.chatId === 'hook-down').length,
        0,
        'the outbox is empty once delivered',
      );
    } finally {
      await proxy.stop();
      await receiver.close();
    }
  });

  test('deliveries past --webhook-max-age are kept as failed and shown by health', async () => {
    const port = await freePort();
    const proxy = await startSidecar(
      bed,
      // Otherwise as main.ts builds it: the default retry delays.
      { 'webhook-url': `http://127.0.0.1:${port}/`, 'webhook-max-age': '0.001' },
      {},
      { WEBHOOK_SECRET },
    );
    try {
      await execute(proxy, 'hook-old', "open('/mnt/data/old.csv', 'w').write('o')");
      while ((await healthOf(proxy)).failed < 1) await new Promise((resolve) => setImmediate(resolve));
      const entry = (await proxy.sidecar.store.listOutbox()).find((e) => e.chatId === 'hook-old');
      assert.equal(entry?.state, 'failed');
      assert.equal(entry?.lastError, 'ECONNREFUSED');
    } finally {
      await proxy.stop();
    }
  });

  test('a redirect is a failure, never followed', async () => {
    let redirected = 0;
    const target = http.createServer((_req, res) => (redirected++, res.writeHead(204).end())).listen(0, '127.0.0.1');
    await once(target, 'listening');
    const bouncer = http.createServer((_req, res) =>
      res
        .writeHead(307, { location: `http://127.0.0.1:${(target.address() as AddressInfo).port}/` })
        .end('secret body'),
    );
    bouncer.listen(0, '127.0.0.1');
    await once(bouncer, 'listening');
    const proxy = await startSidecar(
      bed,
      {
        'webhook-url': `http://127.0.0.1:${(bouncer.address() as AddressInfo).port}/`,
        'webhook-retry-min': '10ms',
        'webhook-retry-max': '10ms',
      },
      {},
      { WEBHOOK_SECRET },
    );
    try {
      await execute(proxy, 'hook-redirect', "open('/mnt/data/r.csv', 'w').write('r')");
      while ((await healthOf(proxy)).failedAttempts < 2) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(redirected, 0);
      assert.equal(
        (await proxy.sidecar.store.listOutbox()).find((e) => e.chatId === 'hook-redirect')?.lastError,
        'HTTP 307',
      );
    } finally {
      await proxy.stop();
      target.close();
      bouncer.close();
    }
  });

  test('kill -9 between recording and delivery loses nothing', async () => {
    const port = await freePort();
    const dataDir = path.join(bed.dir, 'hook-kill-store');
    const proc = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        child,
        JSON.stringify({
          dir: bed.dir,
          workspaceRoot: bed.workspaceRoot,
          dataDir,
          jupyterUrl: bed.jupyter.url,
          token: bed.jupyter.token,
          chat: 'hook-kill',
          webhookUrl: `http://127.0.0.1:${port}/`,
          secret: WEBHOOK_SECRET,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const line = await new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (d: Buffer) => resolve(d.toString().trim()));
      proc.once('exit', () => reject(new Error(`webhook child exited early: ${stderr}`)));
    });
    assert.equal(line, 'recorded');
    const exited = once(proc, 'exit');
    proc.kill('SIGKILL');
    assert.equal((await exited)[1], 'SIGKILL');

    const receiver = new Receiver();
    await receiver.listen(port);
    const restarted = await startSidecar(
      bed,
      { 'data-dir': dataDir, 'webhook-url': `http://127.0.0.1:${port}/` },
      {},
      { WEBHOOK_SECRET },
    );
    try {
      await receiver.waitFor(3);
      assert.deepEqual([...receiver.deliveries.values()].map((d) => d.path).sort(), ['k0.csv', 'k1.csv', 'k2.csv']);
      assert.equal(receiver.forged, 0);
      assert.equal(receiver.headerMismatches, 0);
    } finally {
      await restarted.stop();
      await receiver.close();
    }
  });
});
