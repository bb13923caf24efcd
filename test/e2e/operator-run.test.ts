/**
 * The sidecar as an operator runs it: the real CLI process (proxy/main.ts) in front of a real
 * Jupyter Server, with every secret set, JSON logs at debug level. A full run (an execution with
 * Open WebUI's calls, a download through a link token, an upload, a webhook delivery, /metrics),
 * then SIGTERM while an execution runs and another waits behind it: the process stops taking
 * connections, both executions finish and are recorded, and their ends (output, file card, idle)
 * reach the client before its socket closes with 1001; it exits 0; after a restart the records are all there and
 * no webhook was delivered twice. Every line of both runs' logs is JSON with a level, and no
 * token, secret or link token appears in any of them.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { API_PREFIX, filesApiPaths, type FileLinkResponse, type FileListResponse } from '../../contract/files-api.ts';
import { startTestBed, type TestBed } from '../support/harness.ts';
import { runLikeOpenWebUi } from '../support/open-webui-run.ts';
import { RawKernelClient, visibleText } from '../support/raw-kernel-client.ts';
import { signToken } from '../support/tokens.ts';

const mainTs = path.resolve(import.meta.dirname, '../../proxy/main.ts');
const FILES_API_SECRET = randomBytes(32).toString('hex');
const WEBHOOK_SECRET = `whsec-${randomBytes(16).toString('hex')}`;
const METRICS_TOKEN = `mtok-${randomBytes(16).toString('hex')}`;
const WRONG_TOKEN = `wrong-${randomBytes(16).toString('hex')}`;
const CHAT = 'operator-chat';

let bed: TestBed;
let receiver: http.Server;
let receiverUrl: string;
/** Delivery ids the receiver got, in order, and a hook for the test waiting on the next. */
const deliveries: string[] = [];
let onDelivery: (() => void) | undefined;

interface SidecarProcess {
  child: ChildProcess;
  url: string;
  logs: () => string;
  exited: Promise<number | null>;
}

function startSidecarProcess(): Promise<SidecarProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainTs], {
    env: {
      ...process.env,
      GATEWAY_URL: bed.jupyter.url,
      SIDECAR_PORT: '0',
      WORKSPACE_ROOT: bed.workspaceRoot,
      DATA_DIR: path.join(bed.dir, 'store'),
      FILES_API_SECRET,
      WEBHOOK_URL: receiverUrl,
      WEBHOOK_SECRET,
      METRICS: 'on',
      METRICS_TOKEN,
      LOG_LEVEL: 'debug',
      SHUTDOWN_GRACE_S: '60',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = () => {
      const url = /listening on (http:\/\/\S+?\/)\s/.exec(logs)?.[1];
      if (url) {
        child.stdout!.off('data', onData);
        resolve({ child, url, logs: () => logs, exited });
      }
    };
    child.stdout!.on('data', onData);
    void exited.then((code) => reject(new Error(`sidecar exited (${code}):\n${logs}`)));
  });
}

const nextDelivery = () => new Promise<void>((resolve) => (onDelivery = resolve));
/** Resolves once the receiver has had `count` deliveries in all. */
const deliveriesReach = (count: number) =>
  new Promise<void>((resolve) => {
    const check = () => deliveries.length >= count && resolve();
    onDelivery = check;
    check();
  });

before(async () => {
  bed = await startTestBed();
  receiver = http.createServer((req, res) => {
    deliveries.push(String(req.headers['x-sidecar-delivery']));
    req.resume();
    req.on('end', () => {
      res.end();
      onDelivery?.();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
after(async () => {
  await new Promise((resolve) => receiver?.close(resolve));
  await bed?.stop();
});

test('a full run, SIGTERM with executions in flight, a restart: exit 0, records kept, nothing delivered twice, no secret in any log', async () => {
  const jupyterToken = bed.jupyter.token;
  const chatToken = await signToken(FILES_API_SECRET, { chat: CHAT });
  const auth = { authorization: `Bearer ${chatToken}` };
  const first = await startSidecarProcess();
  const at = (p: string) => new URL(p, first.url);

  // Liveness and readiness.
  assert.equal((await fetch(at(`${API_PREFIX}/health/live`))).status, 200);
  const ready = await fetch(at(`${API_PREFIX}/health/ready`));
  assert.equal(ready.status, 200, await ready.clone().text());

  // An execution as Open WebUI makes it (?token= on every call), its webhook delivered.
  let delivered = nextDelivery();
  const run = await runLikeOpenWebUi(
    `${first.url}chats/${CHAT}/`,
    jupyterToken,
    "open('/mnt/data/made.csv', 'w').write('a\\n1\\n')\nprint('made')",
  );
  assert.equal(run.stdout, 'made\n');
  await delivered;

  // A download through a link token, an upload, a refused token, /metrics.
  const list = (await (await fetch(at(filesApiPaths.files(CHAT)), { headers: auth })).json()) as FileListResponse;
  const made = list.files.find((f) => f.path === 'made.csv');
  assert.ok(made);
  const link = (await (
    await fetch(at(filesApiPaths.fileLink(CHAT, made.id)), { method: 'POST', headers: auth })
  ).json()) as FileLinkResponse;
  const linkToken = new URL(link.url, first.url).searchParams.get('token');
  assert.ok(linkToken, 'a link carries its own token');
  assert.equal(await (await fetch(new URL(link.url, first.url))).text(), 'a\n1\n');
  delivered = nextDelivery();
  const upload = await fetch(at(filesApiPaths.upload(CHAT, 'sent.txt')), { method: 'PUT', headers: auth, body: 'up' });
  assert.equal(upload.status, 201);
  await delivered;
  assert.equal((await fetch(at(`${filesApiPaths.files(CHAT)}?token=${WRONG_TOKEN}`))).status, 401);
  assert.equal((await fetch(at('/metrics'), { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })).status, 200);

  // An execution that waits for a file the test writes: in flight when SIGTERM arrives.
  const created = await fetch(at(`chats/${CHAT}/api/kernels?token=${jupyterToken}`), { method: 'POST' });
  const kernelId = ((await created.json()) as { id: string }).id;
  const client = await RawKernelClient.connect(
    `${first.url.replace(/^http/, 'ws')}chats/${CHAT}/api/kernels/${kernelId}/channels?token=${jupyterToken}`,
    'legacy',
  );
  const waiting = new Promise<void>((resolve) =>
    client.ws.on('message', () => {
      if (client.received.some((m) => m.header.msg_type === 'stream' && String(m.content.text).includes('waiting')))
        resolve();
    }),
  );
  const execution = client.execute(
    [
      'import os, time',
      "print('waiting', flush=True)",
      "while not os.path.exists('/mnt/data/go'): time.sleep(0.02)",
      "open('/mnt/data/during-shutdown.txt', 'w').write('finished')",
      "print('done')",
    ].join('\n'),
    { timeoutMs: 120_000 },
  );
  await waiting;
  // A second cell, queued in the kernel behind the first: sent before the signal, so in flight too.
  const queued = client.execute(
    [
      "while not os.path.exists('/mnt/data/go-queued'): time.sleep(0.02)",
      "open('/mnt/data/queued-at-shutdown.txt', 'w').write('queued')",
      "print('queued done')",
    ].join('\n'),
    { timeoutMs: 120_000 },
  );
  let closeCode: number | undefined;
  client.ws.once('close', (code) => (closeCode = code));
  first.child.kill('SIGTERM');
  const logSays = (pattern: RegExp) =>
    Promise.race([
      new Promise<void>((resolve) => {
        const check = () => pattern.test(first.logs()) && resolve();
        first.child.stdout!.on('data', check);
        check();
      }),
      first.exited.then((code) => assert.fail(`exited (${code}) before logging ${pattern}:\n${first.logs()}`)),
    ]);
  // Stopped taking connections: wait for the line that says so, then release the first cell.
  await logSays(/SIGTERM: no new connections/);
  await assert.rejects(fetch(at(`${API_PREFIX}/health/live`)), 'the listening socket is closed');
  await writeFile(path.join(bed.workspaceRoot, CHAT, 'go'), '');
  // Its end reaches the client before the socket closes: the output, the file card, idle.
  const ended = await execution;
  assert.equal(ended.stream, 'waiting\ndone\n');
  assert.match(visibleText(ended.messages), /during-shutdown\.txt/, 'the file card');
  assert.equal(closeCode, undefined, 'the socket is open after the first cell ended');
  // The shutdown waits for the queued cell too; release it once the sidecar says it waits.
  await logSays(/waiting for 1 execution\(s\) on kernel connections/);
  await writeFile(path.join(bed.workspaceRoot, CHAT, 'go-queued'), '');
  const queuedEnded = await queued;
  assert.equal(queuedEnded.stream, 'queued done\n');
  assert.match(visibleText(queuedEnded.messages), /queued-at-shutdown\.txt/, "the queued cell's file card");
  // Only then the socket closes, going away (1001).
  await new Promise<void>((resolve) =>
    closeCode !== undefined ? resolve() : client.ws.once('close', () => resolve()),
  );
  assert.equal(closeCode, 1001);
  assert.equal(await first.exited, 0, 'exit 0 after recording');
  await client.close().catch(() => {});

  // Restarted: the records are there, and the owed delivery is made once.
  const second = await startSidecarProcess();
  try {
    const again = (await (
      await fetch(new URL(filesApiPaths.files(CHAT), second.url), { headers: auth })
    ).json()) as FileListResponse;
    const paths = again.files.map((f) => f.path).sort();
    assert.deepEqual(paths, ['during-shutdown.txt', 'made.csv', 'queued-at-shutdown.txt', 'sent.txt']);
    for (const name of ['during-shutdown.txt', 'queued-at-shutdown.txt']) {
      const during = again.files.find((f) => f.path === name)!;
      assert.equal(during.source, 'execution', `${name}: recorded as its execution, not found later`);
    }
    await deliveriesReach(4);
    assert.equal(deliveries.length, 4, 'one delivery per recorded file');
    assert.equal(new Set(deliveries).size, deliveries.length, 'none delivered twice');
    await fetch(new URL(`api/kernels/${kernelId}?token=${jupyterToken}`, second.url), { method: 'DELETE' });
  } finally {
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  }

  // Every line of both runs: JSON with a level and a time; request lines name their request.
  const logs = first.logs() + second.logs();
  const lines = logs.split('\n').filter(Boolean);
  for (const line of lines) {
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.ok(['debug', 'info', 'warn', 'error'].includes(String(entry.level)), line);
    assert.equal(typeof entry.time, 'number', line);
  }
  const requestLines = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.component === 'http');
  assert.ok(requestLines.length > 5, 'one debug line per request');
  for (const entry of requestLines) assert.match(String(entry.reqId), /^[\w.:-]+$/);
  assert.ok(
    requestLines.some((e) => e.chatId === CHAT && e.kernelId === run.kernelId),
    `a kernel route under a chat prefix names both:\n${requestLines.map((e) => JSON.stringify(e)).join('\n')}`,
  );
  for (const [name, secret] of Object.entries({
    jupyterToken,
    FILES_API_SECRET,
    WEBHOOK_SECRET,
    METRICS_TOKEN,
    WRONG_TOKEN,
    chatToken,
    linkToken,
  })) {
    assert.ok(!logs.includes(secret), `${name} appears in the logs`);
  }
});
