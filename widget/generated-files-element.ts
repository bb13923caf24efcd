import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import type {
  FileListResponse,
  FileSummary,
  FileVersionSummary,
  SkippedFile,
} from '../proxy/api/files-api-types.ts';
import { withoutBidiControls } from '../proxy/api/files-api-types.ts';
import { parseCsv, delimiterFor } from './csv.ts';
import { GeneratedFilesChangeEvent, GeneratedFilesDownloadEvent } from './events.ts';
import { FilesClient, FilesApiError, withToken } from './files-client.ts';
import { formatIcon, formatOf, kindOf, type FormatKind } from './format-icons.ts';
import { folderOf, formatBytes, formatRelativeTime } from './format.ts';
import { styles } from './styles.ts';

/** What the element shows: nothing to show yet, a first load, the list, or a failed load. */
export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

/** How the list is kept current: not at all, an open or opening stream, or polling after it dropped. */
export type LiveState = 'off' | 'connecting' | 'open' | 'polling';

/**
 * Supplies a bearer token before each request and reconnect. `refresh` is true
 * after the sidecar answered 401: return a new token then.
 */
export type TokenProvider = (options: { refresh: boolean }) => Promise<string | null | undefined> | string | null | undefined;

type Preview =
  | { kind: 'loading' }
  | { kind: 'table'; rows: string[][]; truncated: boolean }
  | { kind: 'image' | 'pdf'; url: string }
  | { kind: 'error'; message: string };

/** The origin this module was loaded from: the sidecar itself when a script tag points at it. */
const SCRIPT_ORIGIN = (() => {
  try {
    const origin = new URL(import.meta.url).origin;
    if (origin !== 'null') return origin;
  } catch {
    // Not a URL (some bundlers inline modules); fall through.
  }
  return globalThis.location?.origin ?? '';
})();

const PREVIEW_ROWS = 20;
const PREVIEW_BYTES = 64 * 1024;
const MAX_POLL_DELAY = 60_000;

const SKIP_REASONS: Record<SkippedFile['reason'], string> = {
  'too-large': 'too large',
  'quota-exceeded': 'over the quota',
  'copy-failed': 'could not be copied',
};

/**
 * Lists the files that model-written code saved to `/mnt/data` in one chat,
 * with downloads, older versions and previews, kept current over server-sent
 * events.
 *
 * @summary One chat's generated files, live, with downloads.
 * @tag generated-files
 *
 * @attr {string} chat-id - The chat whose files are listed. Nothing loads without it.
 * @attr {string} src - The sidecar base URL. Defaults to the origin this script was loaded from.
 * @attr {string} token - A bearer token, sent as `Authorization: Bearer` (and as `?token=` for the event stream).
 * @attr {string} live - Live updates over SSE; `off` disables them. Default `on`.
 * @attr {boolean} sandbox-links - Download this chat's file when a `sandbox:/mnt/data/...` link on the page is clicked.
 * @attr {string} heading - The heading text. Default `Generated files`.
 * @attr {number} poll-interval - Milliseconds before the first poll after the stream drops; doubles up to a minute. Default 2000.
 *
 * @prop {TokenProvider | null} tokenProvider - Called before each request and reconnect; called with `{ refresh: true }` after a 401, then the request is retried once. Wins over `token`.
 * @prop {readonly FileSummary[]} files - The files shown, newest first.
 * @prop {LoadState} state - `idle`, `loading`, `ready` or `error`.
 *
 * @event loadstart - A list request started. Does not bubble.
 * @event load - The list loaded. Does not bubble.
 * @event {CustomEvent} error - The list failed to load; `detail.error` (an `Error`, a `FilesApiError` for HTTP errors) says why. Does not bubble.
 * @event loadend - The list request ended, loaded or failed. Does not bubble.
 * @event {GeneratedFilesDownloadEvent} generated-files-download - A download is about to start (`detail.file`, `detail.version`, `detail.name`); cancelable. Bubbles, composed.
 * @event {GeneratedFilesChangeEvent} generated-files-change - A new file or a new version arrived (`detail.file`, `detail.change`). Bubbles, composed.
 *
 * @csspart base - The wrapper around everything.
 * @csspart header - The heading row.
 * @csspart heading - The heading.
 * @csspart count - The number of files.
 * @csspart download-all-button - "Download all" (the zip).
 * @csspart message - The loading, empty, idle and error messages (also `loading`, `empty`, `error`).
 * @csspart retry-button - Retry after an error.
 * @csspart list - The `<ul>` of files.
 * @csspart item - One file.
 * @csspart icon - The format icon.
 * @csspart name - The file name.
 * @csspart folder - The folder under /mnt/data, when not at the top.
 * @csspart meta - Size and time.
 * @csspart version-badge - `vN`, shown when a file has more than one version.
 * @csspart versions - The `<details>` listing all versions.
 * @csspart version-list - The list inside it.
 * @csspart version - One version.
 * @csspart version-download-button - Download one version.
 * @csspart preview-button - Shows or hides the preview (CSV, images, PDF).
 * @csspart preview - The preview.
 * @csspart download-button - Download the latest version.
 * @csspart skipped - Files seen but not kept.
 * @csspart status - The polite live region announcing downloads and new files.
 *
 * @cssproperty --generated-files-font - Font family. Default `system-ui, sans-serif`.
 * @cssproperty --generated-files-font-size - Base font size. Default `0.875rem`.
 * @cssproperty --generated-files-color - Text color.
 * @cssproperty --generated-files-muted-color - Secondary text color.
 * @cssproperty --generated-files-background - Background.
 * @cssproperty --generated-files-surface - Background of buttons, badges and previews.
 * @cssproperty --generated-files-border-color - Borders and dividers.
 * @cssproperty --generated-files-accent - Download buttons, badges, focus ring.
 * @cssproperty --generated-files-accent-text - Text on the accent color.
 * @cssproperty --generated-files-danger - Error text.
 * @cssproperty --generated-files-radius - Corner radius. Default `8px`.
 * @cssproperty --generated-files-spacing - Base spacing. Default `0.75rem`.
 * @cssproperty --generated-files-focus-ring - Focus outline. Default `2px solid` the accent.
 */
export class GeneratedFilesElement extends LitElement {
  static override styles = styles;

  static override properties = {
    chatId: { attribute: 'chat-id', reflect: true },
    src: {},
    token: {},
    live: {},
    sandboxLinks: { attribute: 'sandbox-links', type: Boolean, reflect: true },
    heading: {},
    pollInterval: { attribute: 'poll-interval', type: Number },
    tokenProvider: { attribute: false },
    _state: { state: true, attribute: false },
    _files: { state: true, attribute: false },
    _skipped: { state: true, attribute: false },
    _error: { state: true, attribute: false },
    _live: { state: true, attribute: false },
    _announcement: { state: true, attribute: false },
    _busy: { state: true, attribute: false },
    _previews: { state: true, attribute: false },
  };

  /** Registers the element once; a second call (or a second copy of the script) is a no-op. */
  static define(tag = 'generated-files', registry: CustomElementRegistry = customElements): typeof GeneratedFilesElement {
    if (!registry.get(tag)) registry.define(tag, this);
    return this;
  }

  declare chatId: string | null;
  declare src: string | null;
  declare token: string | null;
  declare live: string;
  declare sandboxLinks: boolean;
  declare heading: string;
  declare pollInterval: number;
  declare tokenProvider: TokenProvider | null;

  declare private _state: LoadState;
  declare private _files: FileSummary[];
  declare private _skipped: SkippedFile[];
  declare private _error: Error | null;
  declare private _live: LiveState;
  declare private _announcement: string;
  declare private _busy: ReadonlySet<string>;
  declare private _previews: ReadonlyMap<string, Preview>;

  #loadAbort: AbortController | null = null;
  #source: EventSource | null = null;
  #liveGeneration = 0;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pollAttempt = 0;
  #clockTimer: ReturnType<typeof setInterval> | undefined;
  #listeningDocument: Document | null = null;

  constructor() {
    super();
    this.chatId = null;
    this.src = null;
    this.token = null;
    this.live = 'on';
    this.sandboxLinks = false;
    this.heading = 'Generated files';
    this.pollInterval = 2000;
    this.tokenProvider = null;
    this._state = 'idle';
    this._files = [];
    this._skipped = [];
    this._error = null;
    this._live = 'off';
    this._announcement = '';
    this._busy = new Set();
    this._previews = new Map();
  }

  /** The files shown, newest first. */
  get files(): readonly FileSummary[] {
    return this._files;
  }

  /** Files the sidecar saw but did not keep. */
  get skipped(): readonly SkippedFile[] {
    return this._skipped;
  }

  get state(): LoadState {
    return this._state;
  }

  /** Whether the list is streaming, polling or not kept current. */
  get liveState(): LiveState {
    return this._live;
  }

  /**
   * The element's one network call. Override it (or assign to it) to route
   * requests, for tests or for an app's own fetch wrapper.
   */
  fetch(request: Request): Promise<Response> {
    return globalThis.fetch(request);
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved in the DOM: the first update starts things the first time.
    if (this.hasUpdated) this.#restart();
    this.#syncSandboxListener();
    // Relative times ("3 minutes ago") age while the page is open.
    this.#clockTimer = setInterval(() => this.requestUpdate(), 30_000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#loadAbort?.abort();
    this.#loadAbort = null;
    this.#stopLive();
    clearInterval(this.#clockTimer);
    this.#syncSandboxListener();
    this.#closePreviews();
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    if (!this.hasUpdated || changed.has('chatId') || changed.has('src')) {
      this.#restart();
    } else if (changed.has('live') || changed.has('token') || changed.has('tokenProvider')) {
      // A new token may be what a failed load was missing.
      if (this._state === 'error') {
        void this.reload();
      } else if (this._state === 'ready') {
        this.#stopLive();
        void this.#startLive();
      }
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    if (changed.has('sandboxLinks')) this.#syncSandboxListener();
  }

  /** Loads the list again, showing the loading state. Resolves when it settled. */
  async reload(): Promise<void> {
    this.#loadAbort?.abort();
    if (!this.chatId) {
      this._state = 'idle';
      return;
    }
    const abort = new AbortController();
    this.#loadAbort = abort;
    this._state = 'loading';
    this._error = null;
    this.dispatchEvent(new Event('loadstart'));
    try {
      const list = await this.#client().list(abort.signal);
      if (abort.signal.aborted) return;
      this._files = list.files ?? [];
      this._skipped = list.skipped ?? [];
      this._state = 'ready';
      this.dispatchEvent(new Event('load'));
      if (!this.#source && this.#pollTimer === undefined) void this.#startLive();
    } catch (error) {
      if (abort.signal.aborted) return;
      if (error instanceof FilesApiError && error.code === 'ERR_CHAT_NOT_FOUND') {
        // A chat that has not run code yet has no files yet: show it empty and
        // keep listening (the stream then polls) until its first file arrives.
        this._files = [];
        this._skipped = [];
        this._state = 'ready';
        this.dispatchEvent(new Event('load'));
        if (!this.#source && this.#pollTimer === undefined) void this.#startLive();
        return;
      }
      this._error = error instanceof Error ? error : new Error(String(error));
      this._state = 'error';
      this.dispatchEvent(new CustomEvent('error', { detail: { error: this._error } }));
    } finally {
      if (!abort.signal.aborted) {
        this.#loadAbort = null;
        this.dispatchEvent(new Event('loadend'));
      }
    }
  }

  /**
   * Saves a file (or one of its older versions) under its real name: fetched
   * with the token as a blob, so it works cross-origin. Resolves once saved or
   * failed; resolves early when a listener cancels `generated-files-download`.
   */
  async download(file: FileSummary, version: FileVersionSummary = file): Promise<void> {
    const url = this.#client().contentUrl(version.downloadUrl);
    await this.#save(url, file.name, { file, version, name: file.name, url }, version.id);
  }

  /** Saves all of this chat's files as one zip. */
  async downloadAll(): Promise<void> {
    if (!this.chatId) return;
    const url = this.#client().archiveUrl;
    const name = `${this.chatId.replace(/[^\w.-]+/g, '_')}-files.zip`;
    await this.#save(url, name, { file: null, version: null, name, url }, 'archive');
  }

  #client(): FilesClient {
    return new FilesClient({
      base: this.src || SCRIPT_ORIGIN,
      chatId: this.chatId ?? '',
      token: async ({ refresh }) =>
        (this.tokenProvider ? await this.tokenProvider({ refresh }) : this.token) || null,
      send: (request) => this.fetch(request),
    });
  }

  #restart(): void {
    this.#stopLive();
    this.#closePreviews();
    this._files = [];
    this._skipped = [];
    void this.reload();
  }

  // ---- live updates: SSE, and polling with backoff while the stream is down ----

  async #startLive(): Promise<void> {
    if (this.live === 'off' || !this.isConnected || !this.chatId || this.#source) return;
    const generation = ++this.#liveGeneration;
    this._live = 'connecting';
    let url: string;
    try {
      const client = this.#client();
      url = withToken(client.eventsUrl, await client.token(false));
    } catch {
      if (generation === this.#liveGeneration) this.#schedulePoll();
      return;
    }
    if (generation !== this.#liveGeneration) return;

    const source = new EventSource(url);
    this.#source = source;
    source.addEventListener('open', () => {
      this._live = 'open';
      this.#pollAttempt = 0;
      // Catch up on what happened between the list (or the last poll) and now.
      void this.#refresh();
    });
    source.addEventListener('file', (event) => {
      const file = parseEvent<FileSummary>(event);
      if (file) this.#merge([file]);
    });
    source.addEventListener('skipped', (event) => {
      const skipped = parseEvent<SkippedFile>(event);
      if (skipped) {
        this._skipped = [skipped, ...this._skipped.filter((s) => s.path !== skipped.path)];
      }
    });
    source.addEventListener('error', () => {
      // EventSource retries on its own, but with a stale token and without
      // backoff; take over: poll, then open a fresh stream.
      if (this.#source !== source) return;
      source.close();
      this.#source = null;
      this.#schedulePoll();
    });
  }

  #schedulePoll(): void {
    this._live = 'polling';
    const base = Math.max(this.pollInterval || 0, 50);
    const delay = Math.min(base * 2 ** this.#pollAttempt, MAX_POLL_DELAY);
    this.#pollAttempt++;
    // Jitter, so a sidecar restart is not met by every open page at once.
    const jittered = delay * (0.85 + Math.random() * 0.3);
    const generation = this.#liveGeneration;
    this.#pollTimer = setTimeout(async () => {
      this.#pollTimer = undefined;
      await this.#refresh();
      if (generation === this.#liveGeneration) void this.#startLive();
    }, jittered);
  }

  #stopLive(): void {
    this.#liveGeneration++;
    this.#source?.close();
    this.#source = null;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#pollAttempt = 0;
    this._live = 'off';
  }

  /** A quiet list request that merges what changed; failures wait for the next poll. */
  async #refresh(): Promise<void> {
    if (!this.chatId || this._state === 'loading') return;
    const chatId = this.chatId;
    const skippedBefore = new Set(this._skipped);
    let list: FileListResponse;
    try {
      list = await this.#client().list();
    } catch {
      return;
    }
    if (chatId !== this.chatId) return;
    this.#merge(list.files ?? [], list.files ?? []);
    if (list.skipped) {
      // The list was taken when the request left: a skipped event that arrived since is newer.
      const arrived = this._skipped.filter((s) => !skippedBefore.has(s));
      this._skipped = [...arrived, ...list.skipped.filter((s) => !arrived.some((a) => a.path === s.path))];
    }
    if (this._state === 'error') {
      this._state = 'ready';
      this._error = null;
    }
  }

  /**
   * Adds new files and versions, announcing each. With `complete`, the
   * server's full list replaces ours afterwards (dropping expired files).
   */
  #merge(incoming: FileSummary[], complete?: FileSummary[]): void {
    const known = new Map(this._files.map((f) => [f.path, f]));
    let next = this._files;
    for (const file of incoming) {
      const current = known.get(file.path);
      if (current && (current.id === file.id || current.version >= file.version)) continue;
      const change = current ? 'updated' : 'added';
      next = [file, ...next.filter((f) => f.path !== file.path)];
      known.set(file.path, file);
      this.dispatchEvent(new GeneratedFilesChangeEvent({ file, change }));
      void this.#announce(
        change === 'added' ? `New file: ${file.name}` : `New version of ${file.name}: version ${file.version}`,
      );
    }
    this._files = complete ?? next;
  }

  // ---- downloads ----

  async #save(
    url: string,
    name: string,
    detail: GeneratedFilesDownloadEvent['detail'],
    busyKey: string,
  ): Promise<void> {
    if (!this.dispatchEvent(new GeneratedFilesDownloadEvent(detail))) return;
    this._busy = new Set(this._busy).add(busyKey);
    void this.#announce(`Downloading ${name}…`);
    const client = this.#client();
    try {
      const blob = await client.blob(url);
      const objectUrl = URL.createObjectURL(blob);
      clickDownload(objectUrl, name);
      // The browser has taken the bytes by the time the click returns; keep
      // the URL a little longer for slow save dialogs.
      setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
      void this.#announce(`Downloaded ${name}`);
    } catch (error) {
      if (error instanceof FilesApiError) {
        void this.#announce(`Could not download ${name}: ${error.message}`);
      } else {
        // fetch itself failed (CORS not set up, network): let the browser
        // fetch it as a plain link, the token in the query.
        clickDownload(withToken(url, await client.token(false).catch(() => null)), name);
      }
    } finally {
      const busy = new Set(this._busy);
      busy.delete(busyKey);
      this._busy = busy;
    }
  }

  async #announce(message: string): Promise<void> {
    // Clearing first makes screen readers repeat an identical message.
    this._announcement = '';
    await this.updateComplete;
    this._announcement = message;
  }

  // ---- sandbox:/mnt/data links written by the model ----

  #syncSandboxListener(): void {
    const wanted = this.isConnected && this.sandboxLinks ? this.ownerDocument : null;
    if (wanted === this.#listeningDocument) return;
    this.#listeningDocument?.removeEventListener('click', this.#onDocumentClick, true);
    wanted?.addEventListener('click', this.#onDocumentClick, true);
    this.#listeningDocument = wanted;
  }

  // Capture phase: still sees clicks that a markdown renderer stops from bubbling.
  #onDocumentClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0) return;
    const link = event
      .composedPath()
      .find((node): node is Element => node instanceof Element && node.localName === 'a' && node.hasAttribute('href'));
    const path = link ? sandboxPath(link.getAttribute('href') ?? '') : null;
    if (path === null) return;
    const file = this.#findFile(path);
    // Another <generated-files> on the page may hold it: leave the click alone.
    if (!file) return;
    event.preventDefault();
    void this.download(file);
  };

  #findFile(path: string): FileSummary | undefined {
    const name = path.slice(path.lastIndexOf('/') + 1);
    return this._files.find((f) => f.path === path) ?? this._files.find((f) => f.name === name);
  }

  // ---- previews ----

  async #togglePreview(file: FileSummary, kind: FormatKind): Promise<void> {
    const previews = new Map(this._previews);
    const open = previews.get(file.id);
    if (open) {
      if ('url' in open) URL.revokeObjectURL(open.url);
      previews.delete(file.id);
      this._previews = previews;
      return;
    }
    this._previews = previews.set(file.id, { kind: 'loading' });
    let preview: Preview;
    try {
      const client = this.#client();
      const url = client.contentUrl(file.downloadUrl, true);
      if (kind === 'csv') {
        const response = await client.request(url);
        const { text, truncated } = await readStart(response, PREVIEW_BYTES);
        const rows = parseCsv(text, PREVIEW_ROWS + 1, delimiterFor(formatOf(file)));
        // A cut-off read may end mid-row.
        if (truncated && rows.length <= PREVIEW_ROWS) rows.pop();
        preview = { kind: 'table', rows: rows.slice(0, PREVIEW_ROWS), truncated: truncated || rows.length > PREVIEW_ROWS };
      } else {
        const blob = await client.blob(url);
        preview = { kind: kind === 'pdf' ? 'pdf' : 'image', url: URL.createObjectURL(blob) };
      }
    } catch (error) {
      preview = { kind: 'error', message: error instanceof Error ? error.message : String(error) };
    }
    // Closed (or the chat changed) while loading.
    if (this._previews.get(file.id)?.kind !== 'loading') {
      if ('url' in preview) URL.revokeObjectURL(preview.url);
      return;
    }
    this._previews = new Map(this._previews).set(file.id, preview);
  }

  #closePreviews(): void {
    for (const preview of this._previews.values()) {
      if ('url' in preview) URL.revokeObjectURL(preview.url);
    }
    if (this._previews.size) this._previews = new Map();
  }

  // ---- rendering ----

  protected override render(): TemplateResult {
    const count = this._files.length;
    return html`
      <section part="base" aria-labelledby="heading" aria-busy=${this._state === 'loading' ? 'true' : 'false'}>
        <header part="header">
          <h2 part="heading" id="heading">${this.heading}</h2>
          ${this._state === 'ready'
            ? html`<span part="count">${count}<span class="visually-hidden"> ${count === 1 ? 'file' : 'files'}</span></span>`
            : nothing}
          <span class="spacer"></span>
          ${count > 0
            ? html`<button
                part="download-all-button"
                type="button"
                ?disabled=${this._busy.has('archive')}
                @click=${() => this.downloadAll()}
              >
                Download all
              </button>`
            : nothing}
        </header>
        ${this.#renderBody()} ${this.#renderSkipped()}
        <div part="status" role="status" aria-live="polite">${this._announcement}</div>
      </section>
    `;
  }

  #renderBody(): TemplateResult {
    if (this._files.length > 0) {
      // A failed reload keeps the list it had, under the error.
      return html`${this._state === 'error' ? this.#renderError() : nothing}
        <ul part="list" role="list">
          ${repeat(this._files, (file) => file.path, (file, index) => this.#renderFile(file, index))}
        </ul>`;
    }
    switch (this._state) {
      case 'idle':
        return html`<p part="message idle">No chat selected.</p>`;
      case 'loading':
        return html`<p part="message loading">Loading files…</p>`;
      case 'error':
        return this.#renderError();
      case 'ready':
        return html`<p part="message empty">No files yet. Files saved to /mnt/data in this chat appear here.</p>`;
    }
  }

  #renderSkipped(): TemplateResult | typeof nothing {
    if (this._skipped.length === 0) return nothing;
    return html`<p part="skipped">
      Not kept:
      ${this._skipped.map(
        (s, i) => html`${i ? ', ' : ''}${s.path} (${formatBytes(s.size)}, ${SKIP_REASONS[s.reason] ?? s.reason})`,
      )}
    </p>`;
  }

  #renderError(): TemplateResult {
    return html`<div part="message error" role="alert">
      <span>Could not load files: ${this._error?.message ?? 'unknown error'}</span>
      <button part="retry-button" type="button" @click=${() => this.reload()}>Retry</button>
    </div>`;
  }

  #renderFile(file: FileSummary, index: number): TemplateResult {
    const format = formatOf(file);
    const kind = kindOf(format, file.mimeType);
    const folder = folderOf(file.path);
    const versions = file.versions ?? [];
    const previewable = kind === 'csv' || kind === 'image' || kind === 'pdf';
    const preview = this._previews.get(file.id);
    const previewId = `preview-${index}`;
    return html`<li part="item">
      <span part="icon">${formatIcon(format, kind)}</span>
      <div class="info">
        <span part="name"><bdi>${withoutBidiControls(file.name)}</bdi></span>${versions.length > 1
          ? html`<span part="version-badge" title="${versions.length} versions"
              ><span aria-hidden="true">v${file.version}</span
              ><span class="visually-hidden">, version ${file.version}</span></span
            >`
          : nothing}
        ${folder ? html`<span part="folder">in ${folder}/</span>` : nothing}
        <span part="meta">${formatBytes(file.size)} · ${this.#renderTime(file.modifiedAt)}</span>
      </div>
      <div class="actions">
        ${previewable
          ? html`<button
              part="preview-button"
              type="button"
              aria-expanded=${preview ? 'true' : 'false'}
              aria-controls=${previewId}
              @click=${() => this.#togglePreview(file, kind)}
            >
              Preview
            </button>`
          : nothing}
        <button
          part="download-button"
          type="button"
          aria-label="Download ${file.name}"
          ?disabled=${this._busy.has(file.id)}
          @click=${() => this.download(file)}
        >
          Download
        </button>
      </div>
      ${versions.length > 1 ? this.#renderVersions(file, versions) : nothing}
      ${preview ? this.#renderPreview(file, preview, previewId) : nothing}
    </li>`;
  }

  #renderVersions(file: FileSummary, versions: FileVersionSummary[]): TemplateResult {
    return html`<details part="versions">
      <summary>${versions.length} versions</summary>
      <ul part="version-list" role="list">
        ${versions.map(
          (version) => html`<li part="version">
            <span
              >Version ${version.version}${version.id === file.id ? ' (latest)' : ''} · ${formatBytes(version.size)} ·
              ${this.#renderTime(version.modifiedAt)}</span
            >
            <button
              part="version-download-button"
              type="button"
              aria-label="Download ${file.name}, version ${version.version}"
              ?disabled=${this._busy.has(version.id)}
              @click=${() => this.download(file, version)}
            >
              Download
            </button>
          </li>`,
        )}
      </ul>
    </details>`;
  }

  #renderPreview(file: FileSummary, preview: Preview, id: string): TemplateResult {
    let body: TemplateResult;
    switch (preview.kind) {
      case 'loading':
        body = html`<p>Loading preview…</p>`;
        break;
      case 'error':
        body = html`<p>Preview unavailable: ${preview.message}</p>`;
        break;
      case 'image':
        body = html`<img src=${preview.url} alt="Preview of ${file.name}" />`;
        break;
      case 'pdf':
        body = html`<iframe src=${preview.url} title="Preview of ${file.name}"></iframe>`;
        break;
      case 'table': {
        const [head = [], ...rows] = preview.rows;
        body = html`<table>
            <caption class="visually-hidden">
              First rows of ${file.name}
            </caption>
            <thead>
              <tr>
                ${head.map((cell) => html`<th scope="col">${cell}</th>`)}
              </tr>
            </thead>
            <tbody>
              ${rows.map((row) => html`<tr>${row.map((cell) => html`<td>${cell}</td>`)}</tr>`)}
            </tbody>
          </table>
          ${preview.truncated ? html`<p>First ${rows.length} rows shown.</p>` : nothing}`;
        break;
      }
    }
    return html`<div part="preview" id=${id} role="region" aria-label="Preview of ${file.name}">${body}</div>`;
  }

  #renderTime(iso: string): TemplateResult {
    const date = new Date(iso);
    return html`<time datetime=${iso} title=${Number.isNaN(date.getTime()) ? '' : date.toLocaleString()}
      >${formatRelativeTime(date)}</time
    >`;
  }
}

/** Saves through a detached link, so page-level click handlers never see it. */
function clickDownload(href: string, name: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = withoutBidiControls(name);
  link.rel = 'noopener';
  link.click();
}

/** `sandbox:/mnt/data/out/a.csv` -> `out/a.csv`; null for any other link. */
export function sandboxPath(href: string): string | null {
  const match = /^sandbox:(.*)$/i.exec(href.trim());
  if (!match) return null;
  let path = match[1] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    // Keep it as written.
  }
  path = path.replace(/^\/+/, '').replace(/^mnt\/data\//, '');
  return path || null;
}

function parseEvent<T>(event: Event): T | null {
  try {
    return JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return null;
  }
}

/** Reads up to `limit` bytes of a body as text, then stops the download. */
async function readStart(response: Response, limit: number): Promise<{ text: string; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: await response.text(), truncated: false };
  const decoder = new TextDecoder();
  let text = '';
  let bytes = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return { text: text + decoder.decode(), truncated: false };
    bytes += value.byteLength;
    text += decoder.decode(value, { stream: true });
    if (bytes >= limit) {
      void reader.cancel();
      return { text, truncated: true };
    }
  }
}
