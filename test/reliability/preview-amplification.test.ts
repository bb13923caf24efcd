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
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { FileSummary, PreviewResponse } from '../../contract/files-api.ts';
import { DEFAULT_PREVIEW_LIMITS } from '../../proxy/previews/preview-limits.ts';
import { amplifyingOds, amplifyingXls, amplifyingXlsx, LONGEST_CELL } from './amplifying-files.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';

reportAfter('preview-amplification');

const MiB = 1024 * 1024;
/**
 * The sidecar's peak RSS over the whole file: an idle sidecar is ~100 MiB, each render worker adds
 * its own heap (tsx included); before the fix the xlsx diff alone reached 4 GB and was killed.
 */
const PEAK_RSS_BOUND = 512 * MiB;
const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sidecar-child.ts');
let dir: string;
let sidecar: ChildProcess;
let base: string;
let idleRss = 0;

const status = (pid: number) => readFileSync(`/proc/${pid}/status`, 'utf8');
const kib = (text: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)![1]) * 1024;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-amplify-'));
  sidecar = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      child,
      JSON.stringify({
        dir,
        workspaceRoot: path.join(dir, 'workspaces'),
        // No kernel is needed: only the files API is attacked.
        jupyterUrl: 'http://127.0.0.1:9/',
        token: '',
        env: {},
      }),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  base = await new Promise<string>((resolve, reject) => {
    let pending = '';
    sidecar.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const match = /^url (\S+)$/m.exec(pending);
      if (match) resolve(match[1]!);
    });
    sidecar.once('exit', (code) => reject(new Error(`the sidecar exited (${code})`)));
  });
  idleRss = kib(status(sidecar.pid!), 'VmRSS');
});

after(async () => {
  sidecar.kill('SIGTERM');
  await new Promise((resolve) => sidecar.once('exit', resolve));
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

test(`the sidecar lived through it: answering, its peak RSS under ${mib(PEAK_RSS_BOUND)}`, async () => {
  const health = await fetch(`${base}sidecar/v1/health`);
  assert.ok(health.status === 200 || health.status === 503, `health answered ${health.status}`);
  const now = status(sidecar.pid!);
  const peak = kib(now, 'VmHWM');
  console.log(
    `# sidecar RSS: idle ${mib(idleRss)}, peak ${mib(peak)} (bound ${mib(PEAK_RSS_BOUND)}), now ${mib(kib(now, 'VmRSS'))}; every cell ${LONGEST_CELL} characters`,
  );
  assert.ok(peak < PEAK_RSS_BOUND, `peak RSS ${mib(peak)} is over ${mib(PEAK_RSS_BOUND)}`);
  survived();
});
