import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { FileSummary } from '../contract/files-api.ts';
import { SandboxChips } from './sandbox-chips.ts';
import { sandboxPath } from './sandbox-path.ts';

export interface SandboxLinksOptions {
  enabled(): boolean;
  /** Whether the page's sandbox links become file chips (the `sandbox-chips` attribute). */
  chips(): boolean;
  find(path: string): FileSummary | undefined;
  download(file: FileSummary): void;
  open(file: FileSummary): void;
}

/**
 * With `sandbox-chips`, shows those links as file chips (sandbox-chips.ts). Handles the page's `sandbox:/mnt/data/...` links (which lead nowhere in a browser) by
 * downloading this chat's file, with one capture-phase click listener on the document
 * while enabled and connected. A chunk of its own in the script-tag build, imported when
 * `sandbox-links` is first set: most pages never use it.
 */
export class SandboxLinksController implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #options: SandboxLinksOptions;
  #listening: Document | null = null;
  readonly #chips: SandboxChips;

  constructor(host: ReactiveControllerHost & HTMLElement, options: SandboxLinksOptions) {
    this.#host = host;
    this.#options = options;
    this.#chips = new SandboxChips(options);
    host.addController(this);
  }

  // Not hostConnected: a reconnected element restarts its load, and the update that follows syncs.
  hostUpdated(): void {
    this.#sync();
  }

  hostDisconnected(): void {
    this.#sync();
  }

  #sync(): void {
    // Every update: a file that arrived may be one a link names.
    this.#chips.sync(this.#host.isConnected && this.#options.chips() ? this.#host.ownerDocument : null);
    const wanted = this.#host.isConnected && this.#options.enabled() ? this.#host.ownerDocument : null;
    if (wanted === this.#listening) return;
    this.#listening?.removeEventListener('click', this.#onClick, true);
    wanted?.addEventListener('click', this.#onClick, true);
    this.#listening = wanted;
  }

  // Capture phase: still sees clicks that a markdown renderer stops from bubbling.
  #onClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0) return;
    const link = event
      .composedPath()
      .find((node): node is Element => node instanceof Element && node.localName === 'a' && node.hasAttribute('href'));
    const path = link ? sandboxPath(link.getAttribute('href') ?? '') : null;
    if (path === null) return;
    const file = this.#options.find(path);
    // Another <generated-files> on the page may hold it: leave the click alone.
    if (!file) return;
    event.preventDefault();
    this.#options.download(file);
  };
}
