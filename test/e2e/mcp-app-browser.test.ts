/**
 * The MCP App end to end, in real Chromium: the official SDK's client (the host's) calls
 * execute_code on the sidecar (`--mcp`, in front of a real Jupyter Server), reads the tool's UI
 * link, fetches the UI resource, and a host page renders it in a sandboxed iframe through the
 * ext-apps SDK's own host side (`AppBridge` over `PostMessageTransport`, test/support/mcp-app-host.ts)
 * with the CSP the resource declares. The App lists the chat's file and hands its download to the
 * host, which gets the exact bytes. A token for another chat, or one run out with no host to
 * renew it, shows nothing of the chat; one run out is renewed through list_files when the host
 * proxies tool calls. Inside the App, under that CSP: a file written while it is shown appears
 * through the element's open event stream, then its second version, and version 1 downloads as it
 * was; a CSV, a Markdown file and a PNG preview as the user sees them (table cells, rendered HTML,
 * an image drawn).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { getToolUiResourceUri, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { build } from 'esbuild';
import type { Frame, Page } from 'puppeteer-core';
import { FILES_APP_META_KEY, type FilesAppView } from '../../contract/mcp-app.ts';
import { signChatToken } from '../../proxy/links/chat-token.ts';
import { secretKey, VIEW_SCOPE } from '../../proxy/links/link-token.ts';
import { launchChromium, type LaunchedChromium } from '../support/chromium.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import type { McpUiResourceCsp, RenderInput } from '../support/mcp-app-host.ts';
import { connectMcp, execute, textOf } from '../support/mcp-client.ts';

const SECRET = 'mcp-app-test-secret-at-least-32-bytes!!';
const KEY = 'mcp-app-test-key';
const CHAT = 'app-chat';

let bed: TestBed;
let proxy: RunningSidecar;
let chromium: LaunchedChromium;
let hostServer: http.Server;
let hostUrl: string;
let client: Client;
/** What the host got: the App's resource and the tool call that shows it. */
let app: { html: string; csp: McpUiResourceCsp | undefined; code: string; result: CallToolResult; sha256: string };

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The host page and its script (the ext-apps host side, bundled for the browser). */
async function startHostPage(): Promise<void> {
  const bundle = await build({
    entryPoints: ['test/support/mcp-app-host.ts'],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.text;
  hostServer = http.createServer((req, res) => {
    if (req.url === '/host.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else
      res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<!doctype html><title>host</title><script type="module" src="/host.js"></script>');
  });
  hostServer.listen(0, '127.0.0.1');
  await new Promise((resolve) => hostServer.once('listening', resolve));
  // The host's origin is not the sidecar's (another port), as with any real host.
  hostUrl = `http://localhost:${(hostServer.address() as AddressInfo).port}/`;
}

before(async () => {
  assert.ok(existsSync('dist/widget/generated-files-mcp-app.js'), 'build the widget first: npm run build:widget');
  bed = await startTestBed();
  proxy = await startSidecar(
    bed,
    { mcp: 'true' },
    {},
    { FILES_API_SECRET: SECRET, MCP_API_KEY: KEY, GATEWAY_TOKEN: bed.jupyter.token },
  );
  await startHostPage();
  chromium = await launchChromium();

  client = await connectMcp(proxy.url, { authorization: `Bearer ${KEY}`, 'x-openwebui-chat-id': CHAT });
  const code = [
    'import os, hashlib',
    "data = ('n,value\\n' + ''.join(f'{i},{os.urandom(8).hex()}\\n' for i in range(300))).encode()",
    "open('/mnt/data/data.csv', 'wb').write(data)",
    'print(hashlib.sha256(data).hexdigest())',
  ].join('\n');
  const result = await execute(client, code);
  assert.equal(result.isError, false, textOf(result));
  const printed = /^[0-9a-f]{64}$/m.exec(textOf(result))?.[0];
  assert.ok(printed, textOf(result));

  // The host's side: the tool's UI link, then the resource it names.
  const { tools } = await client.listTools();
  const uri = getToolUiResourceUri(tools.find((t) => t.name === 'execute_code')!);
  assert.ok(uri?.startsWith('ui://'), 'execute_code links a UI resource');
  const [content] = (await client.readResource({ uri: uri! })).contents as unknown as [
    { mimeType: string; text: string; _meta?: { ui?: { csp?: McpUiResourceCsp } } },
  ];
  assert.equal(content.mimeType, RESOURCE_MIME_TYPE);
  app = { html: content.text, csp: content._meta?.ui?.csp, code, result, sha256: printed };
});

after(async () => {
  await client?.close().catch(() => {});
  await chromium?.close();
  await new Promise((resolve) => hostServer?.close(resolve));
  await proxy?.stop();
  await bed?.stop();
});

interface Downloaded {
  uri: string;
  bytes: Buffer;
}

/** A fresh host page with the App rendered in it; resolves once the App's frame is attached. */
async function render(
  toolResult: CallToolResult,
  capabilities: RenderInput['capabilities'],
): Promise<{ page: Page; frame: Frame; download: Promise<Downloaded> }> {
  const page = await chromium.browser.newPage();
  if (process.env.DEBUG_MCP_APP) {
    page.on('console', (m) => console.error('[console]', m.type(), m.text()));
    page.on('pageerror', (e) => console.error('[pageerror]', e));
    page.on('requestfailed', (r) => console.error('[requestfailed]', r.url(), r.failure()?.errorText));
  }
  let downloaded!: (value: Downloaded) => void;
  const download = new Promise<Downloaded>((resolve) => (downloaded = resolve));
  await page.exposeFunction(
    'hostCallTool',
    async (params: CallToolRequest['params']) => (await client.callTool(params)) as CallToolResult,
  );
  await page.exposeFunction('hostDownload', async (params: { contents: { uri: string }[] }) => {
    const [{ uri }] = params.contents as [{ uri: string }];
    const response = await fetch(uri);
    downloaded({ uri, bytes: Buffer.from(await response.arrayBuffer()) });
  });
  await page.goto(hostUrl, { waitUntil: 'load' });
  await page.waitForFunction(() => typeof window.renderApp === 'function');
  const attached = new Promise<Frame>((resolve) => page.once('frameattached', resolve));
  const input: RenderInput = {
    html: app.html,
    csp: app.csp,
    toolInput: { code: app.code },
    toolResult,
    capabilities,
  };
  await page.evaluate((given) => window.renderApp(given), input);
  return { page, frame: await attached, download };
}

/** The element's shadow text in the App's frame, once `done` says so. */
async function elementText(frame: Frame, done: string): Promise<string> {
  const handle = await frame
    .waitForFunction(
      (expected) => {
        const text = document.querySelector('generated-files')?.shadowRoot?.textContent ?? '';
        return new RegExp(expected).test(text) ? text : false;
      },
      { timeout: 30_000 },
      done,
    )
    .catch(async (error: unknown) => {
      const seen = await frame.evaluate(() => ({
        text: document.querySelector('generated-files')?.shadowRoot?.textContent ?? '(no element)',
        chat: document.querySelector('generated-files')?.getAttribute('chat-id'),
      }));
      throw new Error(`${String(error)}; the element shows: ${JSON.stringify(seen)}`);
    });
  return (await handle.jsonValue()) as string;
}

const viewOf = (result: CallToolResult) => result._meta?.[FILES_APP_META_KEY] as FilesAppView;

/** The tool result with another view in its `_meta` (what a host would pass on unchanged). */
const withView = (result: CallToolResult, view: FilesAppView): CallToolResult => ({
  ...result,
  _meta: { ...result._meta, [FILES_APP_META_KEY]: view },
});

const viewToken = (chat: string, nowS?: number) =>
  signChatToken(secretKey(SECRET), { chat, scope: VIEW_SCOPE }, 600, nowS);

/** Runs code in the App's chat through the host's client; the sha256 of each file it wrote, as it printed them. */
async function runInChat(code: string[]): Promise<string[]> {
  const result = await execute(client, code.join('\n'));
  assert.equal(result.isError, false, textOf(result));
  return textOf(result).match(/^[0-9a-f]{64}$/gm) ?? [];
}

/** Python that writes `path` with `text` (as UTF-8) and prints the sha256 of what it wrote. */
const writeText = (path: string, text: string) => [
  `data = ${JSON.stringify(text)}.encode()`,
  `open('/mnt/data/${path}', 'wb').write(data)`,
  'print(hashlib.sha256(data).hexdigest())',
];

/** Clicks the first element matching `selector` in the element's shadow root whose text matches `text`. */
async function clickInElement(frame: Frame, selector: string, text = ''): Promise<void> {
  const clicked = await frame.evaluate(
    (sel, expected) => {
      const root = document.querySelector('generated-files')!.shadowRoot!;
      const target = [...root.querySelectorAll<HTMLElement>(sel)].find((e) => (e.textContent ?? '').includes(expected));
      target?.click();
      return !!target;
    },
    selector,
    text,
  );
  assert.ok(clicked, `nothing to click: ${selector} with "${text}"`);
}

describe('the MCP App', () => {
  test("renders through the ext-apps host bridge, lists the chat's file and hands the host its exact bytes", async () => {
    const view = viewOf(app.result);
    assert.equal(view.chatId, CHAT);
    assert.ok(view.token, 'a view token');
    assert.ok(app.csp?.connectDomains?.includes(new URL(proxy.url).origin), 'the CSP names the sidecar');

    const { page, frame, download } = await render(app.result, { serverTools: {}, downloadFile: {} });
    await elementText(frame, 'data\\.csv');
    const origin = await frame.evaluate(() => window.origin);
    assert.equal(origin, 'null', 'the App runs in an opaque-origin sandbox');

    await frame.evaluate(() => {
      const root = document.querySelector('generated-files')!.shadowRoot!;
      root.querySelector<HTMLButtonElement>('[part~="download-button"]')!.click();
    });
    const { uri, bytes } = await download;
    assert.equal(sha256(bytes), app.sha256, 'the bytes the code wrote');
    assert.match(uri, /\/files\/[^/]+\/content\?token=/, 'a short-lived link to that one version');
    const log = await page.evaluate(() => window.hostLog);
    assert.ok(log.indexOf('initialized') < log.indexOf('ui/download-file'), log.join(', '));
    await page.close();
  });

  test("a token for another chat shows nothing of this chat's files", async () => {
    const other = { chatId: CHAT, token: await viewToken('some-other-chat'), expiresAt: null };
    const { page, frame } = await render(withView(app.result, other), { serverTools: {}, downloadFile: {} });
    const text = await elementText(frame, 'not for chat|could not|Retry');
    assert.doesNotMatch(text, /data\.csv/);
    const state = await frame.evaluate(() => (document.querySelector('generated-files') as { state?: string }).state);
    assert.equal(state, 'error');
    await page.close();
  });

  test('a token that ran out: renewed through list_files by a host that proxies tools, never shown without', async () => {
    const expired: FilesAppView = {
      chatId: CHAT,
      token: await viewToken(CHAT, Math.floor(Date.now() / 1000) - 3600),
      expiresAt: new Date(Date.now() - 3_000_000).toISOString(),
    };
    const stale = withView(app.result, expired);

    const bare = await render(stale, { downloadFile: {} });
    const refused = await elementText(bare.frame, 'expired|could not|Retry');
    assert.doesNotMatch(refused, /data\.csv/);
    await bare.page.close();

    const renewing = await render(stale, { serverTools: {}, downloadFile: {} });
    await elementText(renewing.frame, 'data\\.csv');
    const log = await renewing.page.evaluate(() => window.hostLog);
    assert.ok(log.includes('tools/call list_files'), log.join(', '));
    await renewing.page.close();
  });

  test('the list is live: a file written while the App is shown appears, then its second version, and version 1 downloads as it was', async () => {
    const { page, frame, download } = await render(app.result, { serverTools: {}, downloadFile: {} });
    await elementText(frame, 'data\\.csv');
    // The stream is open before the code runs, so what follows arrives through it, not a reload.
    await frame.waitForFunction(
      () => (document.querySelector('generated-files') as { liveState?: string } | null)?.liveState === 'open',
      { timeout: 30_000 },
    );
    // The element's one network call, counted from here: a reload or a poll would ask for the list.
    await frame.evaluate(() => {
      const element = document.querySelector('generated-files') as unknown as {
        fetch(request: Request): Promise<Response>;
        listRequests: number;
      };
      const send = element.fetch.bind(element);
      element.listRequests = 0;
      element.fetch = (request) => {
        if (new URL(request.url).pathname.endsWith('/files')) element.listRequests++;
        return send(request);
      };
    });

    const [v1] = await runInChat(['import hashlib', ...writeText('notes.txt', 'first draft\n')]);
    await elementText(frame, 'notes\\.txt');
    const [v2] = await runInChat(['import hashlib', ...writeText('notes.txt', 'second draft, longer\n')]);
    assert.ok(v1 && v2 && v1 !== v2);
    await frame.waitForFunction(
      () => {
        const root = document.querySelector('generated-files')?.shadowRoot;
        return root?.querySelectorAll('[part~="version"]').length === 2;
      },
      { timeout: 30_000 },
    );
    const live = await frame.evaluate(() => {
      const element = document.querySelector('generated-files') as unknown as {
        liveState: string;
        listRequests: number;
      };
      return { state: element.liveState, listRequests: element.listRequests };
    });
    assert.deepEqual(live, { state: 'open', listRequests: 0 }, 'both versions came through the open stream');

    // The older version, from the row's versions: the host downloads version 1's bytes.
    await clickInElement(frame, '[part~="versions"] > summary', '2 versions');
    const versions = await frame.evaluate(() =>
      [...document.querySelector('generated-files')!.shadowRoot!.querySelectorAll('[part~="version"]')].map((v) =>
        (v.textContent ?? '').replace(/\s+/g, ' ').trim(),
      ),
    );
    assert.equal(versions.length, 2, versions.join(' | '));
    assert.match(versions[0]!, /^Version 2 \(latest\)/);
    assert.match(versions[1]!, /^Version 1 /);
    await frame.evaluate(() => {
      const root = document.querySelector('generated-files')!.shadowRoot!;
      const row = [...root.querySelectorAll('[part~="version"]')].find((v) => v.textContent?.includes('Version 1'))!;
      row.querySelector<HTMLButtonElement>('[part~="version-download-button"]')!.click();
    });
    const { bytes } = await download;
    assert.equal(sha256(bytes), v1, 'version 1, not the latest');
    await page.close();
  });

  test('previews inside the App, under its CSP: a CSV as a table, Markdown rendered, an image drawn, a PDF refused in words', async () => {
    await runInChat([
      'import hashlib, struct, zlib',
      ...writeText('scores.csv', 'name,score\nada,3\nbob,15\n'),
      ...writeText('report.md', '# Quarterly report\n\n- revenue **up**\n- costs down\n'),
      'def chunk(kind, body): return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))',
      "rows = b''.join(b'\\x00' + b'\\xff\\x00\\x00' * 4 for _ in range(3))",
      "png = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 4, 3, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b'')",
      "open('/mnt/data/red.png', 'wb').write(png)",
      "pdf = b'%PDF-1.1\\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\\ntrailer<</Root 1 0 R>>\\n%%EOF'",
      "open('/mnt/data/doc.pdf', 'wb').write(pdf)",
    ]);
    const { page, frame } = await render(app.result, { serverTools: {}, downloadFile: {} });
    await elementText(frame, 'red\\.png');
    /** The size an <img> in the element drew, once it finished (0×0: refused or broken). */
    const drawn = async (selector: string) =>
      (
        await frame.waitForFunction(
          (sel) => {
            const img = document.querySelector('generated-files')!.shadowRoot!.querySelector<HTMLImageElement>(sel);
            return img?.complete && { width: img.naturalWidth, height: img.naturalHeight };
          },
          { timeout: 30_000 },
          selector,
        )
      ).jsonValue();
    assert.deepEqual(await drawn('[part~="thumbnail"]'), { width: 4, height: 3 }, "the image's thumbnail in the list");

    const previewOf = async (name: string, ready: string) => {
      await clickInElement(frame, '[part~="preview-button"]', name);
      await frame
        .waitForFunction(
          (selector) => !!document.querySelector('generated-files')?.shadowRoot?.querySelector(selector),
          { timeout: 30_000 },
          `dialog[part~="viewer"] [part~="preview"][aria-busy="false"] ${ready}`,
        )
        .catch(async (error: unknown) => {
          const shown = await frame.evaluate(
            () =>
              document.querySelector('generated-files')?.shadowRoot?.querySelector('[part~="viewer"]')?.innerHTML ??
              '(no viewer)',
          );
          throw new Error(`${String(error)}; the viewer shows: ${shown}`);
        });
    };
    const closeViewer = async () => {
      await clickInElement(frame, '[part~="viewer-close"]');
      await frame.waitForFunction(
        () => !document.querySelector('generated-files')!.shadowRoot!.querySelector('dialog[part~="viewer"]'),
        { timeout: 30_000 },
      );
    };

    await previewOf('scores.csv', 'table');
    const table = await frame.evaluate(() => {
      const preview = document.querySelector('generated-files')!.shadowRoot!.querySelector('[part~="preview"]')!;
      return {
        count: preview.querySelector('[part~="preview-count"]')!.textContent!.trim(),
        rows: [...preview.querySelectorAll('tr')].map((row) => [...row.children].map((c) => c.textContent!.trim())),
      };
    });
    assert.equal(table.count, '2 rows');
    assert.deepEqual(table.rows, [
      ['name', 'score'],
      ['ada', '3'],
      ['bob', '15'],
    ]);
    await closeViewer();

    await previewOf('report.md', 'iframe');
    // The sidecar's sanitized HTML in a script-less frame of its own inside the App.
    const [markdown] = frame.childFrames();
    assert.ok(markdown, 'the rendered Markdown in its own frame');
    await markdown.waitForFunction(() => !!document.querySelector('h1'), { timeout: 30_000 });
    const rendered = await markdown.evaluate(() => ({
      heading: document.querySelector('h1')?.textContent,
      items: [...document.querySelectorAll('li')].map((li) => li.textContent),
      bold: document.querySelector('li strong')?.textContent,
    }));
    assert.deepEqual(rendered, { heading: 'Quarterly report', items: ['revenue up', 'costs down'], bold: 'up' });
    await closeViewer();

    await previewOf('red.png', 'img');
    assert.deepEqual(await drawn('[part~="preview"] img'), { width: 4, height: 3 }, 'the image drawn, not refused');
    await closeViewer();

    // A PDF is a blob: frame, which the App's frame-src refuses: the viewer says so, not a broken frame.
    await previewOf('doc.pdf', '[role="alert"]');
    const said = await frame.evaluate(
      () =>
        document.querySelector('generated-files')!.shadowRoot!.querySelector('[part~="preview"] [role="alert"]')!
          .textContent,
    );
    assert.match(said!, /does not let a PDF show here\. Download it/);
    await page.close();
  });

  test("a view token opens no MCP session: the App's token reads files, nothing else", async () => {
    await assert.rejects(
      connectMcp(proxy.url, { authorization: `Bearer ${viewOf(app.result).token!}` }),
      /401|Unauthorized|view token/,
    );
  });
});
