/**
 * Large outputs (a MIME bundle of 1 MiB or more, v1): the base64 image is never searched or
 * parsed, the text members are rewritten one by one, and the result is what the generic path
 * (a legacy frame, parsed whole) gives.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LARGE_CONTENT_BYTES } from '../../proxy/rewrite/large-content.ts';
import { rewriteOutgoing } from '../../proxy/rewrite/message-rewriter.ts';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';
import type { KernelFrame } from '../../proxy/wire/kernel-frame.ts';
import { legacyCodec } from '../../proxy/wire/wire-legacy.ts';
import { packV1, v1Codec } from '../../proxy/wire/wire-v1.ts';

const WS = '/srv/ws/chatA';
const rewriter = new PathRewriter([WS]);
const header = (msgType: string) => ({
  msg_id: 'o1',
  msg_type: msgType,
  session: 's',
  username: '',
  date: '',
  version: '5.3',
});

function v1Output(msgType: string, content: string): KernelFrame {
  const json = (v: unknown) => Buffer.from(JSON.stringify(v));
  return v1Codec.decode(
    packV1([Buffer.from('iopub'), json(header(msgType)), json({}), json({}), Buffer.from(content)]),
    true,
  );
}

function legacyOutput(msgType: string, content: string): KernelFrame {
  const message = `{"header":${JSON.stringify(header(msgType))},"parent_header":{},"metadata":{},"content":${content},"channel":"iopub"}`;
  return legacyCodec.decode(Buffer.from(message), false);
}

const v1ContentOf = (frame: KernelFrame) =>
  v1Codec
    .decode(frame.encode().data as Buffer, true)
    .rawContent()!
    .toString();
const legacyContentOf = (frame: KernelFrame) =>
  (JSON.parse(frame.encode().data as string) as { content: unknown }).content;

/** base64 that holds the workspace path's bytes (every one of them is a base64 character). */
const image = `iVBOR${WS}${'A'.repeat(LARGE_CONTENT_BYTES)}${WS}==`;

test('a large display_data: text members rewritten one by one, as the generic path does, the image kept byte for byte', () => {
  const bundles = [
    { 'image/png': image, 'text/plain': `<Figure saved to ${WS}/fig.png>` },
    { 'text/plain': `${WS}/a`, 'image/png': image, 'text/html': `<a href="${WS}/b">${'h'.repeat(100)}</a>` },
    { 'image/png': image, 'application/json': { path: `${WS}/c`, nested: { 'image/jpeg': `${WS}` } } },
    { 'image/png': image, 'text/plain': 'no path here' },
    { 'image/png': image },
  ];
  for (const data of bundles) {
    const content = `{"data": ${JSON.stringify(data)}, "metadata": {"image/png": {"width": 640}}, "transient": {}}`;
    for (const msgType of ['display_data', 'execute_result', 'update_display_data']) {
      const v1 = v1Output(msgType, content);
      const legacy = legacyOutput(msgType, content);
      const changed = rewriteOutgoing(v1, rewriter);
      assert.equal(changed, rewriteOutgoing(legacy, rewriter), JSON.stringify(Object.keys(data)));
      const out = v1ContentOf(v1);
      assert.deepEqual(JSON.parse(out), legacyContentOf(legacy));
      assert.ok(out.includes(JSON.stringify(image)), 'the image bytes are kept as they came');
      if (!changed) assert.equal(out, content, 'nothing to rewrite: every byte as it came');
    }
  }
});

test('a large MIME bundle that does not scan as an object is judged by the field as a whole', () => {
  const content = `{"data": ${JSON.stringify(['not', 'a bundle', `${WS}/x`, image])}, "metadata": {}}`;
  const v1 = v1Output('display_data', content);
  const legacy = legacyOutput('display_data', content);
  assert.equal(rewriteOutgoing(v1, rewriter), rewriteOutgoing(legacy, rewriter));
  assert.deepEqual(JSON.parse(v1ContentOf(v1)), legacyContentOf(legacy));
});
