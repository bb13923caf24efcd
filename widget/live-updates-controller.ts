import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { FileSummary, SkippedFile } from '../contract/files-api.ts';
import { withToken, type FilesClient } from './files-client.ts';

/** How the list is kept current: not at all, an open or opening stream, or polling after it dropped. */
export type LiveState = 'off' | 'connecting' | 'open' | 'polling';

const MAX_POLL_DELAY = 60_000;

export interface LiveUpdatesOptions {
  client(): FilesClient;
  /** Whether live updates are wanted now (`live` not `off`, connected, a chat set). */
  wanted(): boolean;
  pollInterval(): number;
  /** A quiet list request that merges what changed (catch-up on open, and each poll). */
  refresh(): Promise<void>;
  onFile(file: FileSummary): void;
  onSkipped(skipped: SkippedFile): void;
}

/**
 * Keeps the list current: an EventSource on the chat's events, and polling with backoff and
 * jitter while the stream is down, then a fresh stream with a fresh token.
 */
export class LiveUpdatesController implements ReactiveController {
  state: LiveState = 'off';
  readonly #host: ReactiveControllerHost;
  readonly #options: LiveUpdatesOptions;
  #source: EventSource | null = null;
  #generation = 0;
  #pollTimer: ReturnType<typeof setTimeout> | undefined;
  #pollAttempt = 0;

  constructor(host: ReactiveControllerHost, options: LiveUpdatesOptions) {
    this.#host = host;
    this.#options = options;
    host.addController(this);
  }

  /** A stream is open or opening, or a poll is scheduled. */
  get running(): boolean {
    return this.#source !== null || this.#pollTimer !== undefined;
  }

  hostDisconnected(): void {
    this.stop();
  }

  async start(): Promise<void> {
    if (!this.#options.wanted() || this.#source) return;
    const generation = ++this.#generation;
    this.#set('connecting');
    let url: string;
    try {
      const client = this.#options.client();
      url = withToken(client.eventsUrl, await client.token(false));
    } catch {
      if (generation === this.#generation) this.#schedulePoll();
      return;
    }
    if (generation !== this.#generation) return;

    const source = new EventSource(url);
    this.#source = source;
    source.addEventListener('open', () => {
      this.#set('open');
      this.#pollAttempt = 0;
      // Catch up on what happened between the list (or the last poll) and now.
      void this.#options.refresh();
    });
    source.addEventListener('file', (event) => parseEvent(event, this.#options.onFile));
    source.addEventListener('skipped', (event) => parseEvent(event, this.#options.onSkipped));
    source.addEventListener('error', () => {
      // EventSource retries on its own, but with a stale token and without
      // backoff; take over: poll, then open a fresh stream.
      if (this.#source !== source) return;
      source.close();
      this.#source = null;
      this.#schedulePoll();
    });
  }

  stop(): void {
    this.#generation++;
    this.#source?.close();
    this.#source = null;
    clearTimeout(this.#pollTimer);
    this.#pollTimer = undefined;
    this.#pollAttempt = 0;
    this.#set('off');
  }

  #schedulePoll(): void {
    this.#set('polling');
    const base = Math.max(this.#options.pollInterval() || 0, 50);
    const delay = Math.min(base * 2 ** this.#pollAttempt, MAX_POLL_DELAY);
    this.#pollAttempt++;
    // Jitter, so a sidecar restart is not met by every open page at once.
    const jittered = delay * (0.85 + Math.random() * 0.3);
    const generation = this.#generation;
    this.#pollTimer = setTimeout(async () => {
      this.#pollTimer = undefined;
      await this.#options.refresh();
      if (generation === this.#generation) void this.start();
    }, jittered);
  }

  #set(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    this.#host.requestUpdate();
  }
}

/** Hands the event's JSON to `use`; a payload that is not JSON is dropped. */
function parseEvent<T>(event: Event, use: (data: T) => void): void {
  let data: T;
  try {
    data = JSON.parse((event as MessageEvent<string>).data) as T;
  } catch {
    return;
  }
  if (data) use(data);
}
