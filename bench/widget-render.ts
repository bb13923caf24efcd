/**
 * Scenario 7: the <generated-files> element. Its gzipped script-tag bundle against Lit alone
 * (bundled with esbuild from this project's `lit`), and the time to render 1,000 files in
 * headless Chromium against 1,000 plain <li> set with innerHTML.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { summarize } from './stats.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/widget/generated-files.js');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** scripts/widget-size.ts's budget. */
const BUDGET_BYTES = 16 * 1024;

const gzipSize = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).byteLength;

/** Lit as the element uses it (LitElement, html, css, nothing, repeat), minified into one module. */
async function litAloneBytes(): Promise<Uint8Array> {
  const result = await build({
    stdin: {
      contents:
        "export { LitElement, html, css, nothing } from 'lit';\nexport { repeat } from 'lit/directives/repeat.js';",
      resolveDir: ROOT,
      loader: 'js',
    },
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    write: false,
    legalComments: 'none',
  });
  return result.outputFiles[0]!.contents;
}

/** The page: builds 1,000 FileSummary items, then times both renders in alternation and posts the samples. */
function benchPage(runs: number, count: number): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>bench</title></head><body>
<script type="module">
import '/generated-files.js';
const chatId = 'bench';
const at = new Date(Date.now() - 5 * 60000).toISOString();
const files = Array.from({ length: ${count} }, (_, i) => {
  const id = 'f' + i;
  const name = 'report-' + i + (i % 3 === 0 ? '.csv' : i % 3 === 1 ? '.xlsx' : '.png');
  const version = { id, version: 1, size: 1000 + i, sha256: 'f'.repeat(64), createdAt: at, modifiedAt: at,
    downloadUrl: '/sidecar/v1/chats/bench/files/' + id + '/content', execution: null, source: 'execution' };
  return { ...version, name, path: (i % 2 ? 'out/' : '') + name, mimeType: 'text/csv', format: 'CSV', versions: [version] };
});
const body = JSON.stringify({ chatId, files, skipped: [] });
const next = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));

async function widget() {
  const t0 = performance.now();
  const el = document.createElement('generated-files');
  el.fetch = async () => new Response(body, { headers: { 'content-type': 'application/json' } });
  el.setAttribute('live', 'off');
  el.setAttribute('chat-id', chatId);
  const loaded = new Promise((r) => el.addEventListener('load', r, { once: true }));
  document.body.append(el);
  await loaded;
  await el.updateComplete;
  const rendered = el.shadowRoot.querySelectorAll('[part~="item"]').length;
  el.offsetHeight; // layout, as the plain list gets
  const ms = performance.now() - t0;
  el.remove();
  // Past 150 rows the element renders only those on screen (visible-rows-controller.ts); the rest is padding.
  if (rendered === 0 || (rendered !== ${count} && el.files.length !== ${count})) throw new Error("rendered " + rendered + " items of " + el.files.length);
  return ms;
}

function plain() {
  const t0 = performance.now();
  const ul = document.createElement('ul');
  ul.innerHTML = files.map((f) => '<li><span>' + f.name + '</span> <span>' + f.size + ' bytes</span> <button type="button">Download</button></li>').join('');
  document.body.append(ul);
  const rendered = ul.querySelectorAll('li').length;
  ul.offsetHeight;
  const ms = performance.now() - t0;
  ul.remove();
  if (rendered !== ${count}) throw new Error('rendered ' + rendered + ' items');
  return ms;
}

const out = { widget: [], plain: [], error: null };
try {
  for (let i = 0; i < 3; i++) { await widget(); plain(); await next(); }
  for (let i = 0; i < ${runs}; i++) {
    if (i % 2) { out.plain.push(plain()); await next(); out.widget.push(await widget()); }
    else { out.widget.push(await widget()); await next(); out.plain.push(plain()); }
    await next();
  }
} catch (error) {
  out.error = String(error && error.stack || error);
}
await fetch('/result', { method: 'POST', body: JSON.stringify(out) });
</script></body></html>`;
}

async function renderInChromium(runs: number, count: number): Promise<{ widget: number[]; plain: number[] }> {
  let deliver!: (value: { widget: number[]; plain: number[]; error: string | null }) => void;
  const result = new Promise<{ widget: number[]; plain: number[]; error: string | null }>(
    (resolve) => (deliver = resolve),
  );
  const server = http.createServer((req, res) => {
    // The bundle, and the chunks it imports next to itself (the list's code comes with the first list).
    if (/^\/generated-files[\w-]*\.js$/.test(req.url ?? ''))
      return void readFile(path.join(path.dirname(BUNDLE), req.url!.slice(1))).then(
        (bytes) => res.writeHead(200, { 'content-type': 'text/javascript' }).end(bytes),
        () => res.writeHead(404).end(),
      );
    if (req.url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(benchPage(runs, count));
    if (req.url === '/result' && req.method === 'POST') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        res.writeHead(204).end();
        deliver(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const profile = await mkdtemp(path.join(tmpdir(), 'gf-bench-chromium-'));
  const browser = spawn(
    CHROMIUM,
    [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      `--user-data-dir=${profile}`,
      url,
    ],
    // Its own process group, so stopping it stops its helper processes too.
    { stdio: 'ignore', detached: true },
  );
  try {
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('Chromium did not report in 120 s')), 120_000).unref(),
    );
    const exited = new Promise<never>((_, reject) =>
      browser.once('exit', (code) => reject(new Error(`Chromium exited (${code})`))),
    );
    const out = await Promise.race([result, timeout, exited]);
    if (out.error) throw new Error(`in the page: ${out.error}`);
    return out;
  } finally {
    if (browser.exitCode === null && browser.pid) {
      const gone = new Promise((resolve) => browser.once('exit', resolve));
      process.kill(-browser.pid, 'SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
      if (browser.exitCode === null) process.kill(-browser.pid, 'SIGKILL');
    }
    server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/** Issue 15: 1,000 files render in ≤ 100 ms in Chromium. */
const RENDER_GOAL_MS = 100;

export async function benchWidget(quick: boolean): Promise<ScenarioResult> {
  try {
    await stat(BUNDLE);
  } catch {
    return {
      rows: [],
      notes: [`Skipped: ${path.relative(ROOT, BUNDLE)} is not built (run \`npm run build:widget\`).`],
    };
  }
  const widgetGz = gzipSize(await readFile(BUNDLE));
  const litGz = gzipSize(await litAloneBytes());
  const count = 1000;
  const runs = quick ? 5 : 15;
  const samples = await renderInChromium(runs, count);
  const d = summarize(samples.plain);
  const s = summarize(samples.widget);
  const one = (v: number) => ({ median: v, p95: v, count: 1 });
  const rows: ResultRow[] = [
    {
      scenario: '7 widget',
      metric: 'gzipped size: Lit alone → generated-files.js',
      unit: 'kB',
      direct: one(litGz / 1024),
      sidecar: one(widgetGz / 1024),
      ratio: widgetGz / litGz,
      goal: `≤ ${BUDGET_BYTES / 1024} kB (scripts/widget-size.ts)`,
      pass: widgetGz <= BUDGET_BYTES,
    },
    {
      scenario: '7 widget',
      metric: `render ${count.toLocaleString('en-US')} files: plain <li> innerHTML → <generated-files>, ${runs} runs`,
      unit: 'ms',
      direct: d,
      sidecar: s,
      ratio: s.median / d.median,
      goal: `≤ ${RENDER_GOAL_MS} ms`,
      pass: s.median <= RENDER_GOAL_MS,
    },
  ];
  return {
    rows,
    notes: [
      'Sizes are gzip level 9 of the minified script-tag bundle (dist/widget/generated-files.js) and of Lit alone (LitElement, html, css, nothing and the repeat directive, bundled and minified by esbuild).',
      `Render: headless Chromium (${CHROMIUM}), a page serving the bundle and its chunks (the list's chunk is loaded by the 3 untimed rounds, as a page has it after its first list); the element's fetch seam returns ${count.toLocaleString('en-US')} FileSummary items. Timed from createElement to the list holding ${count.toLocaleString('en-US')} items (after \`load\` and \`updateComplete\`) plus a forced layout; the baseline sets ${count.toLocaleString('en-US')} plain <li> (name, size, a button) with innerHTML and forces layout. Alternating, after 3 untimed rounds.`,
    ],
  };
}
