/**
 * The whole path in a real browser: the demo page runs code in a real kernel through the
 * sidecar, the <generated-files> element shows the new file without a reload, the
 * download saves the file's exact bytes under its name, and the preview opens with its code
 * loaded from the sidecar, next to the bundle.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser } from 'puppeteer-core';
import { launchChromium, type LaunchedChromium } from '../support/chromium.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';

let bed: TestBed;
let proxy: RunningSidecar;
let browser: Browser;
let chromium: LaunchedChromium;

before(async () => {
  assert.ok(existsSync('dist/widget/generated-files.js'), 'build the widget first: npm run build:widget');
  bed = await startTestBed();
  proxy = await startSidecar(bed, { demo: 'true' }, { demoConfig: () => ({ token: bed.jupyter.token }) });
  chromium = await launchChromium();
  browser = chromium.browser;
});
after(async () => {
  await chromium?.close();
  await proxy?.stop();
  await bed?.stop();
});

test('demo: run code that writes report.xlsx, the file appears live, the download is byte-identical, the preview opens', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const scripts: string[] = [];
  page.on('response', (response) => {
    if (response.request().resourceType() === 'script') scripts.push(`${response.status()} ${response.url()}`);
  });
  // The element keeps an EventSource open, so the network never goes idle: wait for what the
  // test needs, the element's empty list, instead.
  await page.goto(`${proxy.url}sidecar/demo/`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(
    () => document.querySelector('generated-files')?.shadowRoot?.textContent?.includes('No files yet'),
    { timeout: 15_000 },
  );

  await page.click('[data-example="excel"]');
  await page.click('#run');
  await page.waitForFunction(
    () => document.querySelector('#output')?.textContent?.includes('Saved /mnt/data/report.xlsx'),
    { timeout: 60_000 },
  );
  // No reload: the element hears about the new file on its own.
  const shown = await page.waitForFunction(
    () => document.querySelector('generated-files')?.shadowRoot?.querySelector('[part~="name"]')?.textContent,
    { timeout: 15_000 },
  );
  assert.equal(await shown.jsonValue(), 'report.xlsx');

  const downloads = await mkdtemp(path.join(tmpdir(), 'gf-downloads-'));
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads, eventsEnabled: true });
  const finished = new Promise<string>((resolve) => {
    cdp.on('Browser.downloadProgress', (event) => {
      if (event.state === 'completed' || event.state === 'canceled') resolve(event.state);
    });
  });
  const button = await page.evaluateHandle(() =>
    document.querySelector('generated-files')!.shadowRoot!.querySelector('[part~="download-button"]'),
  );
  await (button as unknown as { click(): Promise<void> }).click();
  assert.equal(await finished, 'completed');
  assert.deepEqual(await readdir(downloads), ['report.xlsx']);
  const original = await readFile(path.join(bed.workspaceRoot, 'chat-1', 'report.xlsx'));
  assert.deepEqual(await readFile(path.join(downloads, 'report.xlsx')), original);

  const chunk = `${proxy.url}sidecar/widget/generated-files-file-viewer.js`;
  assert.ok(!scripts.some((s) => s.endsWith(chunk)), 'no preview code before a preview opens');
  await page.evaluate(() =>
    document
      .querySelector('generated-files')!
      .shadowRoot!.querySelector<HTMLElement>('[part~="preview-button"]')!
      .click(),
  );
  await page.waitForFunction(
    () => document.querySelector('generated-files')?.shadowRoot?.querySelector('[part~="preview"] table th'),
    { timeout: 15_000 },
  );
  assert.ok(scripts.includes(`200 ${chunk}`), `the preview code came from the sidecar: ${scripts.join(', ')}`);
  assert.deepEqual(errors, []);
  await rm(downloads, { recursive: true, force: true });
});

test('demo with FILES_API_SECRET set: mints its chat token, uploads on, every preview, its kernels shut down on leaving', async () => {
  const secret = 'demo-secret-0123456789-abcdefghijklmnopq';
  const guarded = await startSidecar(
    bed,
    { demo: 'true', 'data-dir': path.join(bed.dir, 'store-with-secret') },
    { demoConfig: () => ({ token: bed.jupyter.token }) },
    { FILES_API_SECRET: secret },
  );
  const kernels = async () =>
    ((await (await fetch(`${bed.jupyter.url}api/kernels?token=${bed.jupyter.token}`)).json()) as { id: string }[]).map(
      (k) => k.id,
    );
  const before = new Set(await kernels());
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  try {
    // The files API refuses a request without a token: the list shows only with the demo's own.
    // A chat of its own (chat-1 has the first test's files; the workspaces are shared).
    await page.goto(`${guarded.url}sidecar/demo/`, { waitUntil: 'domcontentloaded' });
    await page.waitForFunction(() => document.querySelector('generated-files')?.getAttribute('chat-id') === 'chat-1', {
      timeout: 20_000,
    });
    await page.click('#new-chat');
    await page.waitForFunction(
      () =>
        document.querySelector('generated-files')?.getAttribute('chat-id') === 'chat-2' &&
        document.querySelector('generated-files')?.shadowRoot?.textContent?.includes('No files yet'),
      { timeout: 20_000 },
    );
    assert.ok(
      await page.evaluate(
        () => !!document.querySelector('generated-files')!.shadowRoot!.querySelector('[part~="uploads"]'),
      ),
      'uploads on',
    );

    await page.click('[data-example="formats"]');
    await page.click('#run');
    await page.waitForFunction(() => document.querySelector('#output')?.textContent?.includes('Wrote 10 files'), {
      timeout: 60_000,
    });
    const rows = await page.waitForFunction(
      () => {
        const items = [
          ...(document.querySelector('generated-files')?.shadowRoot?.querySelectorAll('[part~="item"]') ?? []),
        ];
        return (
          items.length === 10 &&
          items.map((i) => [
            i.querySelector('[part~="name"]')!.textContent,
            !!i.querySelector('[part~="preview-button"]'),
          ])
        );
      },
      { timeout: 20_000 },
    );
    const shown = (await rows.jsonValue()) as [string, boolean][];
    assert.deepEqual(
      shown.filter(([, previewable]) => !previewable),
      [],
      `every format the demo writes has a preview: ${JSON.stringify(shown)}`,
    );
    const started = (await kernels()).filter((id) => !before.has(id));
    assert.equal(started.length, 2, 'the page started a kernel for each of its two chats');

    // Leaving the page shuts its kernel down (a keepalive DELETE from pagehide).
    await page.goto('about:blank');
    const deadline = Date.now() + 20_000;
    while ((await kernels()).some((id) => started.includes(id)))
      assert.ok(Date.now() < deadline, 'its kernels were shut down');
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
    await guarded.stop();
  }
});
