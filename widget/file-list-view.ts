import { html, nothing, type ReactiveController, type ReactiveControllerHost, type TemplateResult } from 'lit';
import { keyed } from 'lit/directives/keyed.js';
import { withoutBidiControls, type FileSummary, type FileVersionSummary } from '../contract/files-api.ts';
import { fileListStyles } from './file-list-styles.ts';
import { iconStyles } from './icon-styles.ts';
import { matching, runsOf, type Run } from './file-runs.ts';
import { extensionOf, formatIcon, kindOf } from './format-icons.ts';
import { folderOf, formatBytes, formatRelativeTime, nameParts } from './format.ts';
import { imageSource, releaseImageSource } from './image-source.ts';
import type { VisibleRowsController } from './visible-rows-controller.ts';

/** More files than this get a filter box. */
const FILTER_FROM = 6;
/** Images up to this size get a thumbnail (the file itself, drawn small); larger ones keep the icon. */
const THUMBNAIL_MAX_BYTES = 2_000_000;

export interface FileListOptions {
  rows: VisibleRowsController;
  /** Whether the viewer shows this file (else opening it downloads it). */
  canOpen(file: FileSummary): boolean;
  busy(id: string): boolean;
  download(file: FileSummary, version?: FileVersionSummary): void;
  /** The whole row's action: the file in the viewer (a download when it has no preview). */
  open(file: FileSummary): void;
  /** The bytes of a version, with the element's auth, for a thumbnail. */
  fetchBlob(version: FileVersionSummary): Promise<Blob>;
  /** Whether this version arrived while the list was shown (its row animates in, once), and that it did. */
  fresh(id: string): boolean;
  settled(id: string): void;
  find(id: string): FileSummary | undefined;
}

type Entry = { run: Run; open: boolean } | { file: FileSummary };

/** The list as the filter and the folds shape it, and what it was derived from. */
interface Shaped {
  made: readonly FileSummary[];
  given: readonly FileSummary[];
  filter: string;
  toggled: ReadonlySet<string>;
  entries: Entry[];
  shownMade: readonly FileSummary[];
  shownGiven: FileSummary[];
  shown: readonly FileSummary[];
}

/**
 * The file list at scale: grouped by the run that made the files (the newest open, the older
 * ones folded), a filter once there are more than a handful, one primary action per row
 * (Download) with the others in a menu, the whole row opening the file, names cut in the
 * middle so the extension stays, and image thumbnails fetched as rows come into view. A chunk
 * of its own in the script-tag build, imported with the first list: an empty chat never needs it.
 */
export class FileListView implements ReactiveController {
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #options: FileListOptions;
  #filter = '';
  /** Runs whose fold the user changed (the default: the newest open, the rest folded); replaced, never changed in place. */
  #toggled: ReadonlySet<string> = new Set<string>();
  /** The file whose row menu is open. */
  #menu: string | null = null;
  readonly #versionsOpen = new Set<string>();
  /** Thumbnails by version id: an object URL, or '' while loading or after a failure. */
  readonly #thumbnails = new Map<string, string>();
  #observer: IntersectionObserver | null = null;
  /** Icons in view waiting for their thumbnail, in the order they came into view; one loads at a time. */
  readonly #waiting = new Set<Element>();
  #loadingThumbnail = false;
  #shaped: Shaped | null = null;

  constructor(host: ReactiveControllerHost & HTMLElement, options: FileListOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
    const root = host.shadowRoot;
    // The element's own sheet is adopted already; this one joins it once, when this code loads.
    const sheets = [fileListStyles.styleSheet!, iconStyles.styleSheet!];
    if (root && !root.adoptedStyleSheets.includes(sheets[0]!))
      root.adoptedStyleSheets = [...root.adoptedStyleSheets, ...sheets];
  }

  hostConnected(): void {}

  hostUpdated(): void {
    // Thumbnails load as their rows come into view, once each.
    for (const icon of this.#host.shadowRoot?.querySelectorAll('[data-thumbnail]:not([data-seen])') ?? []) {
      icon.setAttribute('data-seen', '');
      this.#observer ??= new IntersectionObserver((entries) => {
        // An icon that leaves the view before its turn is not fetched: a fast scroll fetches only what stays.
        for (const entry of entries)
          if (entry.isIntersecting) this.#waiting.add(entry.target);
          else this.#waiting.delete(entry.target);
        this.#nextThumbnail();
      });
      this.#observer.observe(icon);
    }
  }

  hostDisconnected(): void {
    this.#observer?.disconnect();
    this.#observer = null;
    this.#waiting.clear();
    for (const url of this.#thumbnails.values()) releaseImageSource(url);
    this.#thumbnails.clear();
  }

  /** The files as the list shows them (runs open, the filter), for the viewer's arrow keys. */
  get shown(): readonly FileSummary[] {
    return this.#shaped?.shown ?? [];
  }

  /** The code's files, grouped by run (with the filter above), then the user's own. */
  render(made: readonly FileSummary[], given: readonly FileSummary[]): TemplateResult {
    const total = made.length + given.length;
    const { entries, shownMade, shownGiven } = this.#shape(made, given);
    const { rows, padding } = this.#options.rows.rows(entries, (entry, index) =>
      'run' in entry
        ? keyed(`run:${entry.run.key}`, this.#renderRun(entry.run, entry.open))
        : keyed(entry.file.path, this.#renderFile(entry.file, index)),
    );
    return html`${
      total >= FILTER_FROM
        ? html`<div part="filter"><input part="filter-input" type="search" placeholder="Filter files" aria-label="Filter files by name" .value=${this.#filter} @input=${this.#onFilter} @keydown=${this.#onFilterKey} /></div>`
        : nothing
    }
      ${entries.length ? html`<ul part="list" role="list" style=${padding}>${rows}</ul>` : nothing}
      ${
        shownGiven.length
          ? html`<h3 part="uploaded-heading">Your uploads</h3>
            <ul part="uploaded-list" role="list">
              ${shownGiven.map((file, i) => keyed(file.path, this.#renderFile(file, entries.length + i)))}
            </ul>`
          : nothing
      }
      ${
        this.#filter.trim() && !shownMade.length && !shownGiven.length
          ? html`<p part="message no-match">No file name holds “${this.#filter.trim()}”.</p>`
          : nothing
      }`;
  }

  /**
   * Groups, folds and filters the files again only when they, the filter or a fold changed:
   * an update that only scrolls (or loads a thumbnail, or ticks the clock) walks no files.
   */
  #shape(made: readonly FileSummary[], given: readonly FileSummary[]): Shaped {
    const last = this.#shaped;
    const filter = this.#filter;
    const toggled = this.#toggled;
    if (last && last.made === made && last.given === given && last.filter === filter && last.toggled === toggled)
      return last;
    const shownMade = matching(made, filter);
    const shownGiven = matching(given, filter);
    const runs = runsOf(shownMade);
    const entries: Entry[] = [];
    runs.forEach((run, i) => {
      // One run needs no heading; a filter opens every run it found something in.
      if (runs.length === 1) return entries.push(...run.files.map((file) => ({ file })));
      const open = filter.trim() !== '' || (i === 0) !== toggled.has(run.key);
      entries.push({ run, open });
      if (open) entries.push(...run.files.map((file) => ({ file })));
    });
    const shown = [...entries.flatMap((e) => ('file' in e ? [e.file] : [])), ...shownGiven];
    return (this.#shaped = { made, given, filter, toggled, entries, shownMade, shownGiven, shown });
  }

  #onFilter = (event: Event): void => {
    this.#filter = (event.target as HTMLInputElement).value;
    this.#host.requestUpdate();
  };

  #onFilterKey = (event: KeyboardEvent): void => {
    if (event.key !== 'Escape' || !this.#filter) return;
    this.#filter = '';
    this.#host.requestUpdate();
  };

  #renderRun(run: Run, open: boolean): TemplateResult {
    const newest = run.files[0]!;
    const count = `${run.files.length} ${run.files.length === 1 ? 'file' : 'files'}`;
    return html`<li part="run" class="run">
      <button part="run-toggle" type="button" aria-expanded=${open ? 'true' : 'false'} @click=${() => this.#toggleRun(run.key)}>
        <span class="chevron" aria-hidden="true"></span><span part="run-label">${run.label}</span>
        <span part="run-meta">${count} · ${this.#renderTime(newest.modifiedAt)}</span>
      </button>
    </li>`;
  }

  #toggleRun(key: string): void {
    const toggled = new Set(this.#toggled);
    if (!toggled.delete(key)) toggled.add(key);
    this.#toggled = toggled;
    this.#host.requestUpdate();
  }

  #renderFile(file: FileSummary, index: number): TemplateResult {
    const format = extensionOf(file);
    const kind = kindOf(format, file.mimeType);
    const folder = folderOf(file.path);
    const versions = file.versions ?? [];
    const openable = this.#options.canOpen(file);
    const menuId = `menu-${index}`;
    const menuOpen = this.#menu === file.id;
    const versionsOpen = this.#versionsOpen.has(file.path);
    const name = withoutBidiControls(file.name);
    const [head, tail] = nameParts(name);
    const thumbnailed = kind === 'image' && file.size <= THUMBNAIL_MAX_BYTES;
    const thumbnail = thumbnailed ? this.#thumbnails.get(file.id) : undefined;
    // The name is the row's own button: it opens the file (its ::after covers the row).
    return html`<li part="item" class=${this.#options.fresh(file.id) ? 'fresh' : ''} @animationend=${() => this.#options.settled(file.id)}>
      <div class="row">
        <span part="icon" ?data-thumbnail=${thumbnailed} data-id=${file.id}
          >${thumbnail ? html`<img part="thumbnail" src=${thumbnail} alt="" width="32" height="32" />` : formatIcon(format, kind)}</span>
        <div class="info">
          <span class="title"
            ><button part=${openable ? 'name preview-button' : 'name'} class="open" type="button"
              title=${openable ? `Open ${name}` : `Download ${name}`} aria-haspopup=${openable ? 'dialog' : nothing}
              @click=${() => this.#options.open(file)}
              ><bdi class="mid"><span class="head">${head}</span>${tail ? html`<span class="tail">${tail}</span>` : nothing}</bdi></button
            >${
              versions.length > 1
                ? html`<span part="version-badge" title="${versions.length} versions"
                  ><span aria-hidden="true">v${file.version}</span><span class="visually-hidden">, version ${file.version}</span></span
                >`
                : nothing
            }</span
          >
          ${folder ? html`<span part="folder" title="in ${folder}/">in ${folder}/</span>` : nothing}
          <span part="meta">${formatBytes(file.size)} · ${this.#renderTime(file.modifiedAt)}<span class="visually-hidden">
              · ${file.format}</span
            ></span>
        </div>
        <div class="actions">
          <button part="download-button" type="button" aria-label="Download ${file.name}" ?disabled=${this.#options.busy(file.id)}
            @click=${() => this.#options.download(file)}>Download</button>
          ${
            openable || versions.length > 1
              ? html`<button part="menu-button" type="button" aria-label="More actions for ${file.name}"
                  aria-expanded=${menuOpen ? 'true' : 'false'} aria-controls=${menuId} @click=${() => this.#toggleMenu(file.id)}
                  @keydown=${this.#onMenuKey}>⋯</button>
                <div part="menu" id=${menuId} role="group" aria-label="Actions for ${file.name}" ?hidden=${!menuOpen} @keydown=${this.#onMenuKey}>
                  ${
                    openable
                      ? html`<button part="open-button" type="button" aria-haspopup="dialog"
                          @click=${(e: Event) => this.#menuAction(e, () => this.#options.open(file))}>Open</button>`
                      : nothing
                  }
                  ${
                    versions.length > 1
                      ? html`<button part="versions-button" type="button" aria-expanded=${versionsOpen ? 'true' : 'false'}
                        @click=${(e: Event) => this.#menuAction(e, () => this.#toggleVersions(file.path))}>${versionsOpen ? 'Hide versions' : `All ${versions.length} versions`}</button>`
                      : nothing
                  }
                </div>`
              : nothing
          }
        </div>
      </div>
      ${versions.length > 1 ? this.#renderVersions(file, versions) : nothing}
    </li>`;
  }

  #toggleMenu(id: string): void {
    this.#menu = this.#menu === id ? null : id;
    this.#host.requestUpdate();
    if (this.#menu)
      void this.#host.updateComplete.then(() =>
        this.#host.shadowRoot?.querySelector<HTMLElement>('[part~="menu"]:not([hidden]) button')?.focus(),
      );
  }

  /** A menu item acts once the menu has closed and its button has the focus again (where a viewer returns it). */
  #menuAction(event: Event, act: () => unknown): void {
    (event.currentTarget as Element).closest('.actions')?.querySelector<HTMLElement>('[part~="menu-button"]')?.focus();
    this.#menu = null;
    this.#host.requestUpdate();
    void act();
  }

  /** Escape: the menu closes, focus back on its button. */
  #closeMenu(): void {
    const id = this.#menu;
    if (!id) return;
    this.#menu = null;
    this.#host.requestUpdate();
    this.#host.shadowRoot
      ?.querySelector(`[data-id="${CSS.escape(id)}"]`)
      ?.closest('[part~="item"]')
      ?.querySelector<HTMLElement>('[part~="menu-button"]')
      ?.focus();
  }

  #onMenuKey = (event: KeyboardEvent): void => {
    if (event.key === 'Escape' && this.#menu) {
      event.stopPropagation();
      this.#closeMenu();
    }
  };

  #toggleVersions(path: string): void {
    if (!this.#versionsOpen.delete(path)) this.#versionsOpen.add(path);
    this.#host.requestUpdate();
  }

  #renderVersions(file: FileSummary, versions: FileVersionSummary[]): TemplateResult {
    const open = this.#versionsOpen.has(file.path);
    return html`<details part="versions" ?open=${open} @toggle=${(e: Event) => this.#syncVersions(file.path, e)}>
      <summary>${versions.length} versions</summary>
      <ul part="version-list" role="list">
        ${versions.map(
          (version) => html`<li part="version">
            <span class="version-meta"
              >Version ${version.version}${version.id === file.id ? ' (latest)' : ''} · ${formatBytes(version.size)} ·
              ${this.#renderTime(version.modifiedAt)}</span
            >
            <button part="version-download-button" type="button" aria-label="Download ${file.name}, version ${version.version}"
              ?disabled=${this.#options.busy(version.id)} @click=${() => this.#options.download(file, version)}>Download</button>
          </li>`,
        )}
      </ul>
    </details>`;
  }

  /** The summary's own toggle and the menu's item say the same thing. */
  #syncVersions(path: string, event: Event): void {
    const open = (event.target as HTMLDetailsElement).open;
    if (open === this.#versionsOpen.has(path)) return;
    if (open) this.#versionsOpen.add(path);
    else this.#versionsOpen.delete(path);
    this.#host.requestUpdate();
  }

  #renderTime(iso: string): TemplateResult {
    const date = new Date(iso);
    return html`<time datetime=${iso} title=${Number.isNaN(date.getTime()) ? '' : date.toLocaleString()}>${formatRelativeTime(date)}</time>`;
  }

  /** Loads the thumbnail of the icon that has waited longest, if none is loading. */
  #nextThumbnail(): void {
    if (this.#loadingThumbnail) return;
    const [icon] = this.#waiting;
    if (!icon) return;
    this.#waiting.delete(icon);
    this.#observer?.unobserve(icon);
    const id = icon.getAttribute('data-id');
    const file = id && !this.#thumbnails.has(id) ? this.#options.find(id) : undefined;
    if (!id || !file) return this.#nextThumbnail();
    this.#thumbnails.set(id, '');
    this.#loadingThumbnail = true;
    this.#options
      .fetchBlob(file)
      .then(imageSource)
      .then(
        (src) => {
          this.#thumbnails.set(id, src);
          this.#host.requestUpdate();
        },
        // The icon stays: a thumbnail is a nicety, and the row says the rest.
        () => {},
      )
      .finally(() => {
        this.#loadingThumbnail = false;
        this.#nextThumbnail();
      });
  }
}
