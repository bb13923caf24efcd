import { randomBytes } from 'node:crypto';
import type { FileOutbox } from '../artifacts/artifact-recorder.ts';
import type { FileRecord } from '../artifacts/file-record.ts';
import type { OutboxEntry, RecordStore } from '../artifacts/record-store.ts';
import type { FileLinks } from '../links/file-links.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { fileRecordedPayload } from './webhook-payload.ts';
import { DELIVERY_HEADER, signatureHeader } from './webhook-signature.ts';

export interface WebhookDispatcherOptions {
  url: URL;
  secret: string;
  store: RecordStore;
  links: FileLinks;
  /** Base of the download links in deliveries (the public URL, or the listening address). */
  linkBase: () => URL;
  /** Deliveries still failing this long after they were queued are kept as failed. */
  maxAgeMs: number;
  /** Retry delays: doubled from `minMs` after each failure, at most `maxMs` (with jitter). */
  backoff?: { minMs: number; maxMs: number };
  /** One attempt's time limit. */
  timeoutMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface WebhookHealth {
  pending: number;
  failed: number;
  /** Attempts that failed since start (each is retried until --webhook-max-age). */
  failedAttempts: number;
  delivered: number;
}

/**
 * Delivers the outbox: one signed POST per recorded file version, at least once. Entries are
 * written by the recorder with their records; this sends them one at a time in order of their
 * next attempt, removes each on a 2xx, and backs off on anything else. Redirects are failures
 * (never followed: a receiver cannot bounce a signed delivery elsewhere); the receiver's body
 * is never read into a log.
 */
export class WebhookDispatcher implements FileOutbox {
  readonly #o: Required<Omit<WebhookDispatcherOptions, 'backoff'>> & { backoff: { minMs: number; maxMs: number } };
  readonly #queue = new Map<string, OutboxEntry>();
  #failed = 0;
  #failedAttempts = 0;
  #delivered = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = false;

  constructor(options: WebhookDispatcherOptions) {
    this.#o = {
      backoff: { minMs: 1000, maxMs: 5 * 60_000 },
      timeoutMs: 10_000,
      logger: quietLogger,
      now: Date.now,
      ...options,
    };
  }

  /** Loads what the store still owes (after a restart or a crash) and starts delivering. */
  async start(): Promise<void> {
    for (const entry of await this.#o.store.listOutbox()) {
      if (entry.state === 'failed') this.#failed++;
      else this.#queue.set(entry.id, entry);
    }
    this.#wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  health(): WebhookHealth {
    return { pending: this.#queue.size, failed: this.#failed, failedAttempts: this.#failedAttempts, delivered: this.#delivered };
  }

  /** FileOutbox: what the recorder writes with these records. */
  entriesFor(chatId: string, records: readonly FileRecord[]): OutboxEntry[] {
    const now = this.#o.now();
    return records.map((record) => ({
      id: randomBytes(12).toString('base64url'),
      chatId,
      recordId: record.id,
      createdAt: new Date(now).toISOString(),
      attempts: 0,
      nextAttemptAt: now,
      state: 'pending',
      lastError: null,
    }));
  }

  /** FileOutbox: the entries are durable now. */
  committed(entries: readonly OutboxEntry[]): void {
    for (const entry of entries) this.#queue.set(entry.id, entry);
    this.#wake();
  }

  #wake(): void {
    if (this.#stopped || this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#running = this.#drain()
      .catch((error) => this.#o.logger.error(`[webhooks] ${describeError(error)}`))
      .finally(() => {
        this.#running = null;
        this.#schedule();
      });
  }

  #schedule(): void {
    if (this.#stopped || this.#queue.size === 0) return;
    const next = Math.min(...[...this.#queue.values()].map((e) => e.nextAttemptAt));
    this.#timer = setTimeout(() => this.#wake(), Math.max(0, next - this.#o.now()));
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const now = this.#o.now();
      const due = [...this.#queue.values()].filter((e) => e.nextAttemptAt <= now).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt);
      if (due.length === 0) return;
      for (const entry of due) {
        if (this.#stopped) return;
        await this.#attempt(entry);
      }
    }
  }

  async #attempt(entry: OutboxEntry): Promise<void> {
    const { store, url, secret, links, logger } = this.#o;
    const record = await store.get(entry.chatId, entry.recordId);
    if (!record) {
      // Its record never became durable (or is gone): nothing is owed.
      this.#queue.delete(entry.id);
      await store.updateOutbox(entry.chatId, entry.id, null);
      return;
    }
    const body = JSON.stringify(fileRecordedPayload(entry.id, record, await links.urlFor(record, this.#o.linkBase())));
    let failure: string | null = null;
    try {
      const res = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'generated-files-sidecar-webhook',
          [DELIVERY_HEADER]: entry.id,
          'x-sidecar-signature': signatureHeader(secret, body, Math.floor(this.#o.now() / 1000)),
        },
        body,
      });
      await res.body?.cancel().catch(() => {});
      if (res.status < 200 || res.status >= 300) failure = `HTTP ${res.status}`;
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      failure = cause?.code ?? (error instanceof Error ? error.name : 'error');
    }
    if (failure === null) {
      this.#queue.delete(entry.id);
      this.#delivered++;
      await store.updateOutbox(entry.chatId, entry.id, null);
      return;
    }
    this.#failedAttempts++;
    const now = this.#o.now();
    const attempts = entry.attempts + 1;
    const expired = now - Date.parse(entry.createdAt) > this.#o.maxAgeMs;
    const { minMs, maxMs } = this.#o.backoff;
    const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempts - 1, 30)) * (0.75 + Math.random() * 0.5);
    const next: OutboxEntry = { ...entry, attempts, lastError: failure, state: expired ? 'failed' : 'pending', nextAttemptAt: now + delay };
    if (expired) {
      this.#queue.delete(entry.id);
      this.#failed++;
      logger.warn(`[webhooks] delivery ${entry.id} (chat ${entry.chatId}) kept as failed after ${attempts} attempts: ${failure}`);
    } else {
      this.#queue.set(entry.id, next);
      if (attempts === 1) logger.warn(`[webhooks] delivery ${entry.id} failed (${failure}); retrying with backoff`);
    }
    await store.updateOutbox(entry.chatId, entry.id, next);
  }
}
