/**
 * One size format for the element and the sidecar's file card (contract/format-bytes.ts): the
 * card says a file's size in every mode exactly as the element's list does.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBytes } from '../../contract/format-bytes.ts';
import { fileCardData } from '../../proxy/announce/file-card.ts';
import { fileRecord } from '../support/file-record-fixture.ts';
import { formatBytes as elementFormatBytes } from '../../widget/format.ts';

test('sizes in decimal units, one decimal under 100, none above', () => {
  const cases: [number, string][] = [
    [0, '0 B'],
    [999, '999 B'],
    [1000, '1 kB'],
    [1234, '1.2 kB'],
    [12_345, '12.3 kB'],
    [123_456, '123 kB'],
    [10_240, '10.2 kB'],
    [41_943_040, '41.9 MB'],
    [5e12, '5 TB'],
  ];
  for (const [bytes, said] of cases) assert.equal(formatBytes(bytes, 'en'), said, `${bytes}`);
  assert.equal(formatBytes(-1), '');
  assert.equal(formatBytes(Number.NaN), '');
});

test("the file card says each size as the element's list does, in text, Markdown and HTML", () => {
  assert.equal(elementFormatBytes, formatBytes, 'the element uses the contract function itself');
  const record = fileRecord({ id: 'id1', name: 'sales.csv', size: 12_345 });
  const data = fileCardData([{ record, url: 'https://s/f1' }], [], 'rich', false)!;
  for (const [type, body] of Object.entries(data))
    assert.ok(String(body).includes(formatBytes(12_345, 'en')), `${type} says 12.3 kB: ${String(body)}`);
});
