import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileCardData } from '../../proxy/announce/file-card.ts';
import { fileIdOf } from '../../proxy/mcp/chat-files.ts';
import { withinOutputBudget } from '../../proxy/mcp/output-budget.ts';
import { fileRecord } from '../support/file-record-fixture.ts';

const record = (i: number) => fileRecord({ id: `id${i}`, name: `f${i}.csv`, size: 1024 * (i + 1) });

test('output within the budget is left as it is; over it, head and tail stay with a note of the cut', () => {
  assert.equal(withinOutputBudget('short', 100), 'short');
  const text = `HEAD${'x'.repeat(50_000)}TAIL`;
  const cut = withinOutputBudget(text, 1000);
  assert.ok(cut.startsWith('HEAD'));
  assert.ok(cut.endsWith('TAIL'));
  assert.match(cut, /50008 characters; the limit is 1000/);
  assert.ok(cut.length < 1300, `${cut.length}`);
});

test('a card for 43 files names the first few and links the zip, in every mode', () => {
  const files = Array.from({ length: 43 }, (_, i) => ({ record: record(i), url: `https://s/f${i}?token=t` }));
  const data = fileCardData(files, [], 'rich', false, { maxFiles: 5, archiveUrl: 'https://s/archive.zip?token=z' })!;
  const plain = data['text/plain']!;
  assert.equal((plain.match(/https:\/\/s\/f\d+/g) ?? []).length, 5);
  assert.match(
    plain,
    /- and 38 more files \([\d.]+ kB\): all of the chat's files as one zip: https:\/\/s\/archive\.zip\?token=z/,
  );
  assert.ok(plain.length < 1200, `the card costs ${plain.length} characters`);
  assert.match(data['text/markdown']!, /38 more files.*\(<https:\/\/s\/archive\.zip\?token=z>\)/);
  assert.match(data['text/html']!, /href="https:\/\/s\/archive\.zip\?token=z"/);
  // Within the budget, nothing is counted or zipped.
  const few = fileCardData(files.slice(0, 2), [], 'text', false, { maxFiles: 5 })!['text/plain']!;
  assert.doesNotMatch(few, /more files|zip/);
});

test("a resource URI names a file of the caller's chat by its path only", () => {
  assert.equal(fileIdOf('c1', 'https://any.host/sidecar/v1/chats/c1/files/abc_-1/content?token=x'), 'abc_-1');
  assert.equal(fileIdOf('c1', 'http://h/base/sidecar/v1/chats/c1/files/abc/content'), 'abc');
  assert.equal(fileIdOf('c1', 'https://h/sidecar/v1/chats/c2/files/abc/content'), null);
  assert.equal(fileIdOf('c1', 'https://h/sidecar/v1/chats/c1/files/a%2F..%2Fb/content'), null);
  assert.equal(fileIdOf('c1', 'https://h/sidecar/v1/chats/c1/files/abc/preview'), null);
  assert.equal(fileIdOf('c1', 'not a url'), null);
});
