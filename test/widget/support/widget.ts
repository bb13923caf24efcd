/**
 * Test helpers for <generated-files>. The element under test is always the
 * production script-tag bundle, never the source.
 */
import type * as Widget from '../../../widget/generated-files.ts';
import type { GeneratedFilesElement } from '../../../widget/generated-files.ts';
import {
  filesApiPaths,
  type FileListResponse,
  type FileSummary,
  type FileVersionSummary,
} from '../../../contract/files-api.ts';
import type { FileRecord } from '../../../proxy/storage/file-record.ts';
import { summarizeFiles } from '../../../proxy/api/file-summary.ts';

export const BUNDLE_URL = '/dist/widget/generated-files.js';
export const widget = (await import(BUNDLE_URL)) as typeof Widget;

// ---- assertions ----

export class AssertionError extends Error {
  override name = 'AssertionError';
}

export function assert(condition: unknown, message = 'assertion failed'): asserts condition {
  if (!condition) throw new AssertionError(message);
}

export function assertEqual<T>(actual: T, expected: T, message = ''): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new AssertionError(`${message ? `${message}: ` : ''}expected ${e}, got ${a}`);
}

/** Things the test code itself changes (a captured download) tell waiting probes to look again. */
const pokes = new EventTarget();
function poke(): void {
  pokes.dispatchEvent(new Event('poke'));
}

/**
 * Resolves with the probe's first truthy value. The probe is tried now and again after each
 * event that can change its answer: an update of a mounted element (a Lit controller's
 * `hostUpdated`), a DOM change in the page or in an element's shadow root, one of the element's
 * own events, focus moving in it, or a poke from these helpers. Never on a timer: `timeout` only bounds a failure.
 * A probe that asks the server must wait for the server's own signal instead (`server.clients`).
 */
export function waitFor<T>(
  probe: () => T | Promise<T>,
  message = 'condition',
  timeout = 4000,
): Promise<NonNullable<T>> {
  return new Promise((resolve, reject) => {
    let last: unknown;
    let settled = false;
    const hosts = mounted.filter((el): el is GeneratedFilesElement => 'addController' in el);
    const controller = { hostUpdated: () => void check() };
    const observer = new MutationObserver(() => void check());
    const events = [
      'load',
      'loadend',
      'error',
      'generated-files-change',
      'generated-files-download',
      'generated-files-upload',
      // Focus moving inside the element (composed, so they reach the host): no DOM changes then.
      'focusin',
      'focusout',
    ];
    const finish = () => {
      settled = true;
      clearTimeout(timer);
      observer.disconnect();
      pokes.removeEventListener('poke', check);
      for (const el of hosts) {
        el.removeController(controller);
        for (const type of events) el.removeEventListener(type, check);
      }
    };
    async function check(): Promise<void> {
      if (settled) return;
      try {
        const value = await probe();
        if (value && !settled) {
          finish();
          resolve(value as NonNullable<T>);
        }
      } catch (error) {
        last = error;
      }
    }
    const options = { subtree: true, childList: true, attributes: true, characterData: true };
    observer.observe(document, options);
    for (const el of hosts) {
      if (el.shadowRoot) observer.observe(el.shadowRoot, options);
      el.addController(controller);
      for (const type of events) el.addEventListener(type, check);
    }
    pokes.addEventListener('poke', check);
    const timer = setTimeout(() => {
      if (settled) return;
      finish();
      reject(new AssertionError(`timed out waiting for ${message}${last ? ` (${String(last)})` : ''}`));
    }, timeout);
    void check();
  });
}

export function oneEvent<E extends Event = Event>(target: EventTarget, type: string): Promise<E> {
  return new Promise((resolve) => target.addEventListener(type, (e) => resolve(e as E), { once: true }));
}

// ---- fixtures ----

let counter = 0;
/** A chat id no other test uses, so tests never share fixture state. */
export function uniqueChatId(label = 'chat'): string {
  return `${label}-${Date.now().toString(36)}-${(counter++).toString(36)}`;
}

const FIVE_MINUTES_AGO = new Date(Date.now() - 5 * 60_000).toISOString();

export function makeVersion(
  chatId: string,
  id: string,
  version: number,
  extra: Partial<FileVersionSummary> = {},
): FileVersionSummary {
  return {
    id,
    version,
    size: 1234,
    sha256: 'f'.repeat(64),
    createdAt: FIVE_MINUTES_AGO,
    modifiedAt: FIVE_MINUTES_AGO,
    downloadUrl: filesApiPaths.fileContent(chatId, id),
    execution: null,
    source: 'execution',
    ...extra,
  };
}

/** The sidecar's preview answer of a one-sheet table (the first row is the header). */
export function tablePreview(file: { id: string }, rows: string[][], name = 'Sheet1') {
  return {
    [`preview/${file.id}`]: {
      body: {
        id: file.id,
        sha256: 'f'.repeat(64),
        preview: {
          kind: 'table',
          sheets: [{ name, rows, rowCount: rows.length, columnCount: rows[0]?.length ?? 0, truncated: false }],
        },
      },
    },
  };
}

/**
 * A file with `versions` versions, newest first; ids are `${id}` for the latest and `${id}.vN`
 * for older ones. Built as records and summarized by the sidecar's own serializer. `format`
 * and `mimeType` are filled by the stand-in server from the name, as the sidecar does; a
 * summary handed to the element directly has the MIME type given here and no label.
 */
export function makeFile(
  chatId: string,
  path: string,
  options: {
    id?: string;
    versions?: number;
    mimeType?: string;
    size?: number;
    modifiedAt?: string;
    source?: FileRecord['source'];
  } = {},
): FileSummary {
  const id = options.id ?? path.replace(/[^\w]/g, '_');
  const count = options.versions ?? 1;
  const name = path.slice(path.lastIndexOf('/') + 1);
  const records: FileRecord[] = [];
  for (let v = count; v >= 1; v--) {
    const version = makeVersion(chatId, v === count ? id : `${id}.v${v}`, v, {
      size: options.size ?? 1000 * v,
      ...(options.modifiedAt ? { modifiedAt: options.modifiedAt } : {}),
    });
    records.push({
      ...version,
      chatId,
      name,
      path,
      mimeType: options.mimeType ?? 'application/octet-stream',
      format: '',
      source: options.source ?? 'execution',
      owner: null,
    });
  }
  return summarizeFiles(records)[0]!;
}

async function control(chatId: string, action: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`/__fixtures/${encodeURIComponent(chatId)}/${action}`, {
    method: body === undefined && (action === 'log' || action === 'clients') ? 'GET' : 'POST',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert(response.ok, `fixture ${action} failed: ${response.status}`);
  return response.json();
}

export interface ChatFixture {
  files?: FileSummary[];
  skipped?: unknown[];
  contents?: Record<string, string>;
  listStatus?: number;
  eventsStatus?: number;
  tokens?: string[] | null;
  /** The sidecar's answers for `preview/ID`, `diff/ID` and `restore/ID`. */
  answers?: Record<string, { status?: number; body: unknown }>;
}

export const server = {
  setup: (chatId: string, fixture: ChatFixture = {}) => control(chatId, 'setup', fixture),
  patch: (chatId: string, fixture: ChatFixture) => control(chatId, 'patch', fixture),
  emit: async (chatId: string, event: 'file' | 'skipped', data: unknown) =>
    ((await control(chatId, 'emit', { event, data })) as { clients: number }).clients,
  drop: (chatId: string) => control(chatId, 'drop', {}),
  log: async (chatId: string) =>
    (await control(chatId, 'log')) as { path: string; authorization: string | null; token: string | null }[],
  clients: async (chatId: string) => ((await control(chatId, 'clients')) as { clients: number }).clients,
  /** Resolves when the chat has exactly `count` open streams: the stand-in answers at that moment. */
  streams: (chatId: string, count: number) => control(chatId, `clients?equals=${count}`),
};

// ---- the element's lazy chunks (test/widget/support/chunk-faults.ts) ----

/**
 * A copy of the bundle from a folder of its own, its element defined as `tag`. It imports its
 * chunks from that folder, where a test can hold them or cut them off; nothing cached in the
 * browser and no other copy's cue gets in the way.
 */
export async function bundleCopy(tag: string) {
  const base = `/__chunk-faults/${uniqueChatId('copy')}/`;
  const copy = (await import(`${base}widget/generated-files.js`)) as typeof Widget;
  copy.GeneratedFilesElement.define(tag);
  const control = async (action: 'hold' | 'held' | 'fail' | 'serve') => {
    const response = await fetch(`${base}${action}`, { method: action === 'held' ? 'GET' : 'POST' });
    assert(response.ok, `chunk ${action} failed: ${response.status}`);
  };
  return {
    /** The copy's chunk requests wait. */
    hold: () => control('hold'),
    /** Resolves once one of them is waiting. */
    held: () => control('held'),
    /** Waiting and later ones have their connection cut, as a dropped network would. */
    fail: () => control('fail'),
    /** Served as usual again. */
    serve: () => control('serve'),
    /** Whether the page asked for this file of the copy. */
    requested: (file: string) =>
      performance.getEntriesByType('resource').some((entry) => entry.name.endsWith(`${base}widget/${file}`)),
  };
}

// ---- the real files API (test/widget/support/real-files-api.ts) ----

async function realControl<T>(action: string, body?: unknown): Promise<T> {
  const response = await fetch(`/__real/${action}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? null : JSON.stringify(body),
  });
  assert(response.ok, `real API ${action} failed: ${response.status}`);
  return (await response.json()) as T;
}

export const realApi = {
  origin: async () => (await realControl<{ origin: string }>('origin')).origin,
  /** The same API, allowing only another page's origin: this page's requests are refused by CORS. */
  strictOrigin: async () => (await realControl<{ strict: string }>('origin')).strict,
  /** The same API on a server that `down()` stops (connections refused) and `up()` starts again. */
  flakyOrigin: async () => (await realControl<{ flaky: string }>('origin')).flaky,
  down: () => realControl('down', {}),
  up: () => realControl('up', {}),
  token: async (chat: string) => (await realControl<{ token: string }>('token', { chat })).token,
  /** Writes files into the chat's workspace and records them through one real scan. */
  seed: (chatId: string, files: Record<string, string>, run?: string) =>
    realControl<FileListResponse>('seed', { chatId, files, run }),
  /** Holds the chat's next upload at the sidecar, before its routes see it. */
  hold: (chatId: string) => realControl('hold', { chatId }),
  /** Resolves once the held upload has reached the sidecar. */
  held: (chatId: string) => realControl('held', { chatId }),
  /** Resolves once the held upload's connection has closed at the sidecar. */
  gone: (chatId: string) => realControl('gone', { chatId }),
  release: (chatId: string) => realControl('release', { chatId }),
};

/** Mounts the element on the real API for a fresh chat, with a chat token. */
export async function mountReal(attributes: Record<string, string | boolean> = {}, files: Record<string, string> = {}) {
  const chatId = uniqueChatId('real');
  if (Object.keys(files).length) await realApi.seed(chatId, files);
  const [origin, token] = await Promise.all([realApi.origin(), realApi.token(chatId)]);
  const el = mount({ 'chat-id': chatId, src: origin, token, ...attributes });
  return { el, chatId, origin, token };
}

// ---- the element ----

const mounted: Element[] = [];

/** Creates <generated-files> (or a copy's `tag`) with these attributes and adds it to the page; removed after each test. */
export function mount(
  attributes: Record<string, string | boolean>,
  setup?: (el: GeneratedFilesElement) => void,
  tag = 'generated-files',
): GeneratedFilesElement {
  const el = document.createElement(tag) as GeneratedFilesElement;
  for (const [name, value] of Object.entries(attributes)) {
    if (value === true) el.setAttribute(name, '');
    else if (value !== false) el.setAttribute(name, value);
  }
  setup?.(el);
  document.body.append(el);
  mounted.push(el);
  return el;
}

/** The upload code is a chunk of its own: resolves once it is loaded and the upload area rendered. */
export async function uploadsReady(el: GeneratedFilesElement): Promise<void> {
  await el.upload([]);
  await el.updateComplete;
}

export function cleanup(): void {
  for (const el of mounted.splice(0)) el.remove();
}

/** The first element with this part, in the element's shadow root (or inside a given internal element). */
export function part(el: Element, name: string): HTMLElement | null {
  return (el.shadowRoot ?? el).querySelector<HTMLElement>(`[part~="${name}"]`);
}

export function parts(el: Element, name: string): HTMLElement[] {
  return [...(el.shadowRoot ?? el).querySelectorAll<HTMLElement>(`[part~="${name}"]`)];
}

export function names(el: Element): string[] {
  return parts(el, 'name').map((n) => n.textContent ?? '');
}

/** The item whose name part reads `name`. */
export function item(el: Element, name: string): HTMLElement {
  const found = parts(el, 'item').find((i) => i.querySelector('[part~="name"]')?.textContent === name);
  assert(found, `no item named ${name}; have ${names(el).join(', ')}`);
  return found;
}

/** A routed fetch for the element's seam: answers from a function, records requests. */
export function route(
  el: GeneratedFilesElement,
  handler: (request: Request) => Response | Promise<Response>,
): Request[] {
  const seen: Request[] = [];
  el.fetch = async (request: Request) => {
    seen.push(request);
    return handler(request);
  };
  return seen;
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Captures programmatic download clicks instead of letting the browser save files. */
export function captureDownloads(): { downloads: { href: string; name: string }[]; restore: () => void } {
  const downloads: { href: string; name: string }[] = [];
  const original = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function (this: HTMLAnchorElement) {
    if (this.hasAttribute('download')) {
      downloads.push({ href: this.href, name: this.download });
      poke();
    } else original.call(this);
  };
  return { downloads, restore: () => (HTMLAnchorElement.prototype.click = original) };
}
