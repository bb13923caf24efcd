/**
 * The MCP App end to end, in real Chromium: the official SDK's client (the host's) calls
 * execute_code on the sidecar (`--mcp`, in front of a real Jupyter Server), reads the tool's UI
 * link, fetches the UI resource, and a host page renders it in a sandboxed iframe through the
 * ext-apps SDK's own host side (`AppBridge` over `PostMessageTransport`, test/support/mcp-app-host.ts)
 * with the CSP the resource declares. The App lists the chat's file and hands its download to the
 * host, which gets the exact bytes. A token for another chat, or one run out with no host to
 * renew it, shows nothing of the chat; one run out is renewed through list_files when the host
 * proxies tool calls.
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

  test("a view token opens no MCP session: the App's token reads files, nothing else", async () => {
    await assert.rejects(
      connectMcp(proxy.url, { authorization: `Bearer ${viewOf(app.result).token!}` }),
      /401|Unauthorized|view token/,
    );
  });
});
