import { css, html, render, type CSSResult } from 'lit';
import { withoutBidiControls, type FileSummary } from '../contract/files-api.ts';
import { extensionOf, formatIcon, kindOf } from './format-icons.ts';
import { formatBytes, nameParts } from './format.ts';
import { iconStyles } from './icon-styles.ts';
import { sandboxPath } from './sandbox-path.ts';

export interface SandboxChipsOptions {
  find(path: string): FileSummary | undefined;
  download(file: FileSummary): void;
  /** The file in the viewer (a download when the viewer does not show its format). */
  open(file: FileSummary): void;
}

/** Marks a link the chips replaced (hidden, kept in place: the page's own code still owns it). */
const MARK = 'data-generated-files-chip';

/** A chip's look: the element's custom properties and defaults, light and dark; the page's CSS stays out. */
const chipStyles: CSSResult = css`
  :host {
    --_color: var(--generated-files-color, #1f2328);
    --_muted: var(--generated-files-muted-color, #59636e);
    --_surface: var(--generated-files-surface, #f6f8fa);
    --_border: var(--generated-files-border-color, #d1d9e0);
    --_accent: var(--generated-files-accent, #0969da);
    --_background: var(--generated-files-background, #fff);
    --_font: var(--generated-files-font, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif);
    display: inline-flex;
    max-width: 100%;
    vertical-align: middle;
    margin: 0.15em 0;
    font: 0.875rem/1.4 var(--_font);
    color: var(--_color);
  }
  @media (prefers-color-scheme: dark) {
    :host {
      --_color: var(--generated-files-color, #f0f6fc);
      --_muted: var(--generated-files-muted-color, #9198a1);
      --_surface: var(--generated-files-surface, #151b23);
      --_border: var(--generated-files-border-color, #3d444d);
      --_accent: var(--generated-files-accent, #4493f8);
      --_background: var(--generated-files-background, #0d1117);
    }
  }
  [part~='chip'] {
    display: inline-flex;
    align-items: center;
    max-width: 100%;
    min-width: 0;
    border: 1px solid var(--_border);
    border-radius: 8px;
    background: var(--_surface);
  }
  button {
    font: inherit;
    color: inherit;
    cursor: pointer;
    border: 0;
    background: none;
    display: inline-flex;
    align-items: center;
    gap: 0.5em;
    min-height: 2.5rem;
    padding: 0.25em 0.6em;
    border-radius: 8px;
  }
  button:hover {
    background: var(--_background);
  }
  button:focus-visible {
    outline: 2px solid var(--_accent);
    outline-offset: 1px;
  }
  [part~='chip-open'] {
    min-width: 0;
    text-align: start;
  }
  .text {
    display: flex;
    flex-direction: column;
    min-width: 0;
  }
  .mid {
    display: flex;
    min-width: 0;
    white-space: nowrap;
    font-weight: 600;
  }
  .head {
    overflow: hidden;
    text-overflow: ellipsis;
  }
  .tail {
    flex: none;
  }
  [part~='chip-size'] {
    color: var(--_muted);
    font-size: 0.85em;
  }
  [part~='chip-download'] {
    flex: none;
    color: var(--_accent);
    border-inline-start: 1px solid var(--_border);
    border-radius: 0 8px 8px 0;
  }
  .icon {
    width: 1.75rem;
    height: 1.75rem;
    flex: none;
  }
  @media (pointer: coarse) {
    button {
      min-height: 44px;
      min-width: 44px;
    }
  }
`;

/**
 * Turns the page's `sandbox:/mnt/data/...` links into file chips, as chat apps show files in an
 * answer: icon, name (cut in the middle), size, a one-click download, and the file in the viewer
 * on a click. Only for links whose file this chat has; the others are left as they are, and a
 * link whose file arrives later becomes a chip then. Each chip is a span with a shadow root of its
 * own right after its link, which stays in the page, hidden, so a page's framework that owns the
 * link finds it where it left it. Links added later (an answer streaming in) are watched for.
 */
export class SandboxChips {
  readonly #options: SandboxChipsOptions;
  readonly #chips = new Map<HTMLAnchorElement, HTMLElement>();
  #observer: MutationObserver | null = null;
  #document: Document | null = null;

  constructor(options: SandboxChipsOptions) {
    this.#options = options;
  }

  /** Starts (or stops, with null) chipping links in this document, and brings every chip up to date. */
  sync(document: Document | null): void {
    if (document !== this.#document) {
      this.#observer?.disconnect();
      this.#observer = null;
      for (const link of [...this.#chips.keys()]) this.#unchip(link);
      this.#document = document;
      if (document) {
        this.#observer = new MutationObserver(() => this.#scan());
        this.#observer.observe(document.body, { childList: true, subtree: true });
      }
    }
    this.#scan();
  }

  #scan(): void {
    const document = this.#document;
    if (!document) return;
    for (const [link, chip] of this.#chips) if (!link.isConnected || !chip.isConnected) this.#unchip(link);
    for (const link of document.querySelectorAll<HTMLAnchorElement>('a[href^="sandbox:"]')) {
      const path = sandboxPath(link.getAttribute('href') ?? '');
      const file = path === null ? undefined : this.#options.find(path);
      if (file) this.#chip(link, file);
      else if (this.#chips.has(link)) this.#unchip(link);
    }
  }

  #chip(link: HTMLAnchorElement, file: FileSummary): void {
    let chip = this.#chips.get(link);
    if (!chip) {
      chip = link.ownerDocument.createElement('span');
      chip.setAttribute('data-generated-files-chip-for', link.getAttribute('href') ?? '');
      const root = chip.attachShadow({ mode: 'open' });
      root.adoptedStyleSheets = [iconStyles.styleSheet!, chipStyles.styleSheet!];
      this.#chips.set(link, chip);
      // Both changes are the chips' own: the observer's next round finds nothing new to do.
      link.after(chip);
      link.setAttribute(MARK, '');
      link.hidden = true;
    }
    const name = withoutBidiControls(file.name);
    const [head, tail] = nameParts(name);
    const format = extensionOf(file);
    render(
      html`<span part="chip" role="group" aria-label=${name}
        ><button part="chip-open" type="button" title=${name} aria-haspopup="dialog" @click=${() => this.#options.open(file)}
          >${formatIcon(format, kindOf(format, file.mimeType))}<span class="text"
            ><bdi class="mid"><span class="head">${head}</span>${tail ? html`<span class="tail">${tail}</span>` : ''}</bdi
            ><span part="chip-size">${formatBytes(file.size)}</span></span
          ></button
        ><button part="chip-download" type="button" aria-label="Download ${name}" title="Download" @click=${() => this.#options.download(file)}
          >${DOWNLOAD}</button
        ></span
      >`,
      chip.shadowRoot!,
    );
  }

  #unchip(link: HTMLAnchorElement): void {
    this.#chips.get(link)?.remove();
    this.#chips.delete(link);
    if (link.hasAttribute(MARK)) {
      link.removeAttribute(MARK);
      link.hidden = false;
    }
  }
}

const DOWNLOAD = html`<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false"><path d="M12 3v12m0 0l-5-5m5 5l5-5M5 20h14" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
