/**
 * Issue 22: four 190 kB docx files raised the sidecar from 66 MB to 1.84 GB. Each inflates to just
 * under --preview-max-unzipped-mb, and the docx path held every inflated part as Buffers (outside
 * the render worker's heap cap) several times over: inflated, re-packed, then read by mammoth.
 * The attack, on a real sidecar in a process of its own: four distinct such files uploaded through
 * the files API and previewed at once. Each preview must be refused with a clear code, and the
 * sidecar's peak RSS (VmHWM) must stay under PEAK_RSS_BOUND.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { FileSummary } from '../../contract/files-api.ts';
import { docxTextBomb } from '../previews/hostile-files.ts';
import { MiB, mib, startChildSidecar, type ChildSidecar } from './child-sidecar.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';

reportAfter('docx-memory');

/** The render workers' heap cap in this file's sidecar: the inflated text lives there now. */
const WORKER_HEAP_MB = 128;
const CONCURRENCY = 2;
/**
 * What the sidecar may reach: idle, plus per render running its heap cap and ~100 MiB for the
 * thread itself (its young generation, code, tsx). Before the fix each render also held ~4 x 195
 * MiB of Buffers outside its heap, whatever the cap.
 */
const boundOver = (idle: number) => idle + CONCURRENCY * (WORKER_HEAP_MB + 100) * MiB;
/** Just under the default --preview-max-unzipped-mb (200), so only the memory limits stop it. */
const INFLATED = 195 * MiB;
let dir: string;
let sidecar: ChildSidecar;

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-docx-'));
  sidecar = await startChildSidecar(dir, {
    // No time limit to speak of: each render runs until a memory limit stops it, the worst case.
    PREVIEW_TIMEOUT_MS: '600000',
    PREVIEW_WORKER_HEAP_MB: String(WORKER_HEAP_MB),
    PREVIEW_CONCURRENCY: String(CONCURRENCY),
    PREVIEW_CHAT_CONCURRENCY: String(CONCURRENCY),
  });
});

after(async () => {
  await sidecar.stop();
  await rm(dir, { recursive: true, force: true });
});

test('four 190 kB docx files that inflate to 195 MiB each, previewed at once', async () => {
  const api = (rest: string) => `${sidecar.base}sidecar/v1/chats/docx/${rest}`;
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) {
    const bytes = await docxTextBomb(INFLATED + i);
    assert.ok(bytes.byteLength < 200_000, `${bytes.byteLength} bytes`);
    const res = await fetch(api(`uploads/report${i}.docx`), { method: 'PUT', body: new Uint8Array(bytes) });
    assert.equal(res.status, 201, await res.clone().text());
    ids.push(((await res.json()) as FileSummary).id);
  }
  const answers = await Promise.all(
    ids.map(async (id) => {
      const res = await fetch(api(`files/${id}/preview`));
      return { status: res.status, body: await res.text() };
    }),
  );
  for (const { status, body } of answers) {
    // Refused with a clear code (too large, unreadable or stopped at its time), never a 5xx.
    assert.ok(status === 413 || status === 422, `${status} ${body.slice(0, 300)}`);
    assert.match(JSON.parse(body).error.code, /^ERR_PREVIEW_/);
    refused();
  }
  console.log(`# docx previews: ${answers.map((a) => `${a.status} ${JSON.parse(a.body).error.code}`).join(', ')}`);
});

test("the sidecar lived through it, its peak RSS within its workers' heap caps", async () => {
  const health = await fetch(`${sidecar.base}sidecar/v1/health`);
  assert.ok(health.status === 200 || health.status === 503, `health answered ${health.status}`);
  const peak = sidecar.peakRss();
  const bound = boundOver(sidecar.idleRss);
  console.log(
    `# sidecar RSS: idle ${mib(sidecar.idleRss)}, peak ${mib(peak)} (bound ${mib(bound)}: ${CONCURRENCY} workers of ${WORKER_HEAP_MB} MiB heap), now ${mib(sidecar.rss())}`,
  );
  assert.ok(peak < bound, `peak RSS ${mib(peak)} is over ${mib(bound)}`);
  survived();
});
