/**
 * What the splicer's fast path relies on, checked edge by edge: the text found from the end of
 * the content's bytes is the text JSON.parse sees, and a text that may end in the start of a
 * workspace path is never ruled out from its bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lastMemberString } from '../../proxy/rewrite/json-fields.ts';
import { PathRewriter } from '../../proxy/rewrite/path-rewriter.ts';

const valueAt = (json: string, key = 'text') => {
  const buf = Buffer.from(json);
  const span = lastMemberString(buf, key);
  return span && (JSON.parse(buf.toString('utf8', span.start, span.end)) as unknown);
};

test('lastMemberString finds the last member’s string value as JSON.parse reads it', () => {
  const cases: [string, unknown][] = [
    ['{"name": "stdout", "text": "hello\\n"}', 'hello\n'],
    [' { "name":"x" ,\n "text" : "a" \n}\n', 'a'],
    ['{"text": ""}', ''],
    ['{"text": "say \\"hi\\""}', 'say "hi"'],
    ['{"text": "C:\\\\"}', 'C:\\'],
    ['{"text": "\\\\\\"}"}', '\\"}'],
    ['{"name": "x", "text": "a\\": \\"b"}', 'a": "b'],
    ['{"text": "first", "name": "x", "text": "last"}', 'last'],
    ['{"text": "caf\\u00e9 /srv \\/x ✓"}', 'café /srv /x ✓'],
  ];
  for (const [json, text] of cases) assert.equal(valueAt(json), text, json);
});

test('lastMemberString says nothing when the last member is another one or not a string', () => {
  const cases = [
    '{"text": "a", "name": "x"}',
    '{"name": "x", "subtext": "a"}',
    '{"name": "x", "a\\"text": "v"}',
    '{"text": 5}',
    '{"text": ["a"]}',
    '{"text": {"text": "a"}}',
    '{"name": "x", "data": {"text": "a"}}',
    '"text"',
    '["text", "a"]',
    '',
    '}',
    '"}',
    '{"text": "unterminated}',
  ];
  for (const json of cases) assert.equal(valueAt(json), undefined, json);
});

test('lastMemberString agrees with JSON.parse on random texts and spacing', () => {
  const alphabet = ['a', ' ', '"', '\\', '/', ':', '}', '{', ',', '\n', 'é', '😀', '\u0000', 'text'];
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let i = 0; i < 2000; i++) {
    const text = Array.from({ length: random(12) }, () => alphabet[random(alphabet.length)]).join('');
    const name = Array.from({ length: random(4) }, () => alphabet[random(alphabet.length)]).join('');
    const space = () => [' ', '', '\n', '\t'][random(4)];
    const json = `{${space()}"name"${space()}:${space()}${JSON.stringify(name)},${space()}"text"${space()}:${space()}${JSON.stringify(text)}${space()}}${space()}`;
    assert.equal(valueAt(json), text, json);
  }
});

const rewriter = new PathRewriter(['/srv/ws/chatA', '/real/ws/chatA']);
const longest = '/real/ws/chatA'.length;

/** The ways a kernel's JSON may spell a text: plain, `/` escaped, everything non-ASCII or `/` as \u. */
function spellings(text: string): Buffer[] {
  const plain = JSON.stringify(text);
  const asciiOnly = plain.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return [plain, plain.replaceAll('/', '\\/'), asciiOnly, asciiOnly.replaceAll('/', '\\u002f')].map((s) =>
    Buffer.from(s),
  );
}

test('mayEndInPathStartJson never rules out a text that ends in the start of a workspace path', () => {
  const ends = rewriter.workspacePaths.flatMap((p) => [...p].map((_, i) => p.slice(0, i + 1)));
  const befores = ['', 'saved ', 'x', '\n', '\x1b[0;32m', 'é😀', '"', '\\', 'ü'.repeat(longest * 2)];
  let checked = 0;
  for (const before of befores)
    for (const end of ends) {
      const text = before + end;
      if (rewriter.pendingTailLength(text) === 0) continue;
      for (const json of spellings(text)) {
        assert.equal(JSON.parse(json.toString()), text);
        assert.equal(rewriter.mayEndInPathStartJson(json), true, json.toString());
        checked++;
      }
    }
  assert.ok(checked > 200, `${checked} spellings checked`);
});

test('mayEndInPathStartJson rules out text without a path start near its end, and only that', () => {
  const line = `${'x'.repeat(4998)}\n`;
  for (const json of spellings(line)) assert.equal(rewriter.mayEndInPathStartJson(json), false);
  // A `/` further back than any path start could reach (6 bytes a character) is not looked at.
  const far = `/srv/ws/ch${'y'.repeat(6 * longest)}`;
  assert.equal(rewriter.mayEndInPathStartJson(Buffer.from(JSON.stringify(far))), false);
  assert.equal(rewriter.pendingTailLength(far), 0);
  // Within reach: a maybe, even where pendingTailLength says no (a `/` that starts no path).
  assert.equal(rewriter.mayEndInPathStartJson(Buffer.from(JSON.stringify('1/2 done'))), true);
  assert.equal(rewriter.mayEndInPathStartJson(Buffer.from(JSON.stringify('naïve'))), false);
  assert.equal(rewriter.mayEndInPathStartJson(Buffer.from('"na\\u00efve"')), true, 'a \\u escape may hide a /');
});

test('a path that JSON may escape makes every byte look a maybe', () => {
  const escaped = new PathRewriter(['/srv/ws/"quoted"']);
  assert.equal(escaped.mayEndInPathStartJson(Buffer.from(JSON.stringify('xxxx'))), true);
  assert.equal(escaped.mayAppearInJson(Buffer.from(JSON.stringify('xxxx'))), true);
});
