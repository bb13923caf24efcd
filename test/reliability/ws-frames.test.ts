/**
 * Malformed, truncated, oversized and non-JSON WebSocket frames in both wire formats, from the
 * client and from the gateway. The sidecar either passes a frame on byte for byte or the
 * connection closes with a proper close code (each counts as a bad input refused); either way
 * it lives on: health answers and every socket is closed after each frame, and a real
 * execution works after each group.
 *
 * The gateway here is a relay (test/support/fake-gateway.ts) in front of a real Jupyter Server,
 * so the test sees exactly what the sidecar sent upstream; for garbage from the gateway, it sends
 * what Jupyter never would, then answers as a minimal fake kernel.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { legacyCodec, packLegacyBinary } from '../../proxy/wire/wire-legacy.ts';
import { packV1, V1_PROTOCOL, v1Codec } from '../../proxy/wire/wire-v1.ts';
import {
  answerFakeKernel,
  encodeKernelMessage,
  relayChannels,
  startFakeGateway,
  type FakeGateway,
} from '../support/fake-gateway.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { refused, reportAfter } from './reliability-counter.ts';
import { waitFor } from './reliability-helpers.ts';

reportAfter('ws-frames');

type Format = 'legacy' | 'v1';
interface Garbage {
  name: string;
  /** A WebSocket frame with this payload. */
  data?: Buffer | string;
  binary?: boolean;
  /** Bytes written straight to the TCP socket: not a frame the ws library would build. */
  raw?: Buffer;
  /** End the TCP socket after the raw bytes (a truncated frame). */
  endAfter?: boolean;
}

let bed: TestBed;
let gateway: FakeGateway;
let proxy: RunningSidecar;
let kernelId: string;
/** Frames the gateway got from the sidecar, per connection. */
const upstreamFrames: Array<{ data: Buffer; binary: boolean }> = [];
/** What the gateway sends the sidecar right after a connection opens (then it relays). */
let gatewayGarbage: Garbage | null = null;

before(async () => {
  bed = await startTestBed();
  gateway = await startFakeGateway({ forwardTo: bed.jupyter.url });
  gateway.onChannels = (socket, info) => {
    socket.on('message', (data: Buffer, binary) => upstreamFrames.push({ data: Buffer.from(data), binary }));
    const garbage = gatewayGarbage;
    if (!garbage) return relayChannels(socket, new URL(bed.jupyter.url), info);
    // The garbage, then a fake kernel: faster than a real one, and enough to answer kernel_info.
    sendGarbage(socket, garbage);
    answerFakeKernel(socket, info);
  };
  proxy = await startSidecar(bed, { 'gateway-url': gateway.url });
  const res = await fetch(`${proxy.url}chats/frames/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  kernelId = ((await res.json()) as { id: string }).id;
});

after(async () => {
  await proxy?.stop();
  await gateway?.close();
  await bed?.stop();
});

const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const u32 = (...ns: number[]) =>
  Buffer.concat(ns.map((n) => Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A WebSocket frame header announcing `length` bytes (2^40 here: far over any limit). */
function hugeFrameHeader(masked: boolean): Buffer {
  const length = Buffer.alloc(8);
  length.writeBigUInt64BE(2n ** 40n);
  return Buffer.concat([
    Buffer.from([0x82, masked ? 0xff : 0x7f]),
    length,
    masked ? Buffer.from([1, 2, 3, 4]) : Buffer.alloc(0),
  ]);
}

function truncatedFrame(): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0x80 | 100, 1, 2, 3, 4]), Buffer.alloc(10, 7)]);
}

const execute = (code: unknown) => ({
  header: { msg_id: randomUUID(), msg_type: 'execute_request', session: 's', username: 'u', date: '', version: '5.3' },
  parent_header: {},
  metadata: {},
  content: { code, silent: false },
  channel: 'shell',
});

const LEGACY_GARBAGE: Garbage[] = [
  { name: 'not JSON', data: 'not json at all' },
  { name: 'truncated JSON', data: '{"header": {"msg_type": "execute_req' },
  { name: 'JSON array', data: '[1, 2, 3]' },
  { name: 'JSON number', data: '42' },
  { name: 'JSON null', data: 'null' },
  { name: 'empty text', data: '' },
  { name: 'header not an object', data: '{"header": "nope", "channel": 5, "content": []}' },
  {
    name: 'execute_request with content a string',
    data: JSON.stringify({ ...execute('x'), content: 'not an object' }),
  },
  { name: 'execute_request with code a number', data: JSON.stringify(execute(12345)) },
  { name: 'execute_request with code an object', data: JSON.stringify(execute({ '/mnt/data': ['/mnt/data'] })) },
  { name: 'deeply nested JSON', data: `${'['.repeat(5000)}${']'.repeat(5000)}` },
  { name: 'invalid UTF-8 text', data: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), binary: false },
  { name: 'empty binary', data: Buffer.alloc(0), binary: true },
  { name: 'binary of 3 bytes', data: Buffer.from([1, 2, 3]), binary: true },
  { name: 'binary claiming 2^32-1 parts', data: Buffer.concat([u32(0xffffffff, 8), Buffer.alloc(8)]), binary: true },
  { name: 'binary claiming 2^31-1 parts', data: Buffer.concat([u32(0x7fffffff, 8), Buffer.alloc(8)]), binary: true },
  { name: 'binary with offsets out of range', data: Buffer.concat([u32(2, 12, 100000), json({})]), binary: true },
  { name: 'binary with offsets backwards', data: Buffer.concat([u32(2, 20, 12), json({ a: 1 })]), binary: true },
  {
    name: 'binary whose JSON part is not JSON',
    data: packLegacyBinary(Buffer.from('{{{'), [Buffer.from('buf')]),
    binary: true,
  },
  { name: 'random binary', data: Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7919) & 255)), binary: true },
  {
    name: 'oversized for Jupyter (11 MB text)',
    data: JSON.stringify({ ...execute('x'), content: { code: 'x'.repeat(11 * 1024 * 1024) } }),
  },
  { name: 'frame header announcing 2^40 bytes', raw: hugeFrameHeader(true) },
  { name: 'truncated frame, then the socket ends', raw: truncatedFrame(), endAfter: true },
];

const V1_GARBAGE: Garbage[] = [
  { name: 'text frame', data: 'v1 frames are binary' },
  { name: 'JSON text frame', data: JSON.stringify(execute('1')) },
  { name: 'empty binary', data: Buffer.alloc(0), binary: true },
  { name: 'shorter than its offset count', data: Buffer.from([1, 2, 3]), binary: true },
  { name: 'offset count 2^53', data: Buffer.concat([u64(2 ** 53), Buffer.alloc(16)]), binary: true },
  { name: 'offset count too small', data: Buffer.concat([u64(2), u64(24), u64(24)]), binary: true },
  {
    name: 'offsets out of range',
    data: Buffer.concat([u64(6), u64(56), u64(57), u64(58), u64(59), u64(60), u64(999999)]),
    binary: true,
  },
  {
    name: 'header not JSON',
    data: packV1([Buffer.from('shell'), Buffer.from('{{'), json({}), json({}), json({})]),
    binary: true,
  },
  {
    name: 'content not JSON',
    data: packV1([
      Buffer.from('shell'),
      json({ msg_type: 'execute_request', msg_id: 'm' }),
      json({}),
      json({}),
      Buffer.from('}{'),
    ]),
    binary: true,
  },
  {
    name: 'content an array',
    data: packV1([
      Buffer.from('shell'),
      json({ msg_type: 'execute_request', msg_id: 'm2' }),
      json({}),
      json({}),
      json([1]),
    ]),
    binary: true,
  },
  {
    name: 'unknown channel',
    data: packV1([Buffer.from('\u0000\u00ff'), json({ msg_type: 'x' }), json({}), json({}), json({})]),
    binary: true,
  },
  {
    name: 'random binary',
    data: Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 104729) & 255)),
    binary: true,
  },
  { name: 'frame header announcing 2^40 bytes', raw: hugeFrameHeader(true) },
  { name: 'truncated frame, then the socket ends', raw: truncatedFrame(), endAfter: true },
];

/** Close codes that say what happened (1006 only when the peer vanished without one). */
const CLEAN_CLOSE = new Set([1000, 1001, 1002, 1003, 1006, 1007, 1008, 1009, 1011]);

function socketOf(ws: WebSocket): Socket {
  return (ws as unknown as { _socket: Socket })._socket;
}

function sendGarbage(ws: WebSocket, garbage: Garbage): void {
  if (garbage.raw) {
    socketOf(ws).write(garbage.raw);
    if (garbage.endAfter) socketOf(ws).end();
    return;
  }
  ws.send(garbage.data!, { binary: garbage.binary ?? false });
}

/** Binary legacy frames and v1 frames the sidecar cannot decode are refused with 1007. */
function refusedFromClient(format: Format, garbage: Garbage): boolean {
  if (garbage.data === undefined || (format === 'legacy' && !garbage.binary)) return false;
  try {
    (format === 'v1' ? v1Codec : legacyCodec).decode(Buffer.from(garbage.data), garbage.binary ?? false);
    return false;
  } catch {
    return true;
  }
}

function kernelInfoRequest(format: Format): { msgId: string; frame: { data: Buffer | string; binary: boolean } } {
  const frame = encodeKernelMessage(format === 'v1' ? V1_PROTOCOL : '', 'shell', 'kernel_info_request', {}, {});
  const msgId = /"msg_id":"([^"]+)"/.exec(frame.data.toString())![1]!;
  return { msgId, frame };
}

interface Outcome {
  closed: { code: number } | null;
  /** The kernel answered a request sent after the garbage: the connection carried on. */
  alive: boolean;
  received: Array<{ data: Buffer; binary: boolean }>;
}

async function connect(format: Format): Promise<{ ws: WebSocket; outcome: Outcome; closed: Promise<void> }> {
  const ws = new WebSocket(
    `${proxy.url.replace(/^http/, 'ws')}chats/frames/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
    format === 'v1' ? [V1_PROTOCOL] : [],
  );
  const outcome: Outcome = { closed: null, alive: false, received: [] };
  ws.on('message', (data: Buffer, binary) => outcome.received.push({ data: Buffer.from(data), binary }));
  ws.on('error', () => {});
  const closed = new Promise<void>((resolve) => ws.once('close', (code) => ((outcome.closed = { code }), resolve())));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  assert.equal(ws.protocol, format === 'v1' ? V1_PROTOCOL : '');
  return { ws, outcome, closed };
}

/** After the garbage: does the connection still carry a kernel_info round trip, or did it close? */
async function settle(ws: WebSocket, format: Format, outcome: Outcome, closed: Promise<void>): Promise<void> {
  // The kernel_info request travels behind the garbage on the same socket, so its reply (or the
  // close) comes after the garbage was judged.
  if (!outcome.closed) {
    const { msgId, frame } = kernelInfoRequest(format);
    if (ws.readyState === ws.OPEN) ws.send(frame.data, { binary: frame.binary });
    await Promise.race([
      closed,
      waitFor(
        'kernel_info_reply',
        () => outcome.received.some((m) => m.data.includes(Buffer.from(msgId))),
        10_000,
      ).then(() => (outcome.alive = true)),
    ]);
  }
  if (!outcome.closed) {
    ws.close();
    await closed;
  }
}

/** Every socket closed on both sides, and the health endpoint answers. */
async function assertSidecarLives(): Promise<void> {
  await waitFor('sidecar connections back to 0', () => proxy.sidecar.connections() === 0);
  await waitFor('gateway sockets back to 0', () => gateway.sockets.size === 0);
  const health = await fetch(`${proxy.url}sidecar/v1/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
}

async function assertRealExecutionWorks(format: Format): Promise<void> {
  const client = await RawKernelClient.connect(
    `${proxy.url.replace(/^http/, 'ws')}chats/frames/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
    format,
  );
  const run = await client.execute('print(6 * 7)');
  assert.equal(run.stream, '42\n');
  await client.close();
  await waitFor('sidecar connections back to 0', () => proxy.sidecar.connections() === 0);
}

for (const format of ['legacy', 'v1'] as const) {
  describe(`${format}: garbage from the client`, () => {
    for (const garbage of format === 'legacy' ? LEGACY_GARBAGE : V1_GARBAGE) {
      test(garbage.name, async () => {
        const { ws, outcome, closed } = await connect(format);
        upstreamFrames.length = 0;
        sendGarbage(ws, garbage);
        await settle(ws, format, outcome, closed);
        const payload = garbage.data === undefined ? null : Buffer.from(garbage.data);
        const passedOn =
          payload !== null &&
          upstreamFrames.some((f) => f.data.equals(payload) && f.binary === (garbage.binary ?? false));
        if (garbage.raw || garbage.name === 'invalid UTF-8 text' || refusedFromClient(format, garbage)) {
          // Not a valid WebSocket message (the sidecar's socket refuses it), or a framed kernel
          // message it cannot read (which can keep Jupyter Server busy forever): closed, not passed on.
          assert.ok(outcome.closed, 'the connection is closed');
          assert.ok(CLEAN_CLOSE.has(outcome.closed.code), `close code ${outcome.closed.code}`);
          assert.ok(!passedOn);
          if (refusedFromClient(format, garbage)) assert.equal(outcome.closed.code, 1007);
          refused();
        } else {
          assert.ok(passedOn, 'the frame reached the gateway byte for byte');
          assert.ok(
            outcome.alive || (outcome.closed && CLEAN_CLOSE.has(outcome.closed.code)),
            `alive or closed cleanly (${JSON.stringify(outcome.closed)})`,
          );
          refused();
        }
        await assertSidecarLives();
      });
    }
    test('then a new real execution works', () => assertRealExecutionWorks(format));
  });

  describe(`${format}: garbage from the gateway`, () => {
    const fromGateway: Garbage[] = [
      ...(format === 'legacy' ? LEGACY_GARBAGE : V1_GARBAGE).filter((g) => !g.raw && !g.name.includes('oversized')),
      { name: 'frame header announcing 2^40 bytes', raw: hugeFrameHeader(false) },
      {
        name: 'a status message for no execution',
        data: encodeKernelMessage(
          format === 'v1' ? V1_PROTOCOL : '',
          'iopub',
          'status',
          { execution_state: 'dead' },
          {},
        ).data,
        binary: format === 'v1',
      },
      {
        name: 'a stream whose text is a number',
        data: encodeKernelMessage(
          format === 'v1' ? V1_PROTOCOL : '',
          'iopub',
          'stream',
          { name: 'stdout', text: 42 },
          {},
        ).data,
        binary: format === 'v1',
      },
    ];
    for (const garbage of fromGateway) {
      test(garbage.name, async () => {
        gatewayGarbage = garbage;
        try {
          const { ws, outcome, closed } = await connect(format);
          const payload = garbage.data === undefined ? null : Buffer.from(garbage.data);
          await waitFor(
            'the garbage or a close',
            () => outcome.closed || (payload && outcome.received.some((f) => f.data.equals(payload))),
            10_000,
          );
          await settle(ws, format, outcome, closed);
          const passedOn =
            payload !== null &&
            outcome.received.some((f) => f.data.equals(payload) && f.binary === (garbage.binary ?? false));
          if (garbage.raw || garbage.name === 'invalid UTF-8 text') {
            assert.ok(
              outcome.closed && CLEAN_CLOSE.has(outcome.closed.code),
              `closed cleanly (${JSON.stringify(outcome.closed)})`,
            );
            refused();
          } else {
            assert.ok(passedOn, 'the frame reached the client byte for byte');
            assert.ok(outcome.alive || (outcome.closed && CLEAN_CLOSE.has(outcome.closed.code)));
            refused();
          }
        } finally {
          gatewayGarbage = null;
        }
        await assertSidecarLives();
      });
    }
    test('then a new real execution works', () => assertRealExecutionWorks(format));
  });
}
