/**
 * Giving a file to the code, end to end: in real Chromium, the script-tag element (served by
 * the sidecar, with `uploads`) uploads a CSV through its native picker; code run through the
 * sidecar in a real Jupyter kernel reads it at /mnt/data and writes a summary; the element
 * shows both, the CSV under the user's uploads and the summary among the code's files.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, ElementHandle } from 'puppeteer-core';
import { launchChromium, type LaunchedChromium } from '../support/chromium.ts';
import type { FileSummary } from '../../contract/files-api.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';

let bed: TestBed;
let proxy: RunningSidecar;
let browser: Browser;
let chromium: LaunchedChromium;
let scratch: string;

before(async () => {
  assert.ok(existsSync('dist/widget/generated-files.js'), 'build the widget first: npm run build:widget');
  bed = await startTestBed();
  proxy = await startSidecar(bed, { demo: 'true' }, { demoConfig: () => ({ token: bed.jupyter.token }) });
  scratch = await mkdtemp(path.join(tmpdir(), 'gf-upload-e2e-'));
  chromium = await launchChromium();
  browser = chromium.browser;
});
after(async () => {
  await chromium?.close();
  await proxy?.stop();
  await bed?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test('a CSV uploaded in the element is read by code in the kernel; both files are listed, each by its source', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${proxy.url}sidecar/demo/`, { waitUntil: 'domcontentloaded' });
  // The demo starts chat-1's kernel, then points the element at it.
  await page.waitForFunction(
    () => document.querySelector('generated-files')?.shadowRoot?.textContent?.includes('No files yet'),
    { timeout: 30_000 },
  );

  // Turn uploads on, as a chat app would; the upload code loads on that.
  await page.evaluate(() => document.querySelector('generated-files')!.setAttribute('uploads', ''));
  const picker = (await page.waitForFunction(
    () => document.querySelector('generated-files')?.shadowRoot?.querySelector('input[type=file]'),
    {
      timeout: 15_000,
    },
  )) as ElementHandle<HTMLInputElement>;
  const csv = path.join(scratch, 'sales.csv');
  await writeFile(csv, 'region,sales\nnorth,120\nsouth,80\n');
  const uploaded = page.evaluate(
    () =>
      new Promise<FileSummary>((resolve, reject) =>
        document.querySelector('generated-files')!.addEventListener('generated-files-upload', (event) => {
          const { phase, summary, error } = event.detail;
          if (phase === 'done') resolve(summary!);
          if (phase === 'error') reject(error);
        }),
      ),
  );
  await picker.uploadFile(csv);
  const summary = await uploaded;
  assert.equal(summary.path, 'sales.csv');
  assert.equal(summary.source, 'upload');

  // Code the model wrote, run through the sidecar by the demo page's own kernel connection.
  await page.$eval('#code', (area) => {
    (area as HTMLTextAreaElement).value = [
      'import pandas as pd',
      "df = pd.read_csv('/mnt/data/sales.csv')",
      "open('/mnt/data/summary.txt', 'w').write(f'rows={len(df)} total={df.sales.sum()}')",
      "print('summarized', len(df))",
    ].join('\n');
  });
  await page.click('#run');
  await page.waitForFunction(() => document.querySelector('#output')?.textContent?.includes('summarized 2'), {
    timeout: 60_000,
  });

  // No reload: the element hears of the summary on its own.
  const listed = await page.waitForFunction(
    () => {
      const root = document.querySelector('generated-files')?.shadowRoot;
      const made = [...(root?.querySelectorAll('[part~="list"] [part~="name"]') ?? [])].map((n) => n.textContent);
      const given = [...(root?.querySelectorAll('[part~="uploaded-list"] [part~="name"]') ?? [])].map(
        (n) => n.textContent,
      );
      return made.includes('summary.txt') && { made, given };
    },
    { timeout: 15_000 },
  );
  assert.deepEqual(await listed.jsonValue(), { made: ['summary.txt'], given: ['sales.csv'] });
  const sources = await page.evaluate(() =>
    Object.fromEntries(document.querySelector('generated-files')!.files.map((f) => [f.path, f.source])),
  );
  assert.deepEqual(sources, { 'summary.txt': 'execution', 'sales.csv': 'upload' });
  const text = await page.evaluate(async () => {
    const file = document.querySelector('generated-files')!.files.find((f) => f.path === 'summary.txt')!;
    return (await fetch(file.downloadUrl)).text();
  });
  assert.equal(text, 'rows=2 total=200');
  assert.deepEqual(errors, []);
});
