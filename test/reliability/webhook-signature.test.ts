/**
 * Issue 22: webhook signature details. `verifySignature` (the receiver code README tells apps to
 * copy) accepted trailing junk after the hex, an odd last nibble, spaces and `t=+…`; and README
 * told receivers to deduplicate on the delivery header, which is not signed, so a captured
 * delivery could be replayed under a new id. Here: a table of mangled headers against a real
 * signature, and a real delivery from a sidecar captured and replayed under a new header id.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signatureHeader,
  verifySignature,
} from '../../proxy/webhooks/webhook-signature.ts';
import { startSidecar, type TestBed } from '../support/harness.ts';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { refused, reportAfter } from './reliability-counter.ts';

reportAfter('webhook-signature');

const SECRET = 'whsec-signature-0123456789abcdef';
const BODY = '{"type":"file.recorded","deliveryId":"d1"}';
const NOW = 1_800_000_000;

test('a header that is not exactly t=<digits>,v1=<64 lowercase hex> is refused', () => {
  const good = signatureHeader(SECRET, BODY, NOW);
  const hex = good.split('v1=')[1]!;
  assert.equal(verifySignature(SECRET, BODY, good, 300, NOW), true, 'the real header verifies');
  const mangled: Array<[string, string]> = [
    ['trailing junk after the hex', `${good}zz`],
    ['trailing hex nibble (odd length)', `${good}0`],
    ['last nibble dropped (odd length)', good.slice(0, -1)],
    ['a trailing space', `${good} `],
    ['a leading space', ` ${good}`],
    ['a space after the comma', `t=${NOW}, v1=${hex}`],
    ['a space in t', `t= ${NOW},v1=${hex}`],
    ['t=+…', `t=+${NOW},v1=${hex}`],
    ['t in exponent form', `t=1.8e9,v1=${hex}`],
    ['t with a fraction', `t=${NOW}.0,v1=${hex}`],
    ['upper-case hex', `t=${NOW},v1=${hex.toUpperCase()}`],
    ['fields swapped', `v1=${hex},t=${NOW}`],
    ['a second v1', `${good},v1=${hex}`],
    ['an extra field', `${good},v0=00`],
    ['t missing', `v1=${hex}`],
    ['v1 missing', `t=${NOW}`],
    ['empty', ''],
    ['a line break', `${good}\n`],
  ];
  for (const [why, header] of mangled) {
    assert.equal(verifySignature(SECRET, BODY, header, 300, NOW), false, why);
    refused();
  }
  // Still refused: a signature too old, and a body that was changed.
  assert.equal(verifySignature(SECRET, BODY, good, 300, NOW + 301), false);
  assert.equal(verifySignature(SECRET, BODY.replace('d1', 'd2'), good, 300, NOW), false);
  refused(2);
});

test('a real delivery captured and replayed under a new delivery header is recognised by its signed deliveryId', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-webhook-sig-'));
  // The tap: answers 204 and keeps what was sent, as someone on the path would.
  const captured: Array<{ body: string; signature: string; delivery: string }> = [];
  let wake = () => {};
  const tap = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({
        body: Buffer.concat(chunks).toString('utf8'),
        signature: req.headers[SIGNATURE_HEADER] as string,
        delivery: req.headers[DELIVERY_HEADER] as string,
      });
      res.writeHead(204).end();
      wake();
    });
  });
  tap.listen(0, '127.0.0.1');
  await once(tap, 'listening');
  const bed = {
    dir,
    workspaceRoot: path.join(dir, 'w'),
    jupyter: { url: 'http://127.0.0.1:9/', token: '' },
  } as TestBed;
  const proxy = await startSidecar(
    bed,
    { 'webhook-url': `http://127.0.0.1:${(tap.address() as AddressInfo).port}/` },
    {},
    { WEBHOOK_SECRET: SECRET },
  );
  const receiver = new WebhookReceiver(SECRET);
  const port = await receiver.listen();
  try {
    const res = await fetch(`${proxy.url}sidecar/v1/chats/sig/uploads/a.csv`, { method: 'PUT', body: 'a' });
    assert.equal(res.status, 201);
    while (captured.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    const [delivery] = captured;
    const send = (id: string) =>
      fetch(`http://127.0.0.1:${port}/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: delivery!.signature, [DELIVERY_HEADER]: id },
        body: delivery!.body,
      });
    assert.equal((await send(delivery!.delivery)).status, 204);
    // The replay: same signed body, a fresh header id. Within the tolerance, so the signature holds.
    const replay = await send('a-new-id-the-attacker-made-up');
    assert.ok(replay.status === 204 || replay.status === 400);
    assert.equal(receiver.deliveries.size, 1, 'handled once');
    assert.equal(receiver.duplicates, 1, 'the replay is seen as the same delivery');
    assert.equal(receiver.headerMismatches, 1);
    refused();
  } finally {
    await proxy.stop();
    await receiver.close();
    tap.close();
    await rm(dir, { recursive: true, force: true });
  }
});
