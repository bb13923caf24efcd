import type { ReactiveControllerHost } from 'lit';
import { GeneratedFilesDownloadEvent, type GeneratedFilesDownloadDetail } from './events.ts';
import type { FilesClient } from './files-client.ts';
import { withoutBidiControls } from '../contract/files-api.ts';

export interface DownloadsOptions {
  client(): FilesClient;
  announce(message: string): void;
  /** Bytes above which a download goes through the browser's download manager. */
  linkThreshold(): number;
  /** A download failed before the browser took it over: say why (the host page stays put). */
  failed(name: string, error: unknown): void;
}

export interface DownloadTarget {
  detail: GeneratedFilesDownloadDetail;
  /** The version's id, or null for the zip: what a link is minted for. */
  fileId: string | null;
  /** Bytes, when known: decides between the Blob path and a link. */
  size: number;
  /** What is busy meanwhile (a version id, or `archive`). */
  busyKey: string;
}

/**
 * Saves files. Small ones are fetched with the token as a Blob and saved under their real
 * name (works cross-origin, no page click handler sees it). Big ones never enter the page:
 * a plain link, with a short-lived token for that one version, goes to the browser's own
 * download manager, which shows its own progress.
 */
export class DownloadsController {
  busy: ReadonlySet<string> = new Set();
  readonly #host: ReactiveControllerHost & EventTarget;
  readonly #options: DownloadsOptions;

  constructor(host: ReactiveControllerHost & EventTarget, options: DownloadsOptions) {
    this.#host = host;
    this.#options = options;
  }

  async save({ detail, fileId, size, busyKey }: DownloadTarget): Promise<void> {
    if (!this.#host.dispatchEvent(new GeneratedFilesDownloadEvent(detail))) return;
    const { url, name } = detail;
    this.#setBusy(busyKey, true);
    this.#options.announce(`Downloading ${name}…`);
    const client = this.#options.client();
    try {
      if (size > this.#options.linkThreshold()) {
        clickDownload((await client.link(fileId)).url, name);

        return;
      }
      const blob = await client.blob(url);
      const objectUrl = URL.createObjectURL(blob);
      clickDownload(objectUrl, name);
      // The browser has taken the bytes by the time the click returns; keep
      // the URL a little longer for slow save dialogs.
      setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
      this.#options.announce(`Downloaded ${name}`);
    } catch (error) {
      // Never a plain link to the sidecar here: cross-origin, the browser ignores `download`
      // and navigates the whole host page (to its error page when the sidecar is down).
      this.#options.failed(name, error);
    } finally {
      this.#setBusy(busyKey, false);
    }
  }

  #setBusy(key: string, on: boolean): void {
    const busy = new Set(this.busy);
    if (on) busy.add(key);
    else busy.delete(key);
    this.busy = busy;
    this.#host.requestUpdate();
  }
}

/**
 * Saves through a detached link, so page-level click handlers never see it. A URL of another
 * origin (a short-lived link to the sidecar) opens in a hidden frame of its own: the browser
 * ignores `download` across origins and would navigate the host page itself, to an error page
 * if the sidecar went away; in the frame, an attachment downloads and an error stays unseen.
 */
function clickDownload(href: string, name: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = withoutBidiControls(name);
  link.rel = 'noopener';
  if (link.origin !== location.origin && !href.startsWith('blob:')) {
    let frame = document.querySelector<HTMLIFrameElement>('iframe[name=generated-files-download]');
    if (!frame) {
      frame = document.createElement('iframe');
      frame.name = 'generated-files-download';
      frame.hidden = true;
      document.body.append(frame);
    }
    link.target = frame.name;
  }
  link.click();
}
