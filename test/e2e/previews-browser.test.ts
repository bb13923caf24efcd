/**
 * Previews of files a real kernel wrote through the sidecar (pandas + openpyxl, odfpy and xlwt, python-docx,
 * HTML and SVG with script), restore read back by the next execution, and in real Chromium:
 * the HTML's script does not run on the sidecar's origin, the docx preview has no live handler.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium, type LaunchedChromium } from '../support/chromium.ts';
import { signToken } from '../support/tokens.ts';
import type { FileListResponse, FileSummary } from '../../contract/files-api.ts';
import type { DiffResponse, PreviewResponse } from '../../contract/files-api.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { DOCX_PY, FORMATS_PY, HTML_PY, LEGACY_WORKBOOKS_PY, WORKBOOK_PY } from '../previews/python-files.ts';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';
const CHAT = 'previews';
let bed: TestBed;
let proxy: RunningSidecar;
let client: RawKernelClient;
let browser: Browser;
let chromium: LaunchedChromium;
let token: string;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
  token = await signToken(SECRET, { chat: CHAT });
  const base = `${proxy.url}chats/${CHAT}/`;
  const { id } = (await (await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' })).json()) as {
    id: string;
  };
  client = await RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'v1',
  );
  chromium = await launchChromium();
  browser = chromium.browser;
});
after(async () => {
  await chromium?.close();
  await client?.close();
  await proxy?.stop();
  await bed?.stop();
});

const api = (rest: string, init: RequestInit = {}) =>
  fetch(new URL(`sidecar/v1/chats/${CHAT}${rest}`, proxy.url), {
    ...init,
    headers: { authorization: `Bearer ${token}` },
  });

async function fileAt(rel: string): Promise<FileSummary> {
  const list = (await (await api('/files')).json()) as FileListResponse;
  const file = list.files.find((f) => f.path === rel);
  assert.ok(file, `${rel} recorded`);
  return file;
}

async function run(code: string): Promise<string> {
  const result = await client.execute(code, { timeoutMs: 60_000 });
  assert.equal(result.reply?.content.status, 'ok', result.stream);
  return result.stream;
}

describe('previews of files a real kernel wrote', () => {
  test('the 10,000-row pandas + openpyxl workbook: two sheets, dates, full counts', async () => {
    await run(WORKBOOK_PY('/mnt/data'));
    const file = await fileAt('report.xlsx');
    const res = await api(`/files/${file.id}/preview`);
    assert.equal(res.status, 200);
    const { preview } = (await res.json()) as PreviewResponse;
    assert.ok(preview.kind === 'table');
    assert.deepEqual(
      preview.sheets.map((s) => [s.name, s.rowCount, s.columnCount]),
      [
        ['Data', 10_001, 4],
        ['Summary', 3, 4],
      ],
    );
    assert.deepEqual(preview.sheets[0]!.rows[1], ['1', '2024-01-01', '0', 'US']);
    assert.equal(preview.sheets[1]!.rows[2]![3], "=cmd|' /C calc'!A0");
    // openpyxl writes formulas without a cached value (nothing computed them): shown empty, never evaluated.
    assert.equal(preview.sheets[1]!.rows[1]![2], '');
  });

  test('the same sheets as .ods (odfpy) and .xls (xlwt), and number formats as the workbook shows them', async () => {
    await run(LEGACY_WORKBOOKS_PY('/mnt/data'));
    await run(FORMATS_PY('/mnt/data'));
    for (const [name, date] of [
      ['report.ods', '01/01/24'],
      ['report.xls', '2024-01-01'],
    ] as const) {
      const res = await api(`/files/${(await fileAt(name)).id}/preview`);
      assert.equal(res.status, 200, name);
      const { preview } = (await res.json()) as PreviewResponse;
      assert.ok(preview.kind === 'table', name);
      assert.deepEqual(
        preview.sheets.map((s) => [s.name, s.rowCount, s.columnCount]),
        [
          ['Data', 2001, 4],
          ['Summary', 3, 2],
        ],
        name,
      );
      assert.deepEqual(preview.sheets[0]!.rows[1], ['1', date, '0', 'US'], name);
      assert.equal(preview.sheets[1]!.rows[2]![1], "=cmd|' /C calc'!A0", name);
    }
    for (const name of ['formats.xlsx', 'formats.xls']) {
      const { preview } = (await (await api(`/files/${(await fileAt(name)).id}/preview`)).json()) as PreviewResponse;
      assert.ok(preview.kind === 'table', name);
      assert.deepEqual(preview.sheets[0]!.rows[1]!.slice(0, 4), ['1.234,50 €', '25.6%', '2024-03-05', 'Qty: 12'], name);
    }
  });

  test('a python-docx document with a table, as sanitized HTML with no live handler in Chromium', async () => {
    await run(DOCX_PY('/mnt/data'));
    const file = await fileAt('report.docx');
    const { preview } = (await (await api(`/files/${file.id}/preview`)).json()) as PreviewResponse;
    assert.ok(preview.kind === 'document');
    assert.match(preview.html, /<table>/);
    const page = await browser.newPage();
    await page.goto(new URL('sidecar/v1/health', proxy.url).href);
    const live = await page.evaluate((html) => {
      const host = document.createElement('div');
      host.innerHTML = html;
      document.body.append(host);
      const handlers = [...host.querySelectorAll('*')].flatMap((el) =>
        [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name),
      );
      return { handlers, scripts: host.querySelectorAll('script').length, text: host.textContent };
    }, preview.html);
    assert.deepEqual(live.handlers, []);
    assert.equal(live.scripts, 0);
    assert.match(live.text ?? '', /<script>window.pwned = 1<\/script> stays text/);
    await page.close();
  });

  test('HTML with a script: its frame URL on the sidecar origin runs no script; SVG with onload is an image', async () => {
    await run(HTML_PY('/mnt/data'));
    const html = await fileAt('page.html');
    const { preview } = (await (await api(`/files/${html.id}/preview`)).json()) as PreviewResponse;
    assert.ok(preview.kind === 'frame');
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (m) => consoleErrors.push(m.text()));
    // Opened directly, top level, on the sidecar's own origin: the worst case.
    const response = await page.goto(`${new URL(preview.url, proxy.url).href}?token=${token}`);
    assert.equal(response?.status(), 200);
    assert.equal(await page.title(), 'chart', 'the script did not change the title');
    assert.equal(await page.evaluate(() => document.querySelectorAll('h1').length), 1, 'the page itself rendered');
    await page.close();
    const svg = (await (await api(`/files/${(await fileAt('logo.svg')).id}/preview`)).json()) as PreviewResponse;
    assert.equal(svg.preview.kind, 'image');
  });

  test('what changed between two workbook versions, and restore read back by the next execution', async () => {
    await run(
      "import pandas as pd\npd.DataFrame({'id': [1, 2, 3], 'v': ['a', 'b', 'c']}).to_csv('/mnt/data/t.csv', index=False)",
    );
    await run(
      "import pandas as pd\npd.DataFrame({'id': [1, 3, 4], 'v': ['a', 'C', 'd']}).to_csv('/mnt/data/t.csv', index=False)",
    );
    const file = await fileAt('t.csv');
    const diff = (await (await api(`/files/${file.id}/diff?from=${file.versions[1]!.id}`)).json()) as DiffResponse;
    assert.ok(diff.diff.kind === 'table');
    assert.deepEqual(diff.diff.sheets[0]!.counts, { added: 1, removed: 1, changed: 1 });
    const restore = await api(`/files/${file.versions[1]!.id}/restore`, { method: 'POST' });
    assert.equal(restore.status, 201);
    assert.equal(((await restore.json()) as FileSummary).source, 'restore');
    assert.match(await run("print(open('/mnt/data/t.csv').read())"), /2,b/);
    assert.equal((await fileAt('t.csv')).version, 3, 'reading it records nothing new');
  });
});
