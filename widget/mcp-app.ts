/**
 * The MCP App's script: the view side of the MCP Apps handshake (ext-apps spec 2026-01-26), so a
 * host that renders MCP Apps shows <generated-files> for the chat inside the conversation. It is
 * JSON-RPC 2.0 over postMessage with the host, written out here (the spec says a view needs no
 * SDK; ext-apps' `App` with its dependencies is about 330 kB against this file's few). Built on
 * its own (`vite build --mode mcp-app`) next to the element's bundle, which it does not grow.
 *
 * - `ui/initialize`, then `ui/notifications/initialized`; `ping` and `ui/resource-teardown` answered.
 * - `ui/notifications/tool-result`: the result's `_meta` names the chat and carries a read-only
 *   token for it (FILES_APP_META_KEY); the element is pointed at that chat.
 * - A token about to run out, or refused with 401: a fresh one through `tools/call list_files`,
 *   when the host proxies tool calls (`serverTools`).
 * - Downloads: a sandboxed frame may not download, so the element's download is handed to the
 *   host (`ui/download-file` with a `resource_link`, else `ui/open-link`) as a short-lived link.
 * - `ui/notifications/size-changed` as the content grows; the host's theme as `color-scheme`.
 */
import { FILES_APP_META_KEY, FILES_APP_REFRESH_TOOL, type FilesAppView } from '../contract/mcp-app.ts';
import type { GeneratedFilesDownloadEvent } from './events.ts';
import { FilesClient } from './files-client.ts';
import type { GeneratedFilesElement } from './generated-files-element.ts';

const PROTOCOL_VERSION = '2026-01-26';
/** A token with less life than this left is renewed before it is used. */
const RENEW_BEFORE_MS = 60_000;

type Params = Record<string, unknown>;
interface RpcMessage {
  jsonrpc: '2.0';
  id?: number | string;
  method?: string;
  params?: Params;
  result?: Params;
  error?: { code: number; message: string };
}
interface HostCapabilities {
  serverTools?: object;
  downloadFile?: object;
  openLinks?: object;
}

// Properties set once the element is defined, so its own accessors take them.
await customElements.whenDefined('generated-files');
const element = document.querySelector<GeneratedFilesElement>('generated-files')!;
const pending = new Map<number, { resolve(result: Params): void; reject(error: Error): void }>();
let nextId = 1;
let host: HostCapabilities = {};
let view: FilesAppView | null = null;
let renewal: Promise<void> | null = null;

const post = (message: RpcMessage) => window.parent.postMessage(message, '*');

function request(method: string, params: Params): Promise<Params> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    post({ jsonrpc: '2.0', id, method, params });
  });
}

const notify = (method: string, params: Params = {}) => post({ jsonrpc: '2.0', method, params });

/** The view a tool result's `_meta` carries, or null when it carries none that is well formed. */
function viewOf(result: Params | undefined): FilesAppView | null {
  const meta = result?._meta as Params | undefined;
  const candidate = meta?.[FILES_APP_META_KEY] as Partial<FilesAppView> | undefined;
  if (!candidate || typeof candidate.chatId !== 'string' || !candidate.chatId) return null;
  const token = typeof candidate.token === 'string' ? candidate.token : null;
  const expiresAt = typeof candidate.expiresAt === 'string' ? candidate.expiresAt : null;
  return { chatId: candidate.chatId, token, expiresAt };
}

function show(next: FilesAppView): void {
  view = next;
  if (element.chatId !== next.chatId) element.chatId = next.chatId;
}

/** A fresh token for the chat shown, through the host (one renewal at a time). */
function renew(): Promise<void> {
  if (!host.serverTools || !view) return Promise.resolve();
  renewal ??= request('tools/call', { name: FILES_APP_REFRESH_TOOL, arguments: {} })
    .then((result) => {
      const fresh = viewOf(result);
      // Only the chat shown: a result for another chat never changes what this view may read.
      if (fresh && fresh.chatId === view?.chatId) view = fresh;
    })
    .catch(() => {})
    .finally(() => (renewal = null));
  return renewal;
}

const runsOut = (v: FilesAppView) => v.expiresAt !== null && Date.parse(v.expiresAt) - Date.now() < RENEW_BEFORE_MS;

element.tokenProvider = async ({ refresh }) => {
  if (view && (refresh || runsOut(view))) await renew();
  return view?.token ?? null;
};

/** Hands a download to the host as a short-lived link to that one version (or to the zip). */
async function handOver(event: GeneratedFilesDownloadEvent): Promise<void> {
  const { detail } = event;
  const client = new FilesClient({
    base: element.src ?? '',
    chatId: view!.chatId,
    token: async (options) => (await element.tokenProvider!(options)) ?? null,
    send: (req) => fetch(req),
  });
  const link = await client.link(detail.version?.id ?? null);
  if (host.downloadFile) {
    await request('ui/download-file', {
      contents: [
        {
          type: 'resource_link',
          uri: link.url,
          name: detail.name,
          mimeType: detail.file?.mimeType ?? 'application/zip',
          size: link.size,
        },
      ],
    });
  } else {
    await request('ui/open-link', { url: link.url });
  }
}

element.addEventListener('generated-files-download', (event) => {
  // Without a host that takes downloads, the element saves as it would anywhere.
  if (!view || !(host.downloadFile || host.openLinks)) return;
  event.preventDefault();
  handOver(event).catch((error: unknown) => console.warn('[generated-files app] download not handed over:', error));
});

function applyContext(context: Params | undefined): void {
  const theme = context?.theme;
  if (theme === 'light' || theme === 'dark') document.documentElement.style.colorScheme = theme;
}

function onRequest(message: RpcMessage): void {
  const id = message.id!;
  if (message.method === 'ping' || message.method === 'ui/resource-teardown') {
    post({ jsonrpc: '2.0', id, result: {} });
  } else {
    post({ jsonrpc: '2.0', id, error: { code: -32601, message: `Method not found: ${message.method}` } });
  }
}

function onNotification(message: RpcMessage): void {
  if (message.method === 'ui/notifications/tool-result') {
    const next = viewOf(message.params);
    if (next) show(next);
  } else if (message.method === 'ui/notifications/host-context-changed') {
    applyContext(message.params);
  }
}

window.addEventListener('message', (event: MessageEvent<RpcMessage>) => {
  // Only the host speaks to the App: never a frame the App itself holds (an HTML preview).
  if (event.source !== window.parent) return;
  const message = event.data;
  if (!message || message.jsonrpc !== '2.0') return;
  if (message.method === undefined) {
    const call = typeof message.id === 'number' ? pending.get(message.id) : undefined;
    if (!call) return;
    pending.delete(message.id as number);
    if (message.error) call.reject(new Error(message.error.message));
    else call.resolve(message.result ?? {});
  } else if (message.id !== undefined) {
    onRequest(message);
  } else {
    onNotification(message);
  }
});

function reportSize(): void {
  const { scrollWidth: width, scrollHeight: height } = document.documentElement;
  notify('ui/notifications/size-changed', { width, height });
}

const initialized = await request('ui/initialize', {
  appInfo: { name: 'generated-files', version: '1' },
  appCapabilities: { availableDisplayModes: ['inline'] },
  protocolVersion: PROTOCOL_VERSION,
});
host = (initialized.hostCapabilities as HostCapabilities | undefined) ?? {};
applyContext(initialized.hostContext as Params | undefined);
notify('ui/notifications/initialized');
new ResizeObserver(reportSize).observe(document.body);
