import type { ReactiveController, ReactiveControllerHost } from 'lit';

/** Below this many rows everything is rendered: windowing would only cost. */
const WINDOW_FROM = 150;
/** Rows rendered beyond each edge of the viewport, so a fast scroll shows no gap. */
const OVERSCAN = 10;
const GUESSED_ROW_PX = 56;

/**
 * Renders only the rows on screen once a list is long: the rest are replaced by padding of
 * their estimated height, so the scroll bar and the page stay as they would be. A hand-made
 * window (no virtualizer dependency) keeps the script-tag bundle small. Rows are measured
 * after each render; any scroll on the page (capture phase) moves the window.
 */
export class VisibleRowsController implements ReactiveController {
  #start = 0;
  #end = 0;
  #rowPx = GUESSED_ROW_PX;
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
    const first = this.#list()?.querySelector<HTMLElement>(':scope > li');
    // Measured once rows exist; an open preview makes one row taller, which the padding tolerates.
    if (first && this.#count >= WINDOW_FROM && first.offsetHeight > 0) this.#rowPx = first.offsetHeight;
  }

  /** The rows to render of `count`, and the padding standing in for the rest. */
  range(count: number): { start: number; end: number; before: number; after: number } {
    this.#count = count;
    if (count < WINDOW_FROM) return { start: 0, end: count, before: 0, after: 0 };
    if (this.#end === 0) this.#measure();
    const start = Math.min(this.#start, count);
    const end = Math.min(this.#end, count);
    return { start, end, before: start * this.#rowPx, after: (count - end) * this.#rowPx };
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
    if (this.#count >= WINDOW_FROM && this.#measure()) this.#host.requestUpdate();
  };
}
