/**
 * A minimal MCP Apps host page, in the browser, on the ext-apps SDK's own host side: its
 * `AppBridge` over its `PostMessageTransport`, talking to the App in a sandboxed iframe
 * (`allow-scripts` only: an opaque origin, as a desktop host frames it) whose CSP is built from
 * the resource's `_meta.ui.csp` the way the spec's "CSP Construction from Metadata" gives it.
 * The host's MCP client lives in the test (Node); the page reaches it through functions the test
 * exposes (`hostCallTool`, `hostDownload`), as a web host's page reaches its backend.
 * Bundled for the page by esbuild in test/e2e/mcp-app-browser.test.ts.
 */
import { AppBridge, PostMessageTransport } from '@modelcontextprotocol/ext-apps/app-bridge';
import type { CallToolRequest, CallToolResult } from '@modelcontextprotocol/sdk/types.js';

/** ext-apps' `McpUiHostCapabilities` (its types re-export through an extensionless path TypeScript's nodenext does not follow). */
type McpUiHostCapabilities = ConstructorParameters<typeof AppBridge>[2];
/** The resource's `_meta.ui.csp`, as the spec gives it. */
export interface McpUiResourceCsp {
  connectDomains?: string[];
  resourceDomains?: string[];
  frameDomains?: string[];
  baseUriDomains?: string[];
}

export interface RenderInput {
  html: string;
  csp: McpUiResourceCsp | undefined;
  toolInput: Record<string, unknown>;
  toolResult: CallToolResult;
  capabilities: McpUiHostCapabilities;
}

declare global {
  interface Window {
    renderApp(input: RenderInput): Promise<void>;
    /** Set by the test: the host's MCP client calls the server. */
    hostCallTool(params: CallToolRequest['params']): Promise<CallToolResult>;
    /** Set by the test: the host downloads what the App hands it. */
    hostDownload(params: unknown): Promise<void>;
    /** What the App asked of the host, in order, for the test to read. */
    hostLog: string[];
  }
}

const list = (domains: string[] | undefined) => (domains ?? []).join(' ');

/** The spec's CSP for a UI resource, from its declared domains. */
function cspFor(csp: McpUiResourceCsp | undefined): string {
  const resources = list(csp?.resourceDomains);
  return [
    "default-src 'none'",
    `script-src 'self' 'unsafe-inline' ${resources}`,
    `style-src 'self' 'unsafe-inline' ${resources}`,
    `connect-src 'self' ${list(csp?.connectDomains)}`,
    `img-src 'self' data: ${resources}`,
    `font-src 'self' ${resources}`,
    `media-src 'self' data: ${resources}`,
    `frame-src ${list(csp?.frameDomains) || "'none'"}`,
    "object-src 'none'",
    `base-uri ${list(csp?.baseUriDomains) || "'self'"}`,
  ].join('; ');
}

/** The CSP goes first in <head>, as a sandbox proxy puts it, so it governs every script after it. */
function withCsp(html: string, csp: McpUiResourceCsp | undefined): string {
  const meta = `<meta http-equiv="Content-Security-Policy" content="${cspFor(csp).replace(/"/g, '&quot;')}">`;
  return html.replace(/<head[^>]*>/i, (head) => `${head}${meta}`);
}

window.hostLog = [];

window.renderApp = async (input) => {
  const frame = document.createElement('iframe');
  frame.setAttribute('sandbox', 'allow-scripts');
  frame.title = 'MCP App';
  frame.style.cssText = 'width: 720px; height: 480px; border: 1px solid #888';
  document.body.append(frame);

  const bridge = new AppBridge(null, { name: 'test-host', version: '1.0.0' }, input.capabilities, {
    hostContext: { theme: 'light', displayMode: 'inline', platform: 'web' },
  });
  bridge.oncalltool = async (params) => {
    window.hostLog.push(`tools/call ${params.name}`);
    return window.hostCallTool(params);
  };
  bridge.ondownloadfile = async (params) => {
    window.hostLog.push('ui/download-file');
    await window.hostDownload(params);
    return {};
  };
  bridge.onopenlink = async (params) => {
    window.hostLog.push('ui/open-link');
    await window.hostDownload({ contents: [{ type: 'resource_link', uri: params.url }] });
    return {};
  };
  bridge.onsizechange = ({ height }) => {
    if (height) frame.style.height = `${Math.min(height, 1200)}px`;
  };
  bridge.oninitialized = () => {
    window.hostLog.push('initialized');
    void bridge.sendToolInput({ arguments: input.toolInput }).then(() => bridge.sendToolResult(input.toolResult));
  };
  await bridge.connect(new PostMessageTransport(frame.contentWindow!, frame.contentWindow!));
  frame.srcdoc = withCsp(input.html, input.csp);
};
