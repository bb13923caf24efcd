/**
 * Issue 22: webhook retries never worked in the shipped sidecar. main.ts built the dispatcher with
 * `backoff: undefined`, which overwrote its default, so every failed attempt threw a TypeError:
 * nothing was marked failed, `--webhook-max-age` never applied, retries came at each lease end.
 * The tests built it with a backoff of their own and never saw it. Here the sidecar is built the
 * one way main.ts builds it (createSidecar from resolved options; the retry delays are options,
 * shortened by flags where a test needs it), files are recorded by uploads (no kernel needed), and
 * a real receiver fails, then recovers. Every wait is for a request or an outbox change.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { OutboxEntry } from '../../proxy/storage/record-store.ts';
import { startSidecar, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { freePort } from '../support/free-port.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';

reportAfter('webhook-retries');

const WEBHOOK_SECRET = 'whsec-reliability-0123456789abcdef';
let dir: string;
let bed: TestBed;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-webhooks-'));
  // Only the files API and the outbox are used: no gateway is ever called.
  bed = {
    dir,
    workspaceRoot: path.join(dir, 'workspaces'),
    jupyter: { url: 'http://127.0.0.1:9/', token: '' },
  } as TestBed;
});
after(() => rm(dir, { recursive: true, force: true }));

let n = 0;
async function start(flags: Record<string, string>): Promise<RunningSidecar> {
  return startSidecar(bed, { 'data-dir': path.join(dir, `store-${n++}`), ...flags }, {}, { WEBHOOK_SECRET });
}

async function upload(proxy: RunningSidecar, chat: string, name: string, body: string): Promise<void> {
  const res = await fetch(`${proxy.url}sidecar/v1/chats/${chat}/uploads/${name}`, { method: 'PUT', body });
  assert.equal(res.status, 201);
}

async function healthOf(proxy: RunningSidecar) {
  return (
    (await (await fetch(`${proxy.url}sidecar/v1/health`)).json()) as {
      webhooks: { pending: number; failed: number; failedAttempts: number; delivered: number };
    }
  ).webhooks;
}

/** The chat's outbox entries once `done` holds for them (checked after each turn of the event loop). */
async function outboxWhen(
  proxy: RunningSidecar,
  chat: string,
  done: (entries: OutboxEntry[]) => boolean,
): Promise<OutboxEntry[]> {
  for (;;) {
    const entries = (await proxy.sidecar.store.listOutbox()).filter((e) => e.chatId === chat);
    if (done(entries)) return entries;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('default retry delays (as main.ts builds it): a failed attempt is written back and retried about 1 s later', async () => {
  const receiver = new WebhookReceiver(WEBHOOK_SECRET);
  receiver.failing = true;
  const port = await receiver.listen();
  const proxy = await start({ 'webhook-url': `http://127.0.0.1:${port}/hook` });
  try {
    await upload(proxy, 'hook-default', 'first.csv', '1');
    await receiver.until(() => receiver.refusedAt.size === 1);
    // Before the fix the attempt threw and the entry stayed untouched (attempts 0) until its lease ended.
    const [entry] = await outboxWhen(proxy, 'hook-default', ([e]) => (e?.attempts ?? 0) > 0);
    assert.equal(entry!.lastError, 'HTTP 503');
    assert.equal(entry!.state, 'pending');
    assert.ok(entry!.nextAttemptAt - Date.now() <= 1250, 'the first retry is due within 1 s (+ jitter)');
    assert.equal((await healthOf(proxy)).failedAttempts, 1);
    refused();
    receiver.failing = false;
    await receiver.waitFor(1);
    assert.equal([...receiver.deliveries.values()][0]!.path, 'first.csv');
    survived();
  } finally {
    await proxy.stop();
    await receiver.close();
  }
});

test('a receiver failing for a while: retries back off (each wait at least twice the last, less jitter), then every delivery arrives', async () => {
  const receiver = new WebhookReceiver(WEBHOOK_SECRET);
  receiver.failing = true;
  const port = await receiver.listen();
  const proxy = await start({
    'webhook-url': `http://127.0.0.1:${port}/hook`,
    'webhook-retry-min': '20ms',
    'webhook-retry-max': '2s',
  });
  try {
    for (let i = 0; i < 3; i++) await upload(proxy, 'hook-backoff', `b${i}.csv`, String(i));
    await receiver.until(() => [...receiver.refusedAt.values()].some((times) => times.length >= 5));
    for (const times of receiver.refusedAt.values()) {
      // Wait n is 20 ms x 2^(n-1) x (0.75..1.25): a lower bound, so a slow machine can only wait longer.
      for (let i = 1; i < times.length; i++) {
        const waited = times[i]! - times[i - 1]!;
        assert.ok(waited >= 20 * 2 ** (i - 1) * 0.75 - 2, `wait ${i}: ${waited.toFixed(1)} ms`);
      }
    }
    refused();
    receiver.failing = false;
    await receiver.waitFor(3);
    assert.deepEqual([...receiver.deliveries.values()].map((d) => d.path).sort(), ['b0.csv', 'b1.csv', 'b2.csv']);
    await outboxWhen(proxy, 'hook-backoff', (entries) => entries.length === 0);
    assert.equal(receiver.forged, 0);
    survived();
  } finally {
    await proxy.stop();
    await receiver.close();
  }
});

test('a receiver down past --webhook-max-age: its deliveries are kept as failed and shown by health', async () => {
  const port = await freePort();
  // Otherwise the defaults: the first failure is already past a max age of 0 s.
  const proxy = await start({ 'webhook-url': `http://127.0.0.1:${port}/`, 'webhook-max-age': '0.001' });
  try {
    await upload(proxy, 'hook-old', 'a.csv', 'a');
    await upload(proxy, 'hook-old', 'b.csv', 'b');
    const entries = await outboxWhen(proxy, 'hook-old', (e) => e.length === 2 && e.every((x) => x.state === 'failed'));
    assert.deepEqual(
      entries.map((e) => e.lastError),
      ['ECONNREFUSED', 'ECONNREFUSED'],
    );
    assert.deepEqual(await healthOf(proxy), { pending: 0, failed: 2, failedAttempts: 2, delivered: 0 });
    refused(2);
  } finally {
    await proxy.stop();
  }
});
