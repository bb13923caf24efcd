import { LitElement, html, nothing, type PropertyValues, type TemplateResult } from 'lit';
import type { FileListResponse, FileSummary, FileVersionSummary, SkippedFile } from '../contract/files-api.ts';
import { DownloadsController } from './downloads-controller.ts';
import { GeneratedFilesChangeEvent } from './events.ts';
import { FilesClient, FilesApiError } from './files-client.ts';
import { LiveUpdatesController, type LiveState } from './live-updates-controller.ts';
import type { UploadRequest, UploadTransfer } from './upload-transfer.ts';
import type { UploadsController } from './uploads-controller.ts';
import { VisibleRowsController } from './visible-rows-controller.ts';
import type { FileListView } from './file-list-view.ts';
import { formatBytes } from '../contract/format-bytes.ts';
import type { FileViewer } from './file-viewer.ts';
import { isPreviewable } from '../contract/previewable.ts';
import { explain, isNetworkError, renderProblem, tokenChat, type Problem } from './problems.ts';
import { styles } from './styles.ts';

/** What the element shows: nothing to show yet, a first load, the list, or a failed load. */
export type LoadState = 'idle' | 'loading' | 'ready' | 'error';

export type { LiveState } from './live-updates-controller.ts';
export { sandboxPath } from './sandbox-path.ts';

/**
 * Supplies a bearer token before each request and reconnect. `refresh` is true
 * after the sidecar answered 401: return a new token then.
 */
export type TokenProvider = (options: {
  refresh: boolean;
}) => Promise<string | null | undefined> | string | null | undefined;

/** The origin this module was loaded from: the sidecar itself when a script tag points at it. */
const SCRIPT_ORIGIN = (() => {
  try {
    const origin = new URL(import.meta.url).origin;
    if (origin !== 'null') return origin;
  } catch {
    // Not a URL (some bundlers inline modules); fall through.
  }
  return location.origin;
})();

/** Above this, a download goes to the browser's download manager instead of through the page. */
const DEFAULT_LINK_THRESHOLD = 8 * 1024 * 1024;

const SKIP_REASONS: Record<SkippedFile['reason'], string> = {
  'too-large': 'too large',
  'quota-exceeded': 'over the quota',
  'copy-failed': 'could not be copied',
  'transfer-refused': 'refused by the kernel transfer',
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
 * @attr {boolean} sandbox-chips - Show the page's `sandbox:/mnt/data/...` links to this chat's files as file chips: icon, name, size, a download button; a click opens the file in the viewer.
 * @attr {string} heading - The heading text. Default `Generated files`.
 * @attr {number} poll-interval - Milliseconds before the first poll after the stream drops; doubles up to a minute. Default 2000.
 * @attr {boolean} uploads - Lets the user give files to the code: drop, pick or paste them; each goes to the chat's /mnt/data. Loads the upload code (`generated-files-uploads-controller.js`, next to this script) on first use.
 * @attr {number} link-threshold - Bytes above which a download goes through the browser's download manager (a short-lived link) instead of the page's memory. Default 8 MiB.
 *
 * @prop {TokenProvider | null} tokenProvider - Called before each request and reconnect; called with `{ refresh: true }` after a 401, then the request is retried once. Wins over `token`.
 * @prop {readonly FileSummary[]} files - The files shown, newest first.
 * @prop {LoadState} state - `idle`, `loading`, `ready` or `error`.
 * @prop {readonly SkippedFile[]} skipped - Files the sidecar saw but did not keep.
 * @prop {LiveState} liveState - `off`, `connecting`, `open` or `polling`.
 *
 * @event loadstart - A list request started. Does not bubble.
 * @event load - The list loaded. Does not bubble.
 * @event {CustomEvent} error - The list failed to load; `detail.error` (an `Error`, a `FilesApiError` for HTTP errors) says why. Does not bubble.
 * @event loadend - The list request ended, loaded or failed. Does not bubble.
 * @event {GeneratedFilesDownloadEvent} generated-files-download - A download is about to start (`detail.file`, `detail.version`, `detail.name`); cancelable. Bubbles, composed.
 * @event {GeneratedFilesChangeEvent} generated-files-change - A new file or a new version arrived (`detail.file`, `detail.change`). Bubbles, composed.
 * @event {GeneratedFilesUploadEvent} generated-files-upload - An upload's `start` (cancelable), `progress`, `done` or `error` (`detail.phase`, `detail.file`, `detail.path`, `detail.sent`, `detail.total`). Bubbles, composed.
 *
 * @csspart base - The wrapper around everything.
 * @csspart header - The heading row.
 * @csspart heading - The heading.
 * @csspart count - The number of files.
 * @csspart download-all-button - "Download all" (the zip).
 * @csspart message - The idle, loading, empty and error messages (each also has its own part below).
 * @csspart idle - "No chat selected."
 * @csspart loading - The first load.
 * @csspart empty - A chat with no files yet.
 * @csspart error - A failed load, with Retry (`role="alert"`).
 * @csspart retry-button - Retry after an error: a failed load of the list, or of the preview or upload code.
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
 * @csspart preview-button - Opens the file in the viewer (every format the sidecar previews). The first file opened loads the viewer's code (`generated-files-file-viewer.js`, next to this script).
 * @csspart viewer - The viewer: a modal `<dialog>` over the whole page, one file at a time (← → between files, Esc closes).
 * @csspart viewer-toolbar - Its toolbar: the name, version, size, position, and the file's actions.
 * @csspart viewer-title - The file's name in the viewer.
 * @csspart viewer-meta - Folder, version, size and "file N of M".
 * @csspart viewer-previous - The previous file.
 * @csspart viewer-next - The next file.
 * @csspart viewer-download-button - Download the version shown.
 * @csspart viewer-close - Close the viewer (as Esc does); focus returns to the file's row.
 * @csspart viewer-versions - Every version of the file, each with Show, What changed, Download and Restore.
 * @csspart viewer-version - One version there.
 * @csspart preview - What the viewer shows: the preview, or the changes of a version. Before the viewer's code loads, the loading line (or the failed load, with Retry).
 * @csspart preview-count - How much of a table or a table diff is shown ("100 of 3,000 rows", "Showing 50 of 60 columns").
 * @csspart source-toggle - Markdown and JSON: rendered, or the source as written.
 * @csspart json-tree - JSON as a tree of disclosures.
 * @csspart zoom - An image's zoom buttons.
 * @csspart diff-button - "What changed": a version against the one before it.
 * @csspart restore-button - Restore an older version (asks first).
 * @csspart restore-confirm - The "Restore? Yes / No" group.
 * @csspart restore-status - What the last restore did, until the viewer closes, with Undo.
 * @csspart undo-button - Restores the version that was current before the restore.
 * @csspart download-button - Download the latest version.
 * @csspart skipped - Files seen but not kept.
 * @csspart download-all-size - The zip's size, shown before it starts.
 * @csspart uploaded-heading - The heading over the files the user gave.
 * @csspart uploaded-list - The `<ul>` of files the user gave (`source: 'upload'`).
 * @csspart uploads - The upload area (with `uploads`): the drop zone, folder and file picker.
 * @csspart uploads-error - The upload code did not load (a network failure), with Retry (`role="alert"`).
 * @csspart upload-folder - The folder input.
 * @csspart upload-button - The label that opens the native file picker.
 * @csspart upload - One upload in progress, refused, or waiting for an answer.
 * @csspart upload-progress - Its `<progress>`.
 * @csspart upload-cancel-button - Cancels it (or dismisses a refusal).
 * @csspart upload-replace-button - Replaces the existing file after a conflict.
 * @csspart status - The polite live region announcing downloads, uploads and new files.
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
    sandboxChips: { attribute: 'sandbox-chips', type: Boolean, reflect: true },
    heading: {},
    pollInterval: { attribute: 'poll-interval', type: Number },
    uploads: { type: Boolean, reflect: true },
    linkThreshold: { attribute: 'link-threshold', type: Number },
    tokenProvider: { attribute: false },
    _state: { state: true, attribute: false },
    _files: { state: true, attribute: false },
    _skipped: { state: true, attribute: false },
    _error: { state: true, attribute: false },
    _problem: { state: true, attribute: false },
    _offline: { state: true, attribute: false },
    _announcement: { state: true, attribute: false },
    _opening: { state: true, attribute: false },
  };

  /** Registers the element once; a second call (or a second copy of the script) is a no-op. */
  static define(
    tag = 'generated-files',
    registry: CustomElementRegistry = customElements,
  ): typeof GeneratedFilesElement {
    if (!registry.get(tag)) registry.define(tag, this);
    return this;
  }

  declare chatId: string | null;
  declare src: string | null;
  declare token: string | null;
  declare live: string;
  declare sandboxLinks: boolean;
  declare sandboxChips: boolean;
  declare heading: string;
  declare pollInterval: number;
  declare uploads: boolean;
  declare linkThreshold: number;
  declare tokenProvider: TokenProvider | null;

  declare private _state: LoadState;
  declare private _files: FileSummary[];
  declare private _skipped: SkippedFile[];
  declare private _error: Error | null;
  /** What the last failure means, in plain words: the list's, or a download's. */
  declare private _problem: Problem | null;
  /** The last request got no answer at all: the list may be stale. */
  declare private _offline: boolean;
  declare private _announcement: string;
  /** A file waiting for the viewer's code, and why that code did not load (null: loading). */
  declare private _opening: { file: FileSummary; failed: string | null } | null;

  #loadAbort: AbortController | null = null;
  /** The code's files, the user's (`source: 'upload'`), and the zip's size, as of the last update. */
  #split: { made: FileSummary[]; given: FileSummary[]; size: number } = { made: [], given: [], size: 0 };
  /** Versions that arrived while the list was shown: their rows animate in, once (not rows scrolled into view). */
  readonly #fresh = new Set<string>();
  #clockTimer: ReturnType<typeof setInterval> | undefined;

  readonly #live = new LiveUpdatesController(this, {
    client: () => this.#client(),
    wanted: () => this.live !== 'off' && this.isConnected && !!this.chatId,
    pollInterval: () => this.pollInterval,
    refresh: () => this.#refresh(),
    onFile: (file) => this.#merge([file]),
    onSkipped: (skipped) => {
      this._skipped = [skipped, ...this._skipped.filter((s) => s.path !== skipped.path)];
    },
  });
  readonly #downloads = new DownloadsController(this, {
    client: () => this.#client(),
    announce: (message) => void this.#announce(message),
    linkThreshold: () => (Number.isFinite(this.linkThreshold) ? this.linkThreshold : DEFAULT_LINK_THRESHOLD),
    failed: async (name, error) => {
      this._offline = isNetworkError(error);
      const { text, detail } = await explain(error, this.#base());
      this._problem = { text: `Could not download ${name}. ${text}`, detail };
      // Offline: the poll that notices the sidecar is back clears it.
      if (this._offline && !this.#live.running) void this.#live.start();
    },
  });
  /** Loaded on first need (the `uploads` attribute, or `upload()`): most pages never give files. */
  #uploads: UploadsController | null = null;
  #uploadsLoading: Promise<UploadsController> | null = null;
  /** Why the upload code did not load (a network failure); null: loaded, loading or not tried. */
  #uploadsFailed: string | null = null;
  #xhrUpload: ((request: UploadRequest) => UploadTransfer) | null = null;
  // Set once (`??=`), cleared after a failed import so the next update tries again.
  // eslint-disable-next-line no-unused-private-class-members
  #sandboxLinksLoading: Promise<void> | null = null;
  /** The list's code (rows, runs, menus, thumbnails): loaded with the first list, beside it. */
  #list: FileListView | null = null;
  #listLoading: Promise<void> | null = null;
  /** Why the list's code did not load (a network failure); null: loaded, loading or not tried. */
  #listFailed: string | null = null;
  readonly #rows = new VisibleRowsController(this, () => this.renderRoot?.querySelector('[part~="list"]') ?? null);
  /** The viewer (previews, diffs, restores), loaded the first time a file opens. */
  #viewer: FileViewer | null = null;
  #viewerLoading: Promise<FileViewer> | null = null;

  constructor() {
    super();
    this.chatId = null;
    this.src = null;
    this.token = null;
    this.live = 'on';
    this.sandboxLinks = false;
    this.sandboxChips = false;
    this.heading = 'Generated files';
    this.pollInterval = 2000;
    this.uploads = false;
    this.linkThreshold = DEFAULT_LINK_THRESHOLD;
    this.tokenProvider = null;
    this._state = 'idle';
    this._files = [];
    this._skipped = [];
    this._error = null;
    this._problem = null;
    this._offline = false;
    this._announcement = '';
    this._opening = null;
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
    return this.#live.state;
  }

  /**
   * The element's one network call. Override it (or assign to it) to route
   * requests, for tests or for an app's own fetch wrapper.
   */
  fetch(request: Request): Promise<Response> {
    return globalThis.fetch(request);
  }

  /**
   * The element's one upload call (XMLHttpRequest, for its upload progress). Override it to
   * route uploads, as `fetch` routes the rest.
   */
  sendUpload(request: UploadRequest): UploadTransfer {
    // XMLHttpRequest code loads with the rest of the upload code; it is there by the time
    // the element sends, and a direct call before that waits for it.
    if (this.#xhrUpload) return this.#xhrUpload(request);
    const transfer = this.#loadUploads().then(() => this.#xhrUpload!(request));
    return { response: transfer.then((t) => t.response), abort: () => void transfer.then((t) => t.abort()) };
  }

  /**
   * Uploads files into the chosen folder (or the top of /mnt/data), as a drop or a pick does.
   * Resolves once each has started (or was refused a start), after the upload code loaded.
   */
  async upload(files: Iterable<File>): Promise<void> {
    (this.#uploads ?? (await this.#loadUploads())).add(files);
  }

  /** A row's (or a chip's) own action: the file in the viewer; a download when the viewer does not show its format. */
  #open(file: FileSummary): void {
    void (isPreviewable(file.name) ? this.openFile(file) : this.download(file));
  }

  /** Imports the list's code once (again after a failure, on Retry); never rejects. */
  #loadList(): Promise<void> {
    this.#listLoading ??= import('./file-list-view.ts').then(
      ({ FileListView }) => {
        this.#listFailed = null;
        this.#list = new FileListView(this, {
          canOpen: (file) => isPreviewable(file.name),
          rows: this.#rows,
          busy: (id) => this.#downloads.busy.has(id),
          download: (file, version) => void this.download(file, version),
          open: (file) => this.#open(file),
          fetchBlob: (version) => this.#client().blob(this.#client().contentUrl(version.downloadUrl)),
          fresh: (id) => this.#fresh.has(id),
          settled: (id) => this.#fresh.delete(id),
          find: (id) => this._files.find((f) => f.id === id),
        });
        this.requestUpdate();
      },
      (error: Error) => {
        this.#listLoading = null;
        this.#listFailed = error.message;
        this.requestUpdate();
      },
    );
    return this.#listLoading;
  }

  /** Opens a file in the viewer, over the page. The viewer's code loads the first time. */
  async openFile(file: FileSummary): Promise<void> {
    const opener = this.shadowRoot?.activeElement;
    this._opening = { file, failed: null };
    try {
      // A chunk of its own next to this module: a page where nobody opens a file never downloads it.
      this.#viewerLoading ??= import('./file-viewer.ts').then(
        ({ FileViewer }) =>
          (this.#viewer = new FileViewer(this, {
            client: () => this.#client(),
            // In the order the list shows them (runs, the filter), for the arrow keys.
            files: () => this.#list?.shown ?? [...this.#split.made, ...this.#split.given],
            download: (f, version) => void this.download(f, version),
            restored: (f) => this.#merge([f]),
          })),
      );
      (await this.#viewerLoading).show(file, opener);
      this._opening = null;
    } catch (error) {
      this.#viewerLoading = null;
      this._opening = { file, failed: (error as Error).message };
    }
  }

  #loadUploads(): Promise<UploadsController> {
    // A chunk of its own next to this module: a page without `uploads` never downloads it.
    this.#uploadsLoading ??= import('./uploads-controller.ts').then(({ UploadsController, xhrUpload }) => {
      this.#uploadsFailed = null;
      this.#xhrUpload = xhrUpload;
      this.#uploads = new UploadsController(this, {
        enabled: () => this.uploads,
        client: () => this.#client(),
        send: (request) => this.sendUpload(request),
        announce: (message) => void this.#announce(message),
        exists: (path) => this._files.some((f) => f.path === path),
        uploaded: (summary) => this.#merge([summary]),
      });
      this.requestUpdate();
      return this.#uploads;
    }, this.#uploadsNotLoaded);
    return this.#uploadsLoading;
  }

  /** Says so where the upload area would be, and lets Retry import the code again (no retry loop). */
  #uploadsNotLoaded = (error: Error): never => {
    this.#uploadsLoading = null;
    this.#uploadsFailed = error.message;
    this.requestUpdate();
    throw error;
  };

  #retryUploads(): void {
    this.#uploadsFailed = null;
    this.#loadUploads().catch(() => {});
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Moved in the DOM: the first update starts things the first time.
    if (this.hasUpdated) this.#restart();
    // Relative times ("3 minutes ago") age while the page is open.
    this.#clockTimer = setInterval(() => this.requestUpdate(), 30_000);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#loadAbort?.abort();
    this.#loadAbort = null;
    clearInterval(this.#clockTimer);
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // Derived once per new list: an update that only scrolls or ticks the clock walks no files.
    if (changed.has('_files' as keyof GeneratedFilesElement)) {
      const made: FileSummary[] = [];
      const given: FileSummary[] = [];
      let size = 0;
      for (const f of this._files) {
        (f.source === 'upload' ? given : made).push(f);
        size += f.size;
      }
      this.#split = { made, given, size };
    }
    if (this._files.length && !this.#list && this.#listFailed === null) void this.#loadList();
    if (this.uploads && !this.#uploads && this.#uploadsFailed === null) this.#loadUploads().catch(() => {});
    if (this.sandboxLinks || this.sandboxChips) this.#loadSandboxLinks();
    if (!this.hasUpdated || changed.has('chatId') || changed.has('src')) {
      this.#restart();
    } else if (changed.has('live') || changed.has('token') || changed.has('tokenProvider')) {
      // A new token may be what a failed load was missing.
      if (this._state === 'error') {
        void this.reload();
      } else if (this._state === 'ready') {
        this.#live.stop();
        void this.#live.start();
      }
    }
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
    this._problem = null;
    this.dispatchEvent(new Event('loadstart'));
    const client = this.#client();
    const chatId = this.chatId;
    try {
      // The list's code comes beside the first list, so `load` finds the rows drawn.
      const [list] = await Promise.all([
        client.list(abort.signal).catch(async (error: unknown) => {
          // A chat that has not run code yet has no files yet: show it empty and keep
          // listening (the stream then polls) until its first file arrives.
          if (error instanceof FilesApiError && error.code === 'ERR_CHAT_NOT_FOUND') {
            // The sidecar answers a token for another chat as it does an unknown chat (it
            // tells no chats apart); the token's own claim says which it is.
            const chat = tokenChat(await client.token(false).catch(() => null));
            if (chat && chat !== chatId)
              throw new FilesApiError(
                404,
                'ERR_TOKEN_OTHER_CHAT',
                `This page's token is for chat "${chat}", not for chat "${chatId}": the token and the chat disagree.`,
              );
            return {} as Partial<FileListResponse>;
          }
          throw error;
        }),
        this.#loadList(),
      ]);
      if (abort.signal.aborted) return;
      this._offline = false;
      this._files = list.files ?? [];
      this._skipped = list.skipped ?? [];
      this._state = 'ready';
      this.dispatchEvent(new Event('load'));
      if (!this.#live.running) void this.#live.start();
    } catch (error) {
      if (abort.signal.aborted) return;
      // Worded before the state changes, so `error` finds the message on screen.
      const problem = await explain(error, this.#base());
      if (abort.signal.aborted) return;
      this._error = error instanceof Error ? error : new Error(String(error));
      this._problem = problem;
      this._offline = isNetworkError(error);
      this._state = 'error';
      this.dispatchEvent(new CustomEvent('error', { detail: { error: this._error } }));
      // No answer at all: keep trying on our own (the stream, else polls with backoff).
      if (this._offline) void this.#live.start();
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
    await this.#downloads.save({
      detail: { file, version, name: file.name, url },
      fileId: version.id,
      size: version.size,
      busyKey: version.id,
    });
  }

  /** Saves all of this chat's files as one zip. */
  async downloadAll(): Promise<void> {
    if (!this.chatId) return;
    const url = this.#client().archiveUrl;
    const name = `${this.chatId.replace(/[^\w.-]+/g, '_')}-files.zip`;
    await this.#downloads.save({
      detail: { file: null, version: null, name, url },
      fileId: null,
      size: this.#totalSize(),
      busyKey: 'archive',
    });
  }

  /** The zip's size before it starts: the latest versions, stored as they are. */
  #totalSize(): number {
    return this._files.reduce((sum, f) => sum + f.size, 0);
  }

  #base(): string {
    return this.src || SCRIPT_ORIGIN;
  }

  #client(): FilesClient {
    return new FilesClient({
      base: this.#base(),
      chatId: this.chatId ?? '',
      token: async ({ refresh }) => (this.tokenProvider ? await this.tokenProvider({ refresh }) : this.token) || null,
      send: (request) => this.fetch(request),
    });
  }

  #restart(): void {
    this.#live.stop();
    this.#viewer?.close();
    this._files = [];
    this._skipped = [];
    this._offline = false;
    this.#fresh.clear();
    void this.reload();
  }

  /** A quiet list request that merges what changed; failures wait for the next poll. */
  async #refresh(): Promise<void> {
    if (!this.chatId || this._state === 'loading') return;
    const chatId = this.chatId;
    const filesBefore = new Set(this._files);
    const skippedBefore = new Set(this._skipped);
    let list: FileListResponse;
    try {
      list = await this.#client().list();
    } catch (error) {
      if (chatId === this.chatId) this._offline = isNetworkError(error);
      return;
    }
    if (chatId !== this.chatId) return;
    this._offline = false;
    if (this._problem && this._state !== 'error') this._problem = null;
    // The list was taken when the request left: a file or skipped event that arrived since is newer.
    const listed = list.files ?? [];
    const newer = this._files.filter(
      (f) => !filesBefore.has(f) && !listed.some((l) => l.path === f.path && l.version >= f.version),
    );
    this.#merge(listed, [...newer, ...listed.filter((l) => !newer.some((f) => f.path === l.path))]);
    if (list.skipped) {
      const arrived = this._skipped.filter((s) => !skippedBefore.has(s));
      this._skipped = [...arrived, ...list.skipped.filter((s) => !arrived.some((a) => a.path === s.path))];
    }
    if (this._state === 'error') {
      this._state = 'ready';
      this._error = null;
      this._problem = null;
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
      this.#fresh.add(file.id);
      this.dispatchEvent(new GeneratedFilesChangeEvent({ file, change }));
      void this.#announce(
        change === 'added' ? `New file: ${file.name}` : `New version of ${file.name}: version ${file.version}`,
      );
    }
    this._files = complete ?? next;
  }

  async #announce(message: string): Promise<void> {
    // Clearing first makes screen readers repeat an identical message.
    this._announcement = '';
    await this.updateComplete;
    this._announcement = message;
  }

  /** Loads the `sandbox-links` code once it is first wanted; it listens from then on, while wanted. */
  #loadSandboxLinks(): void {
    this.#sandboxLinksLoading ??= import('./sandbox-links-controller.ts').then(
      ({ SandboxLinksController }) => {
        // It adds itself to the element, and listens from now on while wanted.
        new SandboxLinksController(this, {
          enabled: () => this.sandboxLinks,
          chips: () => this.sandboxChips,
          find: (path) => this.#findFile(path),
          download: (file) => void this.download(file),
          open: (file) => this.#open(file),
        }).hostUpdated();
        this.requestUpdate();
      },
      () => void (this.#sandboxLinksLoading = null),
    );
  }

  #findFile(path: string): FileSummary | undefined {
    const name = path.slice(path.lastIndexOf('/') + 1);
    return this._files.find((f) => f.path === path) ?? this._files.find((f) => f.name === name);
  }

  // ---- rendering ----

  protected override render(): TemplateResult {
    const count = this._files.length;
    return html`
      <section
        part="base"
        class=${this.#uploads?.dragging ? 'dragging' : ''}
        aria-labelledby="heading"
        aria-busy=${this._state === 'loading' ? 'true' : 'false'}
      >
        <header part="header">
          <h2 part="heading" id="heading">${this.heading}</h2>
          ${
            this._state === 'ready'
              ? html`<span part="count">${count}<span class="visually-hidden"> ${count === 1 ? 'file' : 'files'}</span></span>`
              : nothing
          }
          ${this.#renderLiveStatus()}
          ${
            count > 0
              ? html`<button
                part="download-all-button"
                type="button"
                ?disabled=${this.#downloads.busy.has('archive')}
                @click=${() => this.downloadAll()}
              >
                Download all <span part="download-all-size">(${formatBytes(this.#split.size)})</span>
              </button>`
              : nothing
          }
        </header>
        ${
          this._problem && this._state !== 'error'
            ? renderProblem(
                'notice',
                this._problem,
                html`<button type="button" @click=${() => (this._problem = null)}>Dismiss</button>`,
              )
            : nothing
        }
        ${this.#renderOpening()} ${this.#viewer?.render()}
        ${this.uploads ? (this.#uploads?.render() ?? this.#renderUploadsFailed()) : nothing} ${this.#renderBody()} ${this.#renderSkipped()}
        <div part="status" role="status" aria-live="polite">${this._announcement}</div>
      </section>
    `;
  }

  /** Before the viewer's code is in: its loading line, or a failed load with Retry. */
  #renderOpening(): TemplateResult | typeof nothing {
    const opening = this._opening;
    return opening
      ? html`<div part="preview" role="region" aria-label="Preview of ${opening.file.name}">
          ${
            opening.failed === null
              ? html`<p>Loading preview…</p>`
              : renderProblem(
                  'preview-error',
                  { text: 'Could not load the preview: the network dropped.', detail: opening.failed },
                  html`<button part="retry-button" type="button" @click=${() => this.openFile(opening.file)}>Retry</button>`,
                )
          }
        </div>`
      : nothing;
  }

  #renderUploadsFailed(): TemplateResult | typeof nothing {
    return this.#uploadsFailed === null
      ? nothing
      : renderProblem(
          'uploads-error',
          { text: 'Could not load the upload code: the network dropped.', detail: this.#uploadsFailed },
          html`<button part="retry-button" type="button" @click=${() => this.#retryUploads()}>Retry</button>`,
        );
  }

  #renderBody(): TemplateResult {
    if (this._files.length > 0) {
      // A failed reload keeps the list it had, under the error.
      const { made, given } = this.#split;
      return html`${this._state === 'error' ? this.#renderError() : nothing}${
        this.#list
          ? this.#list.render(made, given)
          : this.#listFailed === null
            ? html`<p part="message loading">Loading files…</p>`
            : renderProblem(
                'message list-error',
                { text: 'Could not load the file list: the network dropped.', detail: this.#listFailed },
                html`<button part="retry-button" type="button" @click=${() => void this.#loadList()}>Retry</button>`,
              )
      }`;
    }
    switch (this._state) {
      case 'idle':
        return html`<p part="message idle">No chat selected.</p>`;
      case 'loading':
        return html`<p part="message loading">Loading files…</p>`;
      case 'error':
        return this.#renderError();
      case 'ready':
        return html`<p part="message empty">No files yet. Files saved to /mnt/data appear here.</p>`;
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
    return renderProblem(
      'message error',
      {
        text: `Could not load files. ${this._problem?.text ?? ''}`,
        detail: this._problem?.detail ?? this._error?.message ?? '',
      },
      html`<button part="retry-button" type="button" @click=${() => this.reload()}>Retry</button>`,
    );
  }

  /** Whether the list is current: live, (re)connecting, or offline (retrying on its own; Retry now). */
  #renderLiveStatus(): TemplateResult | typeof nothing {
    if (this._offline)
      return html`<button part="live-status" data-state="offline" type="button" @click=${() => this.reload()}>
        Offline · Retry now
      </button>`;
    const state = this.live === 'off' || this._state !== 'ready' ? 'off' : this.#live.state;
    return state === 'off'
      ? nothing
      : html`<span part="live-status" data-state=${state}
          >${state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…'}</span
        >`;
  }
}
