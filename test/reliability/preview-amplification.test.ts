/**
 * Issue 22: a diff of two tiny workbooks took the whole sidecar down (a 4 GB answer built outside
 * the render worker), and a 2 kB workbook previewed as 160 MB. The attack, on a real sidecar in a
 * process of its own: two versions of a workbook (xlsx 201 rows x 399 columns, ods the same, xls
 * from xlwt 60 columns) whose every cell shows one 32,767-character string, uploaded through the
 * files API, then diffed and previewed. The diff must be refused (413 ERR_PREVIEW_ANSWER_TOO_LARGE),
 * the preview must come back small (cells cut), and the sidecar's peak RSS (VmHWM from /proc) must
 * stay under PEAK_RSS_BOUND for the whole run.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { DiffResponse, FileSummary, PreviewResponse } from '../../contract/files-api.ts';
import { odsRow, odsWith } from '../previews/hostile-files.ts';
import { DEFAULT_PREVIEW_LIMITS } from '../../proxy/previews/preview-limits.ts';
import { amplifyingOds, amplifyingXls, amplifyingXlsx, LONGEST_CELL } from './amplifying-files.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';
import { MiB, mib, startChildSidecar, type ChildSidecar } from './child-sidecar.ts';

reportAfter('preview-amplification');

/**
 * The sidecar's peak RSS over the whole file: an idle sidecar is ~100 MiB, each render worker adds
 * its own heap (tsx included); before the fix the xlsx diff alone reached 4 GB and was killed.
 */
const PEAK_RSS_BOUND = 512 * MiB;
/** The preview cache's cap in this file's sidecar: room for two amplified previews (~5 MB each). */
const CACHE_MB = 12;
let dir: string;
let sidecar: ChildSidecar;
let base: string;

async function folderBytes(folder: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(folder, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(path.join(entry.parentPath, entry.name))).size;
  }
  return total;
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-amplify-'));
  sidecar = await startChildSidecar(dir, { PREVIEW_CACHE_MB: String(CACHE_MB) });
  base = sidecar.base;
});

after(async () => {
  await sidecar.stop();
  await rm(dir, { recursive: true, force: true });
});

const api = (rest: string) => `${base}sidecar/v1/chats/${rest}`;

async function uploadTwice(chat: string, name: string, v1: Buffer, v2: Buffer): Promise<FileSummary> {
  for (const bytes of [v1, v2]) {
    const res = await fetch(api(`${chat}/uploads/${name}`), { method: 'PUT', body: new Uint8Array(bytes) });
    assert.equal(res.status, 201, await res.clone().text());
  }
  const list = (await (await fetch(api(`${chat}/files`))).json()) as { files: FileSummary[] };
  const file = list.files.find((f) => f.name === name)!;
  assert.equal(file.versions.length, 2);
  return file;
}

/** The diff is refused with the budget's code, the preview is served with its cells cut. */
async function attack(chat: string, name: string, v1: Buffer, v2: Buffer, columns: number): Promise<void> {
  const file = await uploadTwice(chat, name, v1, v2);
  const older = file.versions.find((v) => v.id !== file.id)!;
  const diff = await fetch(api(`${chat}/files/${file.id}/diff?from=${older.id}`));
  const diffBody = await diff.text();
  assert.equal(diff.status, 413, diffBody.slice(0, 300));
  assert.equal(JSON.parse(diffBody).error.code, 'ERR_PREVIEW_ANSWER_TOO_LARGE');
  refused();

  const preview = await fetch(api(`${chat}/files/${file.id}/preview`));
  const text = await preview.text();
  assert.equal(preview.status, 200, text.slice(0, 300));
  assert.ok(text.length <= DEFAULT_PREVIEW_LIMITS.maxAnswerBytes + 1000, `preview of ${text.length} bytes`);
  const { preview: shown } = JSON.parse(text) as PreviewResponse;
  assert.equal(shown.kind, 'table');
  if (shown.kind !== 'table') return;
  const [sheet] = shown.sheets;
  assert.equal(sheet!.columnCount, columns + 1);
  assert.equal(sheet!.truncated, true);
  const cell = sheet!.rows[0]![1]!;
  assert.equal(cell.length, DEFAULT_PREVIEW_LIMITS.maxCellChars + 1, 'a long cell is cut and marked');
  assert.ok(cell.endsWith('…'));
  assert.ok(sheet!.rows[0]!.length <= 50);
  refused();
  console.log(`# ${name}: ${v2.byteLength} bytes; diff refused (413), preview ${text.length} bytes`);
}

test('xlsx: 201 rows x 399 columns of one 32,767-character shared string, diffed and previewed', async () => {
  const [v1, v2] = await Promise.all([amplifyingXlsx(201, 399, 'a'), amplifyingXlsx(201, 399, 'b')]);
  assert.ok(v2.byteLength < 20_000, `${v2.byteLength} bytes`);
  await attack('bomb-xlsx', 'book.xlsx', v1, v2, 399);
});

test('ods: the same with one repeated cell per row', async () => {
  const [v1, v2] = await Promise.all([amplifyingOds(201, 399, 'a'), amplifyingOds(201, 399, 'b')]);
  await attack('bomb-ods', 'book.ods', v1, v2, 399);
});

test('xls (xlwt): 201 rows x 60 columns of one shared string', async () => {
  const v1 = await amplifyingXls(dir, 201, 60, 'a');
  const v2 = await amplifyingXls(dir, 201, 60, 'b');
  await attack('bomb-xls', 'book.xls', v1, v2, 60);
});

test(`five tiny uploads that preview large: the shared preview cache stays under its cap (${CACHE_MB} MiB)`, async () => {
  const cacheDir = path.join(dir, 'store', 'previews');
  for (let i = 0; i < 5; i++) {
    const bytes = await amplifyingOds(101, 60, String.fromCharCode(99 + i));
    const res = await fetch(api(`cache/uploads/tiny${i}.ods`), { method: 'PUT', body: new Uint8Array(bytes) });
    const { id } = (await res.json()) as FileSummary;
    const preview = await fetch(api(`cache/files/${id}/preview`));
    assert.equal(preview.status, 200);
    await preview.arrayBuffer();
  }
  const size = await folderBytes(cacheDir);
  console.log(`# preview cache after five amplifying uploads: ${mib(size)} (cap ${CACHE_MB} MiB)`);
  assert.ok(size > 0 && size <= CACHE_MB * MiB, `${size} bytes`);
  refused(5);
});

test('control characters in cells are previewed and diffed as JSON escapes, never a 500', async () => {
  const cells = ['a\u0000b', 'c\u0001\u001b[31m', '\u007f\u0085\u2028', 'tab\tcr\r'];
  const csv = (last: string) => Buffer.from(`key,value\n${cells.map((c, i) => `k${i},${c}${last}`).join('\n')}\n`);
  const ods = (last: string) =>
    odsWith(
      `<table:table table:name="S\u0001">${cells.map((c, i) => odsRow(`k${i}`, `${c}${last}`)).join('')}</table:table>`,
    );
  for (const [name, v1, v2] of [
    ['ctl.csv', csv('1'), csv('2')],
    ['ctl.ods', await ods('1'), await ods('2')],
  ] as const) {
    const file = await uploadTwice('controls', name, v1, v2);
    const older = file.versions.find((v) => v.id !== file.id)!;
    const preview = await fetch(api(`controls/files/${file.id}/preview`));
    assert.equal(preview.status, 200, name);
    const shown = ((await preview.json()) as PreviewResponse).preview;
    assert.ok(shown.kind === 'table', name);
    // CSV keeps every character; an XML reader may drop what XML forbids, but answers.
    if (name.endsWith('.csv')) assert.equal(shown.sheets[0]!.rows[1]![1], 'a\u0000b2');
    const diff = await fetch(api(`controls/files/${file.id}/diff?from=${older.id}`));
    assert.equal(diff.status, 200, name);
    assert.equal(((await diff.json()) as DiffResponse).diff.kind, 'table');
    refused();
  }
});

test(`the sidecar lived through it: answering, its peak RSS under ${mib(PEAK_RSS_BOUND)}`, async () => {
  const health = await fetch(`${base}sidecar/v1/health`);
  assert.ok(health.status === 200 || health.status === 503, `health answered ${health.status}`);
  const peak = sidecar.peakRss();
  console.log(
    `# sidecar RSS: idle ${mib(sidecar.idleRss)}, peak ${mib(peak)} (bound ${mib(PEAK_RSS_BOUND)}), now ${mib(sidecar.rss())}; every cell ${LONGEST_CELL} characters`,
  );
  assert.ok(peak < PEAK_RSS_BOUND, `peak RSS ${mib(peak)} is over ${mib(PEAK_RSS_BOUND)}`);
  survived();
});
