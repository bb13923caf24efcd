import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { FileSummary, FileVersionSummary } from '../contract/files-api.ts';
import { filesApiPaths, type DiffResponse, type FilePreview, type PreviewResponse } from '../contract/files-api.ts';
import { isPreviewable } from '../contract/previewable.ts';
import { withToken, type FilesClient } from './files-client.ts';
import { renderProblem } from './problems.ts';
import type * as PreviewViewModule from './preview-view.ts';

type PreviewView = typeof PreviewViewModule;

/** What one open preview or diff shows; `unloaded`: the preview code itself did not load. */
export type PanelState =
  | { kind: 'loading' }
  | { kind: 'refused'; message: string }
  | { kind: 'unloaded'; message: string; retry: () => void }
  | { kind: 'preview'; preview: FilePreview; sheet: number; src?: string }
  | { kind: 'diff'; diff: DiffResponse };

/**
 * Previews, "what changed" diffs and restores of one element's files. The sidecar renders;
 * this fetches its JSON, keeps what is open (by version id), and renders it through
 * preview-view.ts, imported when the first panel opens (a chunk of its own in the script-tag
 * build). Object URLs it made are revoked when a panel closes or the host leaves.
 */
export class PreviewController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #client: () => FilesClient;
  #panels = new Map<string, PanelState>();
  /** The version waiting for "Restore? Yes / No", and the last restore's outcome. */
  #confirming: string | null = null;
  #restoreMessage = '';
  #view: PreviewView | null = null;
  #viewLoading: Promise<PreviewView> | null = null;

  constructor(host: ReactiveControllerHost, client: () => FilesClient) {
    this.#host = host;
    this.#client = client;
    host.addController(this);
  }

  hostDisconnected(): void {
    for (const key of [...this.#panels.keys()]) this.#close(key);
    this.#host.requestUpdate();
  }

  canPreview(file: FileSummary): boolean {
    // The sidecar's own list (contract/previewable.ts); the rest only download.
    return isPreviewable(file.name);
  }

  isOpen(key: string): boolean {
    return this.#panels.has(key);
  }

  async togglePreview(file: FileSummary): Promise<void> {
    if (this.#closeIfOpen(file.id)) return;
    await this.#load(file.id, async (client) => {
      const { preview } = (await (
        await client.request(client.url(filesApiPaths.filePreview(client.chatId, file.id)))
      ).json()) as PreviewResponse;
      let src: string | undefined;
      if (preview.kind === 'image' || preview.kind === 'pdf')
        src = URL.createObjectURL(await client.blob(client.contentUrl(preview.url)));
      // A frame cannot send a header: its token rides in the query, as the event stream's does.
      if (preview.kind === 'frame') src = withToken(client.contentUrl(preview.url), await client.token());
      return { kind: 'preview', preview, sheet: 0, src };
    });
  }

  /** "What changed": `version` against the one before it. */
  async toggleDiff(version: FileVersionSummary, previous: FileVersionSummary): Promise<void> {
    const key = `diff:${version.id}`;
    if (this.#closeIfOpen(key)) return;
    await this.#load(key, async (client) => {
      const url = client.url(filesApiPaths.fileDiff(client.chatId, version.id, previous.id));
      return { kind: 'diff', diff: (await (await client.request(url)).json()) as DiffResponse };
    });
  }

  /** First call asks for confirmation; `confirmed` restores (the new version arrives as a file event). */
  async restore(version: FileVersionSummary, confirmed: boolean): Promise<void> {
    if (!confirmed) {
      this.#confirming = this.#confirming === version.id ? null : version.id;
      this.#restoreMessage = '';
      return this.#host.requestUpdate();
    }
    this.#confirming = null;
    const client = this.#client();
    try {
      const restored = (await (
        await client.request(client.url(filesApiPaths.fileRestore(client.chatId, version.id)), { method: 'POST' })
      ).json()) as FileSummary;
      this.#restoreMessage = `Version ${version.version} restored as version ${restored.version}.`;
    } catch (error) {
      this.#restoreMessage = `Could not restore: ${(error as Error).message}`;
    }
    this.#host.requestUpdate();
  }

  /** The open preview of a file, or nothing. */
  renderPreview(file: FileSummary, id: string): TemplateResult | typeof nothing {
    const panel = this.#panels.get(file.id);
    return panel
      ? this.#frame(id, `Preview of ${file.name}`, panel, 'Loading preview…', (view) =>
          view.renderPreview(file.name, panel, (sheet) => this.#selectSheet(file.id, sheet)),
        )
      : nothing;
  }

  /** "What changed" and "Restore" for one version of a file, with the open diff under them. */
  renderVersionActions(
    file: FileSummary,
    version: FileVersionSummary,
    previous: FileVersionSummary | undefined,
    id: string,
  ): TemplateResult {
    const key = `diff:${version.id}`;
    const panel = this.#panels.get(key);
    const label = `${file.name}, version ${version.version}`;
    return html`${
      previous
        ? html`<button part="diff-button" type="button" aria-expanded=${panel ? 'true' : 'false'} aria-controls=${id} aria-label="What changed in ${label}" @click=${() => this.toggleDiff(version, previous)}>What changed</button>`
        : nothing
    }
      ${
        version.id === file.id
          ? nothing
          : this.#confirming === version.id
            ? html`<span part="restore-confirm" role="group" aria-label="Restore ${label}?"
              >Restore? <button type="button" @click=${() => this.restore(version, true)}>Yes, restore</button
              ><button type="button" @click=${() => this.restore(version, false)}>No</button></span
            >`
            : html`<button part="restore-button" type="button" aria-label="Restore ${label}" @click=${() => this.restore(version, false)}>Restore</button>`
      }
      ${panel ? this.#frame(id, `Changes in ${label}`, panel, 'Comparing…', (view) => view.renderDiff(panel)) : nothing}
      ${this.#restoreMessage && version.id === file.id ? html`<span part="restore-status" role="status">${this.#restoreMessage}</span>` : nothing}`;
  }

  /** The panel's region: the loading line and a failed load of the preview code here, the rest in the view. */
  #frame(
    id: string,
    label: string,
    panel: PanelState,
    loading: string,
    show: (view: PreviewView) => TemplateResult,
  ): TemplateResult {
    return html`<div part="preview" id=${id} role="region" aria-label=${label}>${
      panel.kind === 'unloaded'
        ? renderProblem(
            'preview-error',
            { text: 'Could not load the preview: the network dropped.', detail: panel.message },
            html`<button part="retry-button" type="button" @click=${panel.retry}>Retry</button>`,
          )
        : panel.kind === 'loading' || !this.#view
          ? html`<p>${loading}</p>`
          : show(this.#view)
    }</div>`;
  }

  /** The view's code: imported once per element, and again after a failed import (Retry). */
  #loadView(): Promise<PreviewView> {
    this.#viewLoading ??= import('./preview-view.ts').then(
      (view) => {
        view.adoptPreviewStyles((this.#host as ReactiveControllerHost & { renderRoot?: unknown }).renderRoot);
        return (this.#view = view);
      },
      (error: unknown) => {
        this.#viewLoading = null;
        throw error;
      },
    );
    return this.#viewLoading;
  }

  async #load(key: string, fetchPanel: (client: FilesClient) => Promise<PanelState>): Promise<void> {
    this.#set(key, { kind: 'loading' });
    // The code that shows the panel loads beside the sidecar's JSON; the panel says "Loading" until both are here.
    const viewFailed = this.#loadView().then(
      () => null,
      (error: unknown) => error as Error,
    );
    let panel: PanelState;
    try {
      panel = await fetchPanel(this.#client());
    } catch (error) {
      // The sidecar says why it refused (too large, a zip bomb, too slow, no preview for the format).
      panel = { kind: 'refused', message: (error as Error).message };
    }
    const failed = await viewFailed;
    if (failed) {
      // A network failure, not the file's: say so, and let the user try again.
      revoke(panel);
      panel = { kind: 'unloaded', message: failed.message, retry: () => void this.#load(key, fetchPanel) };
    }
    if (this.#panels.get(key)?.kind !== 'loading') return revoke(panel);
    this.#set(key, panel);
  }

  #selectSheet(key: string, sheet: number): void {
    const panel = this.#panels.get(key);
    if (panel?.kind === 'preview') this.#set(key, { ...panel, sheet });
  }

  #closeIfOpen(key: string): boolean {
    if (!this.#panels.has(key)) return false;
    this.#close(key);
    this.#host.requestUpdate();
    return true;
  }

  #close(key: string): void {
    revoke(this.#panels.get(key));
    this.#panels.delete(key);
  }

  #set(key: string, panel: PanelState): void {
    this.#panels = new Map(this.#panels).set(key, panel);
    this.#host.requestUpdate();
  }
}

function revoke(panel: PanelState | undefined): void {
  if (panel?.kind === 'preview' && panel.src?.startsWith('blob:')) URL.revokeObjectURL(panel.src);
}
