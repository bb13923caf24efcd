/**
 * Scenario 8: the <generated-files> element under load, in headless Chromium (puppeteer-core).
 * - Memory while a 500 MB file downloads: the page's JS heap (CDP `Runtime.getHeapUsage`) and
 *   the renderer's peak RSS, through the link path (the browser's download manager, the default
 *   past `link-threshold`) against the Blob path every download took before links (the same
 *   element with `link-threshold` above the file's size).
 * - Scrolling 10,000 files: frame intervals over a scripted scroll (one step per frame), and the
 *   element's work per step (from the scroll event to the update that follows, with layout).
 * The files come from the sidecar's real files API (its routes over real records and blobs).
 */
import { once } from 'node:events';
import { filesApiParts } from '../test/support/api-fixture.ts';
import { mkdir, mkdtemp, open, readFile, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import type { Browser, CDPSession, Page } from 'puppeteer-core';
import { CHROMIUM_PATH, launchChromium, type LaunchedChromium } from '../test/support/chromium.ts';
import { API_PREFIX } from '../contract/files-api.ts';
import { signToken } from '../test/support/tokens.ts';
import { createFilesApi } from '../proxy/api/files-routes.ts';
import { createFixture, type Fixture } from '../test/support/recorder-fixture.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { summarize, type Summary } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const WIDGET_DIR = path.join(ROOT, 'dist/widget');
const SECRET = 'bench-secret-0123456789-abcdefghijklmnop';
const MB = 1024 * 1024;
const HEAP_GOAL_BYTES = 5 * MB;

/** The files API and a page that loads the script-tag bundle, on one origin. */
async function startServer(fixture: Fixture): Promise<{ origin: string; close(): Promise<void> }> {
  const app = express();
  app.use(API_PREFIX, createFilesApi({ ...fixture, ...filesApiParts(fixture), auth: { secret: SECRET } }));
  app.use('/widget', express.static(WIDGET_DIR));
  app.get('/', (_req, res) => {
    res
      .type('html')
      .send(
        '<!doctype html><meta charset="utf-8"><title>bench</title><script type="module" src="/widget/generated-files.js"></script><body></body>',
      );
  });
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Writes `bytes` of a repeating pattern in 8 MiB chunks (never the whole file in memory). */
async function writeBigFile(file: string, bytes: number): Promise<void> {
  const chunk = Buffer.alloc(8 * MB, 'generated-files,');
  const handle = await open(file, 'w');
  try {
    for (let written = 0; written < bytes; written += chunk.length)
      await handle.write(chunk, 0, Math.min(chunk.length, bytes - written));
  } finally {
    await handle.close();
  }
}

async function heapUsed(cdp: CDPSession, collect: boolean): Promise<number> {
  if (collect) await cdp.send('HeapProfiler.collectGarbage');
  return (await cdp.send('Runtime.getHeapUsage')).usedSize;
}

/** Resident memory of Chromium: the browser process and all its descendants (renderers, network service), from /proc. */
async function chromiumRss(browser: Browser): Promise<number> {
  const root = browser.process()?.pid;
  if (!root) return Number.NaN;
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    // Field 4 is the parent's pid; the name in field 2 may hold spaces, so count from its ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(name), ppid);
  }
  const within = (pid: number): boolean => pid === root || (parents.has(pid) && within(parents.get(pid)!));
  let total = 0;
  for (const pid of parents.keys()) {
    if (!within(pid)) continue;
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  }
  return total;
}

interface DownloadMemory {
  heapGrowthPeak: number;
  heapGrowthAfterGc: number;
  /** Peak growth of all of Chromium's resident memory while the download ran. */
  chromiumRssGrowth: number;
  seconds: number;
}

/** One download of the big file in a fresh page (and renderer), heap sampled on each progress event. */
async function downloadOnce(
  browser: Browser,
  origin: string,
  chatId: string,
  token: string,
  linkThreshold: number,
  folder: string,
): Promise<DownloadMemory> {
  const page = await browser.newPage();
  try {
    await page.goto(`${origin}/`, { waitUntil: 'domcontentloaded' });
    const cdp = await page.createCDPSession();
    const browserCdp = await browser.target().createCDPSession();
    await browserCdp.send('Browser.setDownloadBehavior', {
      behavior: 'allow',
      downloadPath: folder,
      eventsEnabled: true,
    });
    await page.evaluate(
      async (chat, bearer, threshold) => {
        await customElements.whenDefined('generated-files');
        const el = document.createElement('generated-files');
        Object.assign(el, { chatId: chat, token: bearer, live: 'off', linkThreshold: threshold });
        const loaded = new Promise((resolve) => el.addEventListener('load', resolve, { once: true }));
        document.body.append(el);
        await loaded;
      },
      chatId,
      token,
      linkThreshold,
    );
    const before = await heapUsed(cdp, true);
    let peak = before;
    const rssBefore = await chromiumRss(browser);
    let rssPeak = rssBefore;
    const sampleRss = () =>
      void chromiumRss(browser).then(
        (rss) => (rssPeak = Math.max(rssPeak, rss)),
        () => {},
      );
    const started = performance.now();
    const done = new Promise<void>((resolve, reject) => {
      browserCdp.on('Browser.downloadProgress', (event) => {
        if (event.state === 'completed') resolve();
        else if (event.state === 'canceled') reject(new Error('download canceled'));
        else {
          void heapUsed(cdp, false).then(
            (used) => (peak = Math.max(peak, used)),
            () => {},
          );
          sampleRss();
        }
      });
    });
    await page.evaluate(() => {
      const el = document.querySelector('generated-files')!;
      void el.download(el.files[0]!);
    });
    await done;
    const seconds = (performance.now() - started) / 1000;
    peak = Math.max(peak, await heapUsed(cdp, false));
    const after = await heapUsed(cdp, true);
    rssPeak = Math.max(rssPeak, await chromiumRss(browser));
    await browserCdp.detach();
    return {
      heapGrowthPeak: peak - before,
      heapGrowthAfterGc: after - before,
      chromiumRssGrowth: rssPeak - rssBefore,
      seconds,
    };
  } finally {
    await page.close();
    for (const name of await readdir(folder)) await rm(path.join(folder, name), { force: true });
  }
}

/** Scrolls 10,000 files by `stepPx` per frame to the end (at most `maxSteps`); frame intervals and per-step work. */
async function scrollOnce(
  page: Page,
  origin: string,
  chatId: string,
  token: string,
  maxSteps: number,
  stepPx: number,
  plain: boolean,
) {
  await page.goto(`${origin}/`, { waitUntil: 'domcontentloaded' });
  return page.evaluate(
    async (chat, bearer, count, px, plainList) => {
      await customElements.whenDefined('generated-files');
      // Registered before the element's own capture listener on window, so it runs first:
      // the moment a scroll event starts being handled.
      let handling = 0;
      addEventListener('scroll', () => (handling = performance.now()), { capture: true, passive: true });
      const el = document.createElement('generated-files');
      Object.assign(el, { chatId: chat, token: bearer, live: 'off' });
      const loaded = new Promise((resolve) => el.addEventListener('load', resolve, { once: true }));
      document.body.append(el);
      await loaded;
      await el.updateComplete;
      if (plainList) {
        // The baseline: the same names as plain rows of the same height, all in the DOM, no element.
        const ul = document.createElement('ul');
        ul.innerHTML = el.files
          .map(
            (f) =>
              `<li style="height:${el.shadowRoot!.querySelector('[part~=item]')!.getBoundingClientRect().height}px">${f.name} <button type="button">Download</button></li>`,
          )
          .join('');
        el.remove();
        document.body.append(ul);
        scrollTo(0, 0);
      }
      const frames: number[] = [];
      const work: number[] = [];
      let last = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
      // No named functions in here: tsx would wrap them in a helper the page does not have.
      for (let i = 0; i < count && scrollY + innerHeight < document.documentElement.scrollHeight - 1; i++) {
        const scrolled = new Promise<Event>((resolve) => addEventListener('scroll', resolve, { once: true }));
        scrollBy(0, px);
        await scrolled;
        const t0 = handling;
        await el.updateComplete;
        void document.body.offsetHeight;
        work.push(performance.now() - t0);
        const now = await new Promise<number>((resolve) => requestAnimationFrame(resolve));
        frames.push(now - last);
        last = now;
      }
      const rendered = el.shadowRoot!.querySelectorAll('[part~="item"]').length;
      return { frames, work, rendered, atEnd: scrollY + innerHeight >= document.documentElement.scrollHeight - 1 };
    },
    chatId,
    token,
    maxSteps,
    stepPx,
    plain,
  );
}

export async function benchWidgetMemoryScroll(quick: boolean): Promise<ScenarioResult> {
  const fixture = await createFixture();
  const server = await startServer(fixture);
  const scratch = await mkdtemp(path.join(tmpdir(), 'gf-bench-widget-'));
  let chromium: LaunchedChromium | null = null;
  try {
    const bigSize = 500 * 1000 * 1000;
    const bigChat = 'bench-big';
    await writeBigFile(path.join(await fixture.workspaces.ensure(bigChat), 'big.csv'), bigSize);
    await fixture.recorder.scan(bigChat, {
      source: 'execution',
      execution: { kernelId: 'k', msgId: 'm', owner: null },
    });

    const manyChat = 'bench-many';
    const count = 10_000;
    const dir = await fixture.workspaces.ensure(manyChat);
    for (let i = 0; i < count; i++) {
      const handle = await open(
        path.join(dir, `report-${i}.${i % 3 === 0 ? 'csv' : i % 3 === 1 ? 'xlsx' : 'png'}`),
        'w',
      );
      await handle.write(`file ${i}\n`);
      await handle.close();
    }
    await fixture.recorder.scan(manyChat, {
      source: 'execution',
      execution: { kernelId: 'k', msgId: 'm', owner: null },
    });

    chromium = await launchChromium();
    const browser = chromium.browser;
    const downloads = path.join(scratch, 'downloads');
    await mkdir(downloads);

    const bigToken = await signToken(SECRET, { chat: bigChat });
    const runs = quick ? 1 : 3;
    const link: DownloadMemory[] = [];
    const blob: DownloadMemory[] = [];
    for (let i = 0; i < runs; i++) {
      link.push(await downloadOnce(browser, server.origin, bigChat, bigToken, 8 * MB, downloads));
      blob.push(await downloadOnce(browser, server.origin, bigChat, bigToken, 2 * bigSize, downloads));
    }

    const page = await browser.newPage();
    await page.setViewport({ width: 1000, height: 800 });
    // Half a screen per frame: a fast wheel or a dragged scroll bar.
    const stepPx = 400;
    const manyToken = await signToken(SECRET, { chat: manyChat });
    const scroll = await scrollOnce(page, server.origin, manyChat, manyToken, 5000, stepPx, false);
    const plainScroll = await scrollOnce(page, server.origin, manyChat, manyToken, 5000, stepPx, true);
    const steps = scroll.frames.length;
    await page.close();
    if (!scroll.atEnd || !plainScroll.atEnd) throw new Error('the scripted scroll did not reach the end of the list');

    const pick = (runsOf: DownloadMemory[], key: keyof DownloadMemory) => summarize(runsOf.map((r) => r[key]));
    const mbOf = (s: Summary): Summary => ({ median: s.median / MB, p95: s.p95 / MB, count: s.count });
    const linkPeak = pick(link, 'heapGrowthPeak');
    const frames = summarize(scroll.frames);
    const plainFrames = summarize(plainScroll.frames);
    const work = summarize(scroll.work);
    const longFrames = (samples: number[]) => `${samples.filter((f) => f > 50).length} of ${samples.length}`;
    const rows: ResultRow[] = [
      {
        scenario: '10 widget load',
        metric: 'JS heap growth, peak while a 500 MB file downloads: Blob path → link path',
        unit: 'MB',
        direct: mbOf(pick(blob, 'heapGrowthPeak')),
        sidecar: mbOf(linkPeak),
        ratio: linkPeak.median / pick(blob, 'heapGrowthPeak').median,
        goal: '< 5 MB (link path)',
        pass: Math.max(...link.map((r) => r.heapGrowthPeak)) < HEAP_GOAL_BYTES,
      },
      {
        scenario: '10 widget load',
        metric: 'JS heap growth after the download and a GC: Blob path → link path',
        unit: 'MB',
        direct: mbOf(pick(blob, 'heapGrowthAfterGc')),
        sidecar: mbOf(pick(link, 'heapGrowthAfterGc')),
        ratio: pick(link, 'heapGrowthAfterGc').median / pick(blob, 'heapGrowthAfterGc').median,
        goal: 'report',
        pass: null,
      },
      {
        scenario: '10 widget load',
        metric: "Chromium's resident memory (all processes), peak growth over the download: Blob path → link path",
        unit: 'MB',
        direct: mbOf(pick(blob, 'chromiumRssGrowth')),
        sidecar: mbOf(pick(link, 'chromiumRssGrowth')),
        ratio: pick(link, 'chromiumRssGrowth').median / pick(blob, 'chromiumRssGrowth').median,
        goal: 'report',
        pass: null,
      },
      {
        scenario: '10 widget load',
        metric: `scroll ${count.toLocaleString('en-US')} files, ${steps} steps of ${stepPx} px: frame interval, plain rows → <generated-files>`,
        unit: 'ms',
        direct: plainFrames,
        sidecar: frames,
        ratio: frames.median / plainFrames.median,
        goal: 'report (a frame is 16.7 ms)',
        pass: null,
        detail: `frames over 50 ms: ${longFrames(plainScroll.frames)} plain, ${longFrames(scroll.frames)} element; ${scroll.rendered} rows in the element's DOM at the end`,
      },
      {
        scenario: '10 widget load',
        metric: `scroll ${count.toLocaleString('en-US')} files: the element's work per step (scroll event → update and layout)`,
        unit: 'ms',
        direct: work,
        sidecar: work,
        ratio: 1,
        goal: 'report (≪ 16.7 ms)',
        pass: null,
      },
      {
        scenario: '10 widget load',
        metric: 'download time of 500 MB: Blob path → link path',
        unit: 's',
        direct: pick(blob, 'seconds'),
        sidecar: pick(link, 'seconds'),
        ratio: pick(link, 'seconds').median / pick(blob, 'seconds').median,
        goal: 'report',
        pass: null,
      },
    ];
    return {
      rows,
      notes: [
        `Headless Chromium (${CHROMIUM_PATH}) through puppeteer-core, the script-tag bundle on the same origin as the sidecar's real files API (records and blobs in a temp folder, a 500 MB (10^9/2 bytes) CSV and ${count.toLocaleString('en-US')} small files, all recorded by a real scan).`,
        `Memory: each download in a fresh page; the JS heap (Runtime.getHeapUsage, after a forced GC) before the click, sampled on every Browser.downloadProgress event, and after a GC at the end. The link path is the element's default past link-threshold (8 MiB); the Blob path is the same element with link-threshold above the size (how every download went before links). Chromium's resident memory is the sum of VmRSS over the browser process and its descendants (/proc), sampled with the heap. ${runs} run(s) each.`,
        `Scroll: viewport 1000×800; each step scrolls by ${stepPx} px, waits for the scroll event, times from the start of the scroll event's handling (a capture listener registered before the element's) to the end of the element's update plus layout ("work"), then waits for the next animation frame ("frame interval"), to the end of the list. The plain baseline: the same 10,000 names as <li> of the element's row height, all in the DOM, scrolled the same way.`,
      ],
    };
  } finally {
    await chromium?.close();
    await server.close();
    await fixture.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}
