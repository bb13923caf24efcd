import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type {
  DiffResponse,
  FilePreview,
  FileSummary,
  FileVersionSummary,
  PreviewResponse,
} from '../contract/files-api.ts';
import { filesApiPaths, withoutBidiControls } from '../contract/files-api.ts';
import { isPreviewable } from '../contract/previewable.ts';
import { withToken, type FilesClient } from './files-client.ts';
import { folderOf, formatBytes } from './format.ts';
import { imageSource, releaseImageSource } from './image-source.ts';
import { renderDiff, renderPreview } from './preview-view.ts';
import type { SheetSort } from './sheet-table.ts';
import { viewerStyles } from './viewer-styles.ts';

/*
 * The viewer: one file at a time over the whole page, in a modal <dialog>. Imported by the element
 * the first time a file opens (a chunk of its own in the script-tag build, with its styles and
 * the format views), so a page where nobody opens a file never downloads it.
 */

/** What the viewer's body shows: loading, refused (with the sidecar's reason), a preview or a diff. */
export type PanelState =
  | { kind: 'loading' }
  | { kind: 'refused'; message: string }
  | { kind: 'preview'; preview: FilePreview; src?: string }
  | { kind: 'diff'; diff: DiffResponse };

/** How the reader set up what is shown: sheet, sort, source or rendered, zoom, open JSON nodes. */
export interface ViewState {
  sheet: number;
  sort: SheetSort;
  source: boolean;
  /** 0: fit the window; otherwise a factor of the image's own size. */
  zoom: number;
  naturalWidth: number;
  open: ReadonlyMap<string, boolean>;
}

export type ViewPatch = Partial<ViewState> | ((view: ViewState) => Partial<ViewState>);

const FRESH_VIEW: ViewState = { sheet: 0, sort: null, source: false, zoom: 0, naturalWidth: 0, open: new Map() };

export interface FileViewerOptions {
  client: () => FilesClient;
  /** The files in the order the list shows them: the arrow keys follow it. */
  files: () => readonly FileSummary[];
  download: (file: FileSummary, version?: FileVersionSummary) => void;
  /** A restore made a new version: the list shows it at once (the live stream says it too). */
  restored: (file: FileSummary) => void;
}

/** What was last restored, said until the viewer closes; `undo` restores the version current before. */
interface RestoreMessage {
  text: string;
  undo?: FileVersionSummary;
}

type Host = ReactiveControllerHost & HTMLElement & { renderRoot: HTMLElement | DocumentFragment };

/** Adds the viewer's styles to an element's own, once. */
function adoptStyles(root: unknown): void {
  const sheet = viewerStyles.styleSheet;
  if (root instanceof ShadowRoot && sheet && !root.adoptedStyleSheets.includes(sheet))
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
}

export class FileViewer implements ReactiveController {
  readonly #host: Host;
  readonly #options: FileViewerOptions;
  /** The file shown, by path: a new version of it (a restore) keeps it open. */
  #path: string | null = null;
  /** The version shown, and the version a diff compares it with. */
  #versionId = '';
  #diffFrom: FileVersionSummary | null = null;
  #panel: PanelState = { kind: 'loading' };
  #view: ViewState = FRESH_VIEW;
  #confirming: string | null = null;
  #message: RestoreMessage | null = null;
  /** The control that opened the viewer; focus goes back to it (or to the shown file's row). */
  #opener: HTMLElement | null = null;
  /** Counts loads, so a slow answer for a file no longer shown is dropped. */
  #load = 0;

  constructor(host: Host, options: FileViewerOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
    adoptStyles(host.renderRoot);
  }

  get open(): boolean {
    return this.#path !== null;
  }

  /** The file shown (its newest summary from the list), or null. */
  get file(): FileSummary | null {
    return this.#options.files().find((f) => f.path === this.#path) ?? null;
  }

  hostConnected(): void {
    document.addEventListener('securitypolicyviolation', this.#refused);
  }

  hostDisconnected(): void {
    document.removeEventListener('securitypolicyviolation', this.#refused);
    this.#revoke();
    this.#path = null;
  }

  /**
   * The page's CSP refused the PDF's `blob:` frame (an MCP App's allows frames from the sidecar
   * only): say so, instead of the browser's broken-frame page.
   */
  #refused = (event: SecurityPolicyViolationEvent): void => {
    const panel = this.#panel;
    if (panel.kind !== 'preview' || panel.preview.kind !== 'pdf') return;
    // The PDF's is the one frame the viewer shows then.
    if (!/^(frame|child)-src/.test(event.effectiveDirective)) return;
    this.#set({ kind: 'refused', message: 'this page does not let a PDF show here. Download it to open it.' });
  };

  hostUpdated(): void {
    const dialog = this.#dialog();
    if (!dialog || dialog.open) return;
    dialog.showModal();
    // Focus starts on Close, so Enter or Space never acts on the file by surprise.
    dialog.querySelector<HTMLElement>('[part~="viewer-close"]')?.focus();
  }

  /** Opens a file (its newest version), or shows another one in the open viewer. */
  show(file: FileSummary, opener?: Element | null): void {
    if (opener instanceof HTMLElement && !this.open) this.#opener = opener;
    this.#path = file.path;
    this.#message = null;
    this.#showVersion(file);
  }

  close(): void {
    this.#dialog()?.close();
  }

  /** The next (1) or previous (-1) file in the list's order; none past the ends. */
  step(direction: 1 | -1): void {
    const files = this.#options.files();
    const next = files[files.findIndex((f) => f.path === this.#path) + direction];
    if (next) this.show(next);
  }

  #dialog(): HTMLDialogElement | null {
    return this.#host.renderRoot.querySelector('dialog[part~="viewer"]');
  }

  #showVersion(version: FileVersionSummary): void {
    this.#versionId = version.id;
    this.#diffFrom = null;
    this.#confirming = null;
    this.#view = FRESH_VIEW;
    const name = this.file?.name ?? '';
    if (!isPreviewable(name)) {
      this.#set({ kind: 'refused', message: 'this format is not previewed. Download it to open it.' });
      return;
    }
    void this.#fetch(async (client) => {
      const { preview } = (await (
        await client.request(client.url(filesApiPaths.filePreview(client.chatId, version.id)))
      ).json()) as PreviewResponse;
      let src: string | undefined;
      if (preview.kind === 'image') src = await imageSource(await client.blob(client.contentUrl(preview.url)));
      if (preview.kind === 'pdf') src = URL.createObjectURL(await client.blob(client.contentUrl(preview.url)));
      // A frame cannot send a header: its token rides in the query, as the event stream's does.
      if (preview.kind === 'frame') src = withToken(client.contentUrl(preview.url), await client.token());
      return { kind: 'preview', preview, src };
    });
  }

  /** "What changed": `version` against the one before it. */
  #showDiff(version: FileVersionSummary, previous: FileVersionSummary): void {
    this.#versionId = version.id;
    this.#diffFrom = previous;
    void this.#fetch(async (client) => {
      const url = client.url(filesApiPaths.fileDiff(client.chatId, version.id, previous.id));
      return { kind: 'diff', diff: (await (await client.request(url)).json()) as DiffResponse };
    });
  }

  async #fetch(fetchPanel: (client: FilesClient) => Promise<PanelState>): Promise<void> {
    const load = ++this.#load;
    this.#set({ kind: 'loading' });
    let panel: PanelState;
    try {
      panel = await fetchPanel(this.#options.client());
    } catch (error) {
      // The sidecar says why it refused (too large, a zip bomb, too slow, no preview for the format).
      panel = { kind: 'refused', message: (error as Error).message };
    }
    if (load !== this.#load || !this.open) return revoke(panel);
    this.#set(panel);
  }

  /** Restores `version` as the file's newest; the message offers Undo (the version current before). */
  async #restore(version: FileVersionSummary, undoing: boolean): Promise<void> {
    const current = this.file;
    this.#confirming = null;
    const client = this.#options.client();
    try {
      const restored = (await (
        await client.request(client.url(filesApiPaths.fileRestore(client.chatId, version.id)), { method: 'POST' })
      ).json()) as FileSummary;
      this.#options.restored(restored);
      this.#message = undoing
        ? { text: `Undone: version ${version.version} is current again, as version ${restored.version}.` }
        : {
            text: `Version ${version.version} restored as version ${restored.version}.`,
            undo: current ?? undefined,
          };
      if (this.#path === restored.path) this.#showVersion(restored);
    } catch (error) {
      this.#message = { text: `Could not restore: ${(error as Error).message}` };
    }
    this.#host.requestUpdate();
    // The button that had focus is gone: focus Undo (or the message), so the keyboard stays here.
    await this.#host.updateComplete;
    const dialog = this.#dialog();
    (
      dialog?.querySelector<HTMLElement>('[part~="undo-button"]') ??
      dialog?.querySelector<HTMLElement>('[part~="restore-status"]')
    )?.focus();
  }

  #set(panel: PanelState): void {
    this.#revoke();
    this.#panel = panel;
    this.#host.requestUpdate();
  }

  #revoke(): void {
    revoke(this.#panel);
    this.#panel = { kind: 'loading' };
  }

  /** A patch, or a function of the view as it is now (two quick clicks each see the other's change). */
  #setView = (patch: ViewPatch): void => {
    this.#view = { ...this.#view, ...(typeof patch === 'function' ? patch(this.#view) : patch) };
    this.#host.requestUpdate();
  };

  /** Esc (the dialog's own cancel) or Close: the viewer goes, focus returns to the file's row. */
  #closed = (): void => {
    const shown = this.file;
    const opener = this.#opener;
    this.#revoke();
    this.#path = null;
    this.#opener = null;
    this.#message = null;
    this.#host.requestUpdate();
    void this.#host.updateComplete.then(() => {
      const row = shown && rowOf(this.#host.renderRoot, shown);
      const target = row && !row.contains(opener) ? focusableIn(row) : opener;
      target?.focus();
    });
  };

  #keydown = (event: KeyboardEvent): void => {
    const target = event.composedPath()[0] as Element;
    // Arrows move between files, except where they type, pick or scroll the file's own content.
    if (target.closest?.('input, select, textarea, [part~="preview"]')) return;
    if (event.key === 'ArrowRight' || event.key === 'ArrowLeft') {
      event.preventDefault();
      this.step(event.key === 'ArrowRight' ? 1 : -1);
    }
  };

  render(): TemplateResult | typeof nothing {
    const file = this.file;
    if (!file) return nothing;
    const files = this.#options.files();
    const index = files.indexOf(file);
    const versions = file.versions ?? [];
    const shown = versions.find((v) => v.id === this.#versionId) ?? file;
    const name = withoutBidiControls(file.name);
    const folder = folderOf(file.path);
    const diffing = this.#diffFrom !== null;
    return html`<dialog part="viewer" aria-labelledby="viewer-title" aria-describedby="viewer-meta" @close=${this.#closed} @keydown=${this.#keydown}>
      <div part="viewer-toolbar">
        <div class="viewer-heading">
          <h2 id="viewer-title" part="viewer-title"><bdi>${name}</bdi></h2>
          <span id="viewer-meta" part="viewer-meta"
            >${folder ? `in ${folder}/ · ` : ''}version ${shown.version}${shown.id === file.id ? '' : ` of ${file.version}`} ·
            ${formatBytes(shown.size)} · file ${index + 1} of ${files.length}</span
          >
        </div>
        <div class="viewer-actions">
          <button part="viewer-previous" type="button" aria-label="Previous file" ?disabled=${index <= 0} @click=${() => this.step(-1)}>
            <span aria-hidden="true">←</span>
          </button>
          <button part="viewer-next" type="button" aria-label="Next file" ?disabled=${index >= files.length - 1} @click=${() => this.step(1)}>
            <span aria-hidden="true">→</span>
          </button>
          <button part="viewer-download-button" type="button" aria-label="Download ${name}, version ${shown.version}" @click=${() => this.#options.download(file, shown)}>
            Download
          </button>
          <button part="viewer-close" type="button" aria-label="Close (Esc)" @click=${() => this.close()}>Close</button>
        </div>
      </div>
      ${this.#message ? this.#renderMessage(this.#message) : nothing}
      <div class="viewer-body">
        ${versions.length > 1 ? this.#renderVersions(file, versions) : nothing}
        <div
          part="preview"
          role="region"
          aria-label=${diffing ? `Changes in ${name}, version ${shown.version}` : `Preview of ${name}`}
          aria-busy=${this.#panel.kind === 'loading' ? 'true' : 'false'}
        >
          ${
            this.#panel.kind === 'loading'
              ? html`<p>${diffing ? 'Comparing…' : 'Loading preview…'}</p>`
              : diffing
                ? renderDiff(this.#panel)
                : renderPreview(name, this.#panel, this.#view, this.#setView)
          }
        </div>
      </div>
    </dialog>`;
  }

  #renderMessage(message: RestoreMessage): TemplateResult {
    const undo = message.undo;
    return html`<div part="restore-status" role="status" tabindex="-1">
      <span>${message.text}</span>
      ${undo ? html`<button part="undo-button" type="button" @click=${() => this.#restore(undo, true)}>Undo</button>` : nothing}
    </div>`;
  }

  /** Every version: show it, what changed since the one before, download it, restore it. */
  #renderVersions(file: FileSummary, versions: FileVersionSummary[]): TemplateResult {
    const name = withoutBidiControls(file.name);
    return html`<nav part="viewer-versions" aria-label="Versions of ${name}">
      <h3>Versions</h3>
      <ul role="list">
        ${versions.map((version, i) => {
          const previous = versions[i + 1];
          const label = `version ${version.version}`;
          const current = version.id === this.#versionId;
          return html`<li part="viewer-version" aria-current=${current && !this.#diffFrom ? 'true' : nothing}>
            <span>Version ${version.version}${version.id === file.id ? ' (latest)' : ''} · ${formatBytes(version.size)}</span>
            <span class="viewer-version-actions">
              <button type="button" aria-label="Show ${label}" @click=${() => this.#showVersion(version)}>Show</button>
              ${
                previous
                  ? html`<button
                    part="diff-button"
                    type="button"
                    aria-pressed=${current && this.#diffFrom ? 'true' : 'false'}
                    aria-label="What changed in ${label}"
                    @click=${() => this.#showDiff(version, previous)}
                  >
                    What changed
                  </button>`
                  : nothing
              }
              <button type="button" aria-label="Download ${label}" @click=${() => this.#options.download(file, version)}>Download</button>
              ${
                version.id === file.id
                  ? nothing
                  : this.#confirming === version.id
                    ? html`<span part="restore-confirm" role="group" aria-label="Restore ${label}?"
                      >Restore? <button type="button" @click=${() => this.#restore(version, false)}>Yes, restore</button
                      ><button type="button" @click=${() => this.#confirm(null)}>No</button></span
                    >`
                    : html`<button part="restore-button" type="button" aria-label="Restore ${label}" @click=${() => this.#confirm(version.id)}>
                      Restore
                    </button>`
              }
            </span>
          </li>`;
        })}
      </ul>
    </nav>`;
  }

  #confirm(id: string | null): void {
    this.#confirming = id;
    this.#host.requestUpdate();
    // The confirmation replaces the button that had focus: focus its first answer (or the button again).
    void this.#host.updateComplete.then(() =>
      this.#dialog()
        ?.querySelector<HTMLElement>(id ? '[part~="restore-confirm"] button' : '[part~="restore-button"]')
        ?.focus(),
    );
  }
}

function revoke(panel: PanelState): void {
  if (panel.kind === 'preview') releaseImageSource(panel.src);
}

/** The list row of a file (by name and folder as shown), if it is rendered. */
function rowOf(root: ParentNode, file: FileSummary): HTMLElement | null {
  const name = withoutBidiControls(file.name);
  const folder = folderOf(file.path);
  for (const row of root.querySelectorAll<HTMLElement>('[part~="item"]')) {
    if (row.querySelector('[part~="name"]')?.textContent?.trim() !== name) continue;
    const shownFolder = row.querySelector('[part~="folder"]')?.textContent?.trim() ?? '';
    if (shownFolder === (folder ? `in ${folder}/` : '')) return row;
  }
  return null;
}

/** The row itself when it takes focus, or its first button. */
function focusableIn(row: HTMLElement): HTMLElement | null {
  return row.tabIndex >= 0 ? row : row.querySelector<HTMLElement>('[part~="preview-button"], button');
}
