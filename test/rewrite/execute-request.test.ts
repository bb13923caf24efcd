import assert from 'node:assert/strict';
import { test } from 'node:test';
import { packV1, v1Codec } from '../../proxy/wire/wire-v1.ts';
import { rewriteExecuteRequest } from '../../proxy/rewrite/execute-request.ts';
import { LARGE_CONTENT_BYTES } from '../../proxy/rewrite/large-content.ts';
import { rewriteOutgoing } from '../../proxy/rewrite/message-rewriter.ts';
import { spliceFields, topLevelFields } from '../../proxy/rewrite/json-fields.ts';
import { rewriteJsonStringWindows, WINDOW_CONTEXT } from '../../proxy/rewrite/json-string-windows.ts';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';

const rewriter = new PathRewriter(['/srv/ws/chatA']);

test('topLevelFields finds each value span of any well-formed object; malformed ones throw', () => {
  const objects = [
    '{}',
    ' { "a" : 1 , "b":"x\\"}y" ,"c":{"d":[1,{"e":"]}"}]},"f":null,"g":true,"h":-1.5e3,"i":"\\\\"} ',
    '{"code":"print(\'/mnt/data\')","silent":false,"user_expressions":{"x":"open(\\"\\/mnt\\/data\\")"}}',
    '{"a":1,"a":2}',
  ];
  for (const text of objects) {
    const buf = Buffer.from(text);
    const spans = topLevelFields(buf);
    const parsed = JSON.parse(text) as Record<string, unknown>;
    assert.deepEqual([...spans.keys()].sort(), Object.keys(parsed).sort(), text);
    for (const [key, span] of spans)
      assert.deepEqual(JSON.parse(buf.toString('utf8', span.start, span.end)), parsed[key], `${text}: ${key}`);
  }
  for (const bad of ['', '[]', '{', '{"a"}', '{"a":}', '{"a":1,}', '{"a":"x}', '{"a":1} x', '"str"']) {
    assert.throws(() => topLevelFields(Buffer.from(bad)), { code: 'ERR_JSON_FIELDS' }, bad);
  }
});

test('spliceFields replaces values and keeps every other byte', () => {
  const buf = Buffer.from('{ "a" : 1 ,"b" : "two", "c":[3] }');
  const spans = topLevelFields(buf);
  const out = spliceFields(buf, [
    { span: spans.get('c')!, json: [Buffer.from('"C"')] },
    { span: spans.get('a')!, json: [Buffer.from('{"x":'), Buffer.from('1}')] },
  ]);
  assert.equal(Buffer.concat(out).toString(), '{ "a" : {"x":1} ,"b" : "two", "c":"C" }');
});

function v1Execute(content: Buffer): Buffer {
  const header = Buffer.from(
    JSON.stringify({ msg_id: 'm1', msg_type: 'execute_request', session: 's', username: '', date: '', version: '5.3' }),
  );
  return packV1([Buffer.from('shell'), header, Buffer.from('{}'), Buffer.from('{}'), content]);
}

test('a large execute_request has only code and user_expressions rewritten, every other byte kept', () => {
  const filler = 'x'.repeat(LARGE_CONTENT_BYTES);
  const content = Buffer.from(
    `{"code":"open('/mnt/data/a.csv','w')  # ${filler}","silent":true, "store_history":false,"user_expressions":{"p":"'\\/mnt\\/data'"},"unknown":1.50}`,
  );
  const frame = v1Codec.decode(v1Execute(content), true);
  assert.deepEqual(rewriteExecuteRequest(frame, rewriter), { silent: true, stopOnError: true });
  const out = v1Codec
    .decode(frame.encode().data as Buffer, true)
    .rawContent()!
    .toString();
  assert.ok(out.startsWith(`{"code":"open('/srv/ws/chatA/a.csv','w')  # xxx`), out.slice(0, 60));
  assert.ok(
    out.endsWith(`","silent":true, "store_history":false,"user_expressions":{"p":"'/srv/ws/chatA'"},"unknown":1.50}`),
    out.slice(-120),
  );

  const untouched = Buffer.from(`{"code":"print(1)  # ${filler}","silent":false,"stop_on_error":false}`);
  const original = v1Execute(untouched);
  const same = v1Codec.decode(original, true);
  assert.deepEqual(rewriteExecuteRequest(same, rewriter), { silent: false, stopOnError: false });
  assert.equal(same.encode().data, original, 'nothing to rewrite: the frame goes out as it came, unparsed');
});

test('a small execute_request takes the generic path, with the same answers', () => {
  const frame = v1Codec.decode(v1Execute(Buffer.from('{"code":"open(\'/mnt/data/a\')","silent":false}')), true);
  assert.deepEqual(rewriteExecuteRequest(frame, rewriter), { silent: false, stopOnError: true });
  const keepsGoing = v1Codec.decode(v1Execute(Buffer.from('{"code":"1","stop_on_error":false}')), true);
  assert.deepEqual(rewriteExecuteRequest(keepsGoing, rewriter), { silent: false, stopOnError: false });
  assert.equal(v1Codec.decode(frame.encode().data as Buffer, true).content()?.code, "open('/srv/ws/chatA/a')");
});

test('rewriting windows of a JSON string gives what rewriting the whole decoded string gives', () => {
  const atoms = [
    '/mnt/data',
    '/mnt/data/',
    "'/mnt/data/x.csv'",
    '/tmp/mnt/data',
    '/mnt/database',
    'mnt',
    '\n',
    '"',
    '\\',
    'é',
    '😀',
    '日本',
    '\u001b[0;32m/mnt/data',
    ' ',
    'x'.repeat(WINDOW_CONTEXT - 3),
    'y'.repeat(WINDOW_CONTEXT + 5),
    '\t/mnt/data\t',
  ];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 400; round++) {
    const text = Array.from(
      { length: 1 + Math.floor(random() * 12) },
      () => atoms[Math.floor(random() * atoms.length)],
    ).join('');
    // Clients may escape "/" (and anything else): both spellings.
    for (const json of [JSON.stringify(text), JSON.stringify(text).replace(/\//g, '\\/')]) {
      const pieces = rewriteJsonStringWindows(Buffer.from(json), 'mnt', (t) => rewriter.codeIn(t));
      const expected = rewriter.codeIn(text);
      const got = pieces ? (JSON.parse(Buffer.concat(pieces).toString()) as string) : text;
      assert.equal(got, expected, json);
      if (!pieces) assert.equal(expected, text, 'null only when nothing changed');
    }
  }
});

test('a large execute_input echo is rewritten back to /mnt/data in windows, every other byte kept', () => {
  const out = new PathRewriter(['/srv/ws/chatA', '/srv/ws/chatA-real']);
  const filler = 'z'.repeat(LARGE_CONTENT_BYTES);
  const content = Buffer.from(
    `{"code":"open('/srv/ws/chatA/a.csv')  # ${filler} /srv/ws/chatA-real/b /srv/ws/chatAB","execution_count":3}`,
  );
  const header = Buffer.from(
    JSON.stringify({ msg_id: 'o1', msg_type: 'execute_input', session: 's', username: '', date: '', version: '5.3' }),
  );
  const frame = v1Codec.decode(
    packV1([Buffer.from('iopub'), header, Buffer.from('{}'), Buffer.from('{}'), content]),
    true,
  );
  assert.equal(rewriteOutgoing(frame, out), true);
  const code = v1Codec.decode(frame.encode().data as Buffer, true).content()?.code as string;
  assert.ok(code.startsWith("open('/mnt/data/a.csv')  # zzz"));
  assert.ok(code.endsWith('zzz /mnt/data/b /srv/ws/chatAB'), code.slice(-60));
});
