import { html, nothing, svg, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import type { FileSummary } from '../contract/files-api.ts';
import { GeneratedFilesUploadEvent, type GeneratedFilesUploadDetail } from './events.ts';
import { FilesApiError, errorFrom, type FilesClient } from './files-client.ts';
import { formatBytes, nameParts } from './format.ts';
import { uploadsStyles } from './uploads-styles.ts';
import type { UploadRequest, UploadTransfer } from './upload-transfer.ts';

export { xhrUpload } from './upload-transfer.ts';

const PAPERCLIP = svg`<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path d="M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round"/></svg>`;

/** One file given by the user, from the pick (or drop, or paste) to the sidecar's answer. */
export interface Upload {
  readonly file: File;
  readonly path: string;
  sent: number;
  /** `conflict`: the path holds a file; the user decides whether to replace it. */
  state: 'uploading' | 'done' | 'error' | 'conflict';
  message: string;
  abort?: () => void;
}

export interface UploadsOptions {
  /** Whether drops and pastes on the element are uploads (the `uploads` attribute). */
  enabled(): boolean;
  client(): FilesClient;
  send(request: UploadRequest): UploadTransfer;
  announce(message: string): void;
  /** Whether a file already exists at this path, as far as the list shows. */
  exists(path: string): boolean;
  uploaded(summary: FileSummary): void;
}

/**
 * Gives the user's files to the code: each goes to the chat's /mnt/data through the upload
 * route, with progress, cancel, a message for each refusal, and a question before replacing.
 * It renders its own area (folder, picker, one row per upload), so that all of it loads in
 * one chunk, only on pages that use uploads.
 */
export class UploadsController implements ReactiveController {
  uploads: readonly Upload[] = [];
  /** The folder under /mnt/data the next files go to; '' for the top. */
  folder = '';
  /** Files are dragged over the element. */
  dragging = false;
  readonly #host: ReactiveControllerHost & EventTarget;
  readonly #options: UploadsOptions;

  constructor(host: ReactiveControllerHost & EventTarget, options: UploadsOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  hostConnected(): void {
    const root = (this.#host as ReactiveControllerHost & { renderRoot?: Node }).renderRoot;
    if (!(root instanceof ShadowRoot)) return;
    // The element's own sheet is adopted already; this one joins it once, when this code loads.
    const sheet = uploadsStyles.styleSheet;
    if (sheet && !root.adoptedStyleSheets.includes(sheet))
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
    // On the shadow root, so a drop anywhere in the element counts; adding the same listener twice is a no-op.
    root.addEventListener('dragover', this.#onDragOver);
    root.addEventListener('dragleave', this.#onGive);
    root.addEventListener('drop', this.#onGive);
    root.addEventListener('paste', this.#onGive);
  }

  hostDisconnected(): void {
    for (const upload of this.uploads) upload.abort?.();
  }

  /** Starts one upload per file, into the chosen folder. */
  add(files: Iterable<File>): void {
    const folder = this.folder.trim().replace(/^\/+|\/+$/g, '');
    for (const file of files) {
      const upload: Upload = {
        file,
        path: folder ? `${folder}/${file.name}` : file.name,
        sent: 0,
        state: 'uploading',
        message: '',
      };
      if (!this.#fire(upload, { phase: 'start' })) continue;
      this.uploads = [...this.uploads, upload];
      if (this.#options.exists(upload.path)) this.#conflict(upload);
      else void this.#send(upload, false);
    }
  }

  /** The user chose to replace the existing file. */
  replace(upload: Upload): void {
    void this.#send(upload, true);
  }

  cancel(upload: Upload): void {
    if (upload.abort) upload.abort();
    else this.dismiss(upload);
  }

  dismiss(upload: Upload): void {
    this.uploads = this.uploads.filter((u) => u !== upload);
    this.#host.requestUpdate();
  }

  /**
   * The upload area, as chat apps have it: a paperclip (the native picker, the keyboard's way
   * in), drops anywhere on the element, one chip per upload with its progress, and the folder
   * field behind an "Advanced" disclosure.
   */
  render(): TemplateResult {
    return html`<div part="uploads">
      <label part="upload-button" title="Attach files">${PAPERCLIP}<span>Attach files</span
        ><input class="visually-hidden" type="file" multiple @change=${this.#onPick} /></label>
      <span part="upload-hint">${this.dragging ? 'Drop to upload' : 'or drop files here'}</span>
      <details part="upload-advanced" ?open=${this.folder !== ''}>
        <summary>Advanced</summary>
        <label>Folder in /mnt/data <input part="upload-folder" type="text" placeholder="top" .value=${this.folder}
          @input=${(e: Event) => (this.folder = (e.target as HTMLInputElement).value)} /></label>
      </details>
      ${
        this.uploads.length
          ? html`<ul part="upload-chips" role="list">
            ${this.uploads.map((u) => this.#renderUpload(u))}
          </ul>`
          : nothing
      }
    </div>`;
  }

  /** One chip: the name (cut in the middle), its progress or its outcome, and its buttons. */
  #renderUpload(upload: Upload): TemplateResult {
    const uploading = upload.state === 'uploading';
    const [head, tail] = nameParts(upload.file.name);
    return html`<li part="upload" data-state=${upload.state}>
      <span class="chip-name" title=${upload.path}><bdi class="mid"><span class="head">${head}</span>${
        tail ? html`<span class="tail">${tail}</span>` : nothing
      }</bdi></span>
      ${
        uploading
          ? html`<progress part="upload-progress" aria-label="Uploading ${upload.file.name}" max=${upload.file.size || 1}
              value=${upload.sent}></progress
            ><span class="chip-size">${formatBytes(upload.sent)} of ${formatBytes(upload.file.size)}</span>`
          : html`<span class="chip-message ${upload.state === 'error' ? 'error' : ''}">${upload.message}</span>`
      }
      ${
        upload.state === 'conflict'
          ? html`<button part="upload-replace-button" type="button" @click=${() => this.replace(upload)}>Replace</button>`
          : nothing
      }
      <button part="upload-cancel-button" type="button" aria-label="${uploading ? 'Cancel' : 'Dismiss'} ${upload.file.name}"
        title=${uploading ? 'Cancel' : 'Dismiss'} @click=${() => this.cancel(upload)}>×</button>
    </li>`;
  }

  #onDragOver = (event: Event): void => {
    if (!this.#options.enabled() || !(event as DragEvent).dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    this.#drag(true);
  };

  /** A drop or a paste (both carry files the same way), or the drag leaving. */
  #onGive = (event: Event): void => {
    this.#drag(false);
    const files = ((event as DragEvent).dataTransfer ?? (event as ClipboardEvent).clipboardData)?.files;
    if (event.type === 'dragleave' || !this.#options.enabled() || !files?.length) return;
    event.preventDefault();
    this.add(files);
  };

  #drag(on: boolean): void {
    if (this.dragging === on) return;
    this.dragging = on;
    this.#host.requestUpdate();
  }

  #onPick = (event: Event): void => {
    const input = event.target as HTMLInputElement;
    this.add(input.files ?? []);
    // The same file picked again is a new upload.
    input.value = '';
  };

  async #send(upload: Upload, replace: boolean): Promise<void> {
    upload.state = 'uploading';
    upload.sent = 0;
    upload.message = '';
    this.#options.announce(`Uploading ${upload.file.name}…`);
    this.#host.requestUpdate();
    const client = this.#options.client();
    try {
      let answer = await this.#transfer(client, upload, replace, false);
      if (answer.status === 401) answer = await this.#transfer(client, upload, replace, true);
      // A Response, so the refusal is read as every other answer of the sidecar is.
      const response = new Response(answer.body, { status: answer.status });
      if (!response.ok) throw await errorFrom(response);
      const summary = (await response.json()) as FileSummary;
      upload.state = 'done';
      upload.sent = upload.file.size;
      upload.message = 'Uploaded';
      this.#options.uploaded(summary);
      // After the list's own "New file" announcement, so this one is what is heard last.
      this.#options.announce(`Uploaded ${upload.file.name} to /mnt/data/${summary.path}`);
      this.#fire(upload, { phase: 'done', summary });
      // Shown in the list now; the row here has done its job.
      this.dismiss(upload);
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      if (err instanceof FilesApiError && err.code === 'ERR_UPLOAD_CONFLICT') {
        this.#conflict(upload);
      } else {
        upload.state = 'error';
        upload.message = refusal(upload, err);
        this.#options.announce(upload.message);
      }
      this.#fire(upload, { phase: 'error', error: err });
    } finally {
      delete upload.abort;
      this.#host.requestUpdate();
    }
  }

  async #transfer(client: FilesClient, upload: Upload, replace: boolean, refresh: boolean) {
    const token = await client.token(refresh);
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    if (token) headers.Authorization = `Bearer ${token}`;
    // Create only, unless the user said to replace: the sidecar answers 412 if someone was first.
    if (!replace) headers['If-None-Match'] = '*';
    const transfer = this.#options.send({
      url: client.uploadUrl(upload.path),
      body: upload.file,
      headers,
      onProgress: (sent) => {
        upload.sent = sent;
        this.#fire(upload, { phase: 'progress' });
        this.#host.requestUpdate();
      },
    });
    upload.abort = transfer.abort;
    return transfer.response;
  }

  #conflict(upload: Upload): void {
    upload.state = 'conflict';
    upload.message = `${upload.path} exists. Replace it?`;
    this.#options.announce(upload.message);
    this.#host.requestUpdate();
  }

  #fire(upload: Upload, detail: Pick<GeneratedFilesUploadDetail, 'phase' | 'summary' | 'error'>): boolean {
    return this.#host.dispatchEvent(
      new GeneratedFilesUploadEvent({
        file: upload.file,
        path: upload.path,
        sent: upload.sent,
        total: upload.file.size,
        ...detail,
      }),
    );
  }
}

/** A message a person can act on, for each refusal the sidecar gives. */
function refusal(upload: Upload, error: Error): string {
  const name = upload.file.name;
  if (error.name === 'AbortError') return `${name}: canceled.`;
  if (!(error instanceof FilesApiError)) return `${name}: ${error.message}`;
  const code = error.code;
  const limit = /(\d+) bytes/.exec(error.message)?.[1];
  // The sidecar's message names bytes; people read kB and MB.
  return code === 'ERR_UPLOAD_TOO_LARGE'
    ? `${name} is too large: the limit is ${formatBytes(Number(limit))}.`
    : code === 'ERR_QUOTA_EXCEEDED'
      ? `${name} does not fit in this chat's quota.`
      : `${name} refused: ${error.message}`;
}
