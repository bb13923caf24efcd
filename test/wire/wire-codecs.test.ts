import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KernelMessage } from '@jupyterlab/services';
import { FrameDecodeError } from '../../proxy/wire/kernel-frame.ts';
import { legacyCodec, packLegacyBinary } from '../../proxy/wire/wire-legacy.ts';
import { packV1, v1Codec, V1_PROTOCOL } from '../../proxy/wire/wire-v1.ts';
import { serialize, deserialize } from '@jupyterlab/services/lib/kernel/serialize.js';

const message = {
  header: { msg_id: 'm1', msg_type: 'stream', session: 's1', username: 'u', date: '', version: '5.3' },
  parent_header: { msg_id: 'p1' },
  metadata: { 'x-unknown': 1.5 },
  content: { name: 'stdout', text: '/ws/a/b.txt\n' },
  channel: 'iopub',
  buffers: [] as ArrayBuffer[],
};

/** An exact ArrayBuffer: @jupyterlab/services ignores a pooled Buffer's byteOffset. */
function exact(buffer: Buffer): ArrayBuffer {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer;
}

test('v1: decodes what @jupyterlab/services encodes, and re-encodes changed content so it decodes back', () => {
  const encoded = Buffer.from(serialize(message as unknown as KernelMessage.IMessage, V1_PROTOCOL) as ArrayBuffer);
  const frame = v1Codec.decode(encoded, true);
  assert.equal(frame.channel, 'iopub');
  assert.equal(frame.msgType, 'stream');
  assert.equal(frame.parentMsgId, 'p1');
  assert.equal(frame.encode().data, encoded, 'unchanged frames go out as they came');
  frame.content()!.text = '/mnt/data/b.txt\n';
  frame.markContentChanged();
  const back = deserialize(exact(frame.encode().data as Buffer), V1_PROTOCOL) as unknown as typeof message;
  assert.equal((back.content as { text: string }).text, '/mnt/data/b.txt\n');
  assert.deepEqual(back.metadata, message.metadata);
  assert.equal(back.channel, 'iopub');
});

test('v1: buffers survive a content change byte for byte', () => {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  const buffers = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.from('tail')];
  const data = packV1([
    Buffer.from('shell'),
    json(message.header),
    json({}),
    json({}),
    json({ code: 'x' }),
    ...buffers,
  ]);
  const frame = v1Codec.decode(data, true);
  frame.content()!.code = 'y = 1';
  frame.markContentChanged();
  const back = deserialize(exact(frame.encode().data as Buffer), V1_PROTOCOL) as unknown as {
    buffers: DataView[];
    content: { code: string };
  };
  assert.equal(back.content.code, 'y = 1');
  assert.deepEqual(
    back.buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
    buffers,
  );
});

test('legacy: text frames keep top-level fields; binary frames keep their buffers', () => {
  const text = JSON.stringify({ ...message, msg_type: 'stream', msg_id: 'm1', extra: { keep: true } });
  const frame = legacyCodec.decode(Buffer.from(text), false);
  assert.equal(frame.encode().data, text);
  frame.content()!.text = 'changed';
  frame.markContentChanged();
  const out = JSON.parse(frame.encode().data as string);
  assert.equal(out.msg_type, 'stream');
  assert.deepEqual(out.extra, { keep: true });
  assert.equal(out.content.text, 'changed');

  const binary = packLegacyBinary(Buffer.from(JSON.stringify(message)), [Buffer.from([9, 8, 7])]);
  const decoded = deserialize(exact(binary)) as unknown as { buffers: DataView[] };
  assert.deepEqual([...new Uint8Array(decoded.buffers[0]!.buffer, decoded.buffers[0]!.byteOffset, 3)], [9, 8, 7]);
  const bframe = legacyCodec.decode(binary, true);
  bframe.content()!.text = 'x';
  bframe.markContentChanged();
  const again = deserialize(exact(bframe.encode().data as Buffer)) as unknown as {
    content: { text: string };
    buffers: DataView[];
  };
  assert.equal(again.content.text, 'x');
  assert.equal(again.buffers.length, 1);
});

test('malformed frames are refused with FrameDecodeError, never a crash', () => {
  const bad: [Buffer, boolean][] = [
    [Buffer.from('not json'), false],
    [Buffer.from('[1,2]'), false],
    [Buffer.from([0, 0, 0, 9, 0, 0]), true],
    [Buffer.from([0, 0, 0, 1, 0, 0, 0, 200]), true],
  ];
  for (const [data, binary] of bad) assert.throws(() => legacyCodec.decode(data, binary), FrameDecodeError);
  const v1bad: Buffer[] = [
    Buffer.alloc(4),
    Buffer.from(new BigUint64Array([99n]).buffer),
    packV1([Buffer.from('c'), Buffer.from('{'), Buffer.from('{}'), Buffer.from('{}'), Buffer.from('{}')]),
  ];
  for (const data of v1bad) assert.throws(() => v1Codec.decode(data, true), FrameDecodeError);
  assert.throws(() => v1Codec.decode(Buffer.from('{}'), false), FrameDecodeError);
});

test('the sidecar’s own messages carry binary buffers in both formats, as @jupyterlab/services reads them', () => {
  const buffers = [Buffer.from([0, 1, 2, 255]), Buffer.alloc(0), Buffer.from('tail')];
  const outgoing = {
    channel: 'shell',
    header: message.header,
    parent_header: {},
    metadata: {},
    content: { args: { op: 'write' } },
    buffers,
  };
  for (const [codec, protocol] of [
    [v1Codec, V1_PROTOCOL],
    [legacyCodec, ''],
  ] as const) {
    const encoded = codec.encodeMessage(outgoing);
    assert.equal(encoded.binary, true, codec.name);
    const back = deserialize(exact(encoded.data as Buffer), protocol) as unknown as { buffers: DataView[] };
    assert.deepEqual(
      back.buffers.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength)),
      buffers,
      codec.name,
    );
    assert.deepEqual([...codec.decode(encoded.data as Buffer, true).buffers()], buffers, codec.name);
  }
  assert.equal(legacyCodec.encodeMessage({ ...outgoing, buffers: [] }).binary, false, 'no buffers: a text frame');
});
