/**
 * The gateway down at start, restarted mid-session, and slow. The sidecar answers each with a
 * JSON error (502, 504) or a clean close, recovers without a restart of its own, and records
 * the file an interrupted execution wrote.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startLocalJupyter, type LocalJupyter } from '../../proxy/local-jupyter.ts';
import { freePort } from '../support/free-port.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';
import { startSidecar, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { lost, reportAfter, survived } from './reliability-counter.ts';
import { rawRequest, rawUpgrade, waitFor } from './reliability-helpers.ts';

reportAfter('gateway-faults');

const TOKEN = 'reliability-jupyter-token-0123456789';
let dir: string;
let port: number;
let jupyter: LocalJupyter | null = null;
let proxy: RunningSidecar;
const logLines: string[] = [];
const log = (...args: unknown[]) => logLines.push(args.map(String).join(' '));
const logger = { info: log, warn: log, error: log };

function startJupyter(): Promise<LocalJupyter> {
  return startLocalJupyter({ rootDir: path.join(dir, 'workspaces'), port, token: TOKEN });
}

function assertJsonError(res: { status: number; body: Buffer | string }, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  assert.ok(body.error.message.length > 10);
}

async function health(base: string): Promise<string> {
  const res = await fetch(`${base}sidecar/v1/health`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { gateway: string }).gateway;
}

async function openKernel(
  chat: string,
  format: 'legacy' | 'v1' = 'legacy',
): Promise<{ id: string; client: RawKernelClient }> {
  const res = await fetch(`${proxy.url}chats/${chat}/api/kernels?token=${TOKEN}`, { method: 'POST' });
  assert.equal(res.status, 201, await res.clone().text());
  const { id } = (await res.json()) as { id: string };
  const client = await RawKernelClient.connect(
    `${proxy.url.replace(/^http/, 'ws')}chats/${chat}/api/kernels/${id}/channels?token=${TOKEN}`,
    format,
  );
  return { id, client };
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-faults-'));
  port = await freePort();
  const bed = {
    dir,
    workspaceRoot: path.join(dir, 'workspaces'),
    jupyter: { url: `http://127.0.0.1:${port}/`, token: TOKEN },
  } as TestBed;
  proxy = await startSidecar(bed, {}, { logger });
});

after(async () => {
  await proxy?.stop();
  await jupyter?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the gateway is down when the sidecar starts', () => {
  test('REST gets 502 JSON, the WebSocket handshake 502, health says down', async () => {
    assertJsonError(await rawRequest(proxy.url, 'GET', `/api/kernels?token=${TOKEN}`), 502, 'ERR_GATEWAY_UNREACHABLE');
    assertJsonError(
      await rawRequest(proxy.url, 'POST', `/chats/early/api/kernels?token=${TOKEN}`),
      502,
      'ERR_GATEWAY_UNREACHABLE',
    );
    assertJsonError(await rawRequest(proxy.url, 'GET', `/api/contents?token=${TOKEN}`), 502, 'ERR_GATEWAY_UNREACHABLE');
    const upgrade = await rawUpgrade(
      proxy.url,
      `/chats/early/api/kernels/0d6e4a1c-0000-4000-8000-000000000000/channels?token=${TOKEN}`,
    );
    assertJsonError(upgrade, 502, 'ERR_GATEWAY_UNREACHABLE');
    assert.equal(await health(proxy.url), 'down');
    assert.equal(proxy.sidecar.connections(), 0);
    survived();
  });

  test('then the gateway comes up on that port: the same sidecar works', async () => {
    jupyter = await startJupyter();
    assert.equal(await health(proxy.url), 'up');
    const { client } = await openKernel('recovered');
    const run = await client.execute('print(40 + 2)');
    assert.equal(run.stream, '42\n');
    await client.close();
    survived();
  });
});

describe('the gateway restarts mid-session', () => {
  test('open sockets see a close, the interrupted execution is recorded, a new kernel works after', async () => {
    const { client } = await openKernel('restart', 'v1');
    const closed = new Promise<number>((resolve) => client.ws.once('close', (code) => resolve(code)));
    // Started, wrote its file, and still running when the gateway goes away.
    const code =
      "open('/mnt/data/before-restart.csv', 'w').write('a,b\\n1,2\\n')\nprint('written', flush=True)\nimport time\ntime.sleep(60)";
    client.send('shell', 'execute_request', {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
    });
    await waitFor('the file written', () =>
      client.received.some((m) => m.header.msg_type === 'stream' && String(m.content.text).includes('written')),
    );
    await jupyter!.stop();
    jupyter = null;
    const closeCode = await closed;
    assert.ok([1000, 1001, 1006, 1011].includes(closeCode), `close code ${closeCode}`);
    await waitFor('sidecar connections back to 0', () => proxy.sidecar.connections() === 0);
    const recorded = await waitFor(
      'the interrupted execution recorded',
      async () => (await proxy.sidecar.store.listChat('restart')).find((r) => r.path === 'before-restart.csv'),
      5000,
    ).catch(() => null);
    if (!recorded) lost(1);
    assert.ok(recorded, 'the file written before the restart is recorded');
    assert.equal(recorded.source, 'execution');

    // While it is down: 502, not a hang.
    assertJsonError(await rawRequest(proxy.url, 'GET', `/api/kernels?token=${TOKEN}`), 502, 'ERR_GATEWAY_UNREACHABLE');
    jupyter = await startJupyter();
    const again = await openKernel('restart');
    const run = await again.client.execute("import os\nprint(sorted(os.listdir('/mnt/data')))");
    assert.equal(run.stream, "['before-restart.csv']\n");
    await again.client.close();
    survived();
  });
});

describe('a slow gateway', () => {
  const SLOW_MS = 2500;
  let slow: FakeGateway;
  let slowProxy: RunningSidecar;
  before(async () => {
    slow = await startFakeGateway({ delayMs: SLOW_MS });
    const bed = {
      dir,
      workspaceRoot: path.join(dir, 'workspaces'),
      jupyter: { url: slow.url, token: TOKEN },
    } as TestBed;
    slowProxy = await startSidecar(
      bed,
      { 'gateway-timeout-s': '0.3', 'data-dir': path.join(dir, 'slow-store') },
      { logger },
    );
  });
  after(async () => {
    await slowProxy?.stop();
    await slow?.close();
  });

  test('gets 504 JSON after --gateway-timeout-s 0.3, on REST and on the WebSocket handshake', async () => {
    assert.equal(slowProxy.options.gatewayTimeoutMs, 300);
    const timed = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
      const started = Date.now();
      const result = await call();
      const took = Date.now() - started;
      assert.ok(took < SLOW_MS - 500, `${what} took ${took} ms: it waited for the gateway`);
      return result;
    };
    assertJsonError(
      await timed('GET', () => rawRequest(slowProxy.url, 'GET', `/api/kernels?token=${TOKEN}`)),
      504,
      'ERR_GATEWAY_TIMEOUT',
    );
    const created = await timed('POST', () =>
      rawRequest(slowProxy.url, 'POST', `/chats/slow/api/kernels?token=${TOKEN}`, {
        headers: { 'content-type': 'application/json' },
        body: '{}',
      }),
    );
    assertJsonError(created, 504, 'ERR_GATEWAY_TIMEOUT');
    const upgrade = await timed('upgrade', () =>
      rawUpgrade(slowProxy.url, `/chats/slow/api/kernels/0d6e4a1c-0000-4000-8000-000000000001/channels?token=${TOKEN}`),
    );
    assertJsonError(upgrade, 504, 'ERR_GATEWAY_TIMEOUT');
    assert.equal(slowProxy.sidecar.connections(), 0);
    survived();
  });

  test('the late answers do no harm, and it works once the gateway is quick again', async () => {
    await slow.settled(); // the late answers arrive on requests the sidecar already answered
    slow.delayMs = 0;
    const res = await rawRequest(slowProxy.url, 'POST', `/chats/slow/api/kernels?token=${TOKEN}`, {
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(res.status, 201, res.body.toString());
    const { id } = res.json() as { id: string };
    const ws = new WebSocket(`${slowProxy.url.replace(/^http/, 'ws')}chats/slow/api/kernels/${id}/channels`);
    await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
    ws.close();
    await new Promise((r) => ws.once('close', r));
    survived();
  });
});

describe('logs', () => {
  test('name what failed in one line, and never the token', () => {
    const failures = logLines.filter((l) => /ECONNREFUSED|timeout|ETIMEDOUT/i.test(l));
    assert.ok(failures.length >= 3, logLines.join('\n'));
    for (const line of logLines) {
      assert.ok(!line.includes(TOKEN), `the Jupyter token in a log line: ${line}`);
      assert.ok(!line.includes('\n    at '), `a stack trace for a known network error: ${line}`);
    }
  });
});
