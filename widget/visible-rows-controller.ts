import { nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';

/** Below this many rows everything is rendered: windowing would only cost. */
const WINDOW_FROM = 150;
/** Rows rendered beyond each edge of the viewport, so a fast scroll shows no gap. */
const OVERSCAN = 10;
/** Rows per block: the window starts and ends on block edges. */
const BLOCK = 16;
const GUESSED_ROW_PX = 56;

/** What to put in the list: its children, and the padding standing in for the rows left out. */
export interface VisibleRows {
  rows: unknown[];
  padding: string;
}

/**
 * Renders only the rows on screen once a list is long: the rest are replaced by padding of
 * their estimated height, so the scroll bar and the page stay as they would be. A hand-made
 * window (no virtualizer dependency) keeps the script-tag bundle small. Any scroll on the page
 * (capture phase) moves the window; the row height is read then, when layout is clean, never
 * in the update path.
 */
export class VisibleRowsController implements ReactiveController {
  #start = 0;
  #end = 0;
  #rowPx = GUESSED_ROW_PX;
  #measured = false;
  #count = 0;
  readonly #host: ReactiveControllerHost & HTMLElement;
  readonly #list: () => HTMLElement | null;

  constructor(host: ReactiveControllerHost & HTMLElement, list: () => HTMLElement | null) {
    this.#host = host;
    this.#list = list;
    host.addController(this);
  }

  hostConnected(): void {
    addEventListener('scroll', this.#onScroll, { capture: true, passive: true });
  }

  hostDisconnected(): void {
    removeEventListener('scroll', this.#onScroll, { capture: true });
  }

  hostUpdated(): void {
    // Once, so the padding matches real rows before the first scroll; scrolls keep it current.
    if (this.#measured || this.#count < WINDOW_FROM) return;
    const px = this.#rowHeight();
    if (!px) return;
    this.#measured = true;
    if (this.#setRowPx(px)) this.#host.requestUpdate();
  }

  /**
   * The rows to render of `items`, in blocks of `BLOCK` rows. Lit matches an array's items by
   * position, so block `b` stays at position `b` however the window moves: rows that stay on
   * screen keep their DOM (focus, open details, no new animation) and only rows coming into
   * view are made. Blocks past the window are left out; blocks before it are `nothing`.
   */
  rows<T>(items: readonly T[], row: (item: T, index: number) => unknown): VisibleRows {
    const count = (this.#count = items.length);
    let start = 0;
    let end = count;
    if (count >= WINDOW_FROM) {
      if (this.#end === 0) this.#measure();
      start = Math.min(Math.floor(this.#start / BLOCK) * BLOCK, count);
      end = Math.min(Math.ceil(this.#end / BLOCK) * BLOCK, count);
    }
    const rows: unknown[] = [];
    for (let from = 0; from < end; from += BLOCK)
      rows.push(from < start ? nothing : items.slice(from, from + BLOCK).map((item, i) => row(item, from + i)));
    const before = start * this.#rowPx;
    const after = (count - end) * this.#rowPx;
    return { rows, padding: before || after ? `padding-block:${before}px ${after}px` : '' };
  }

  /** A rendered row's height, from the first; an open preview makes one row taller, which the padding tolerates. */
  #rowHeight(): number {
    return this.#list()?.querySelector<HTMLElement>(':scope > li')?.offsetHeight ?? 0;
  }

  /** Takes a new row height (0: none measured); true when it changed, with the window moved to match. */
  #setRowPx(px: number): boolean {
    if (!px || px === this.#rowPx) return false;
    this.#rowPx = px;
    this.#measure();
    return true;
  }

  #measure(): boolean {
    const top = this.#list()?.getBoundingClientRect().top ?? this.#host.getBoundingClientRect().top;
    const first = Math.max(0, Math.floor(-top / this.#rowPx) - OVERSCAN);
    const end = first + Math.ceil(innerHeight / this.#rowPx) + 2 * OVERSCAN;
    const changed = first !== this.#start || end !== this.#end;
    this.#start = first;
    this.#end = end;
    return changed;
  }

  #onScroll = (): void => {
    if (this.#count < WINDOW_FROM) return;
    // Layout is clean when a scroll event is handled: these reads force nothing.
    if (this.#setRowPx(this.#rowHeight()) || this.#measure()) this.#host.requestUpdate();
  };
}
