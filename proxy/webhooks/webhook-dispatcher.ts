import { randomBytes } from 'node:crypto';
import type { FileOutbox } from '../artifacts/artifact-recorder.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { OutboxEntry, RecordStore } from '../storage/record-store.ts';
import type { FileLinks } from '../links/file-links.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { fileRecordedPayload } from './webhook-payload.ts';
import { DELIVERY_HEADER, signatureHeader } from './webhook-signature.ts';
import { errorCode } from '../errors.ts';
import { httpCall } from '../http-call.ts';

export interface WebhookDispatcherOptions {
  url: URL;
  secret: string;
  store: RecordStore;
  links: FileLinks;
  /** Base of the download links in deliveries (the public URL, or the listening address). */
  linkBase: () => URL;
  /** Deliveries still failing this long after they were queued are kept as failed. */
  maxAgeMs: number;
  /** Retry delays: doubled from `minMs` after each failure, at most `maxMs` (with jitter). Options: `--webhook-retry-min`, `--webhook-retry-max`. */
  backoff: { minMs: number; maxMs: number };
  /** One attempt's time limit. */
  timeoutMs?: number;
  /**
   * How long a claimed delivery is this sidecar's alone (longer than one attempt). A sidecar
   * that dies mid-delivery leaves it to another when the lease ends: at least once.
   */
  leaseMs?: number;
  /** Looks for deliveries owed by other sidecars (or left by a dead one) at least this often. */
  pollMs?: number;
  logger?: Logger;
  now?: () => number;
}

export interface WebhookHealth {
  /** In the store, of every sidecar sharing it. */
  pending: number;
  failed: number;
  /** Attempts of this sidecar that failed since start (each is retried until --webhook-max-age). */
  failedAttempts: number;
  /** By this sidecar since start. */
  delivered: number;
}

/** Deliveries claimed at once. */
const CLAIM_BATCH = 20;

/**
 * Delivers the outbox: one signed POST per recorded file version, at least once. Entries are
 * written by the recorder with their records; this claims due ones from the store (a lease, so
 * several sidecars on one database never deliver one at the same time), sends them one at a time,
 * removes each on a 2xx, and backs off on anything else. Redirects are failures (never followed:
 * a receiver cannot bounce a signed delivery elsewhere); the receiver's body is never read into
 * a log.
 */
export class WebhookDispatcher implements FileOutbox {
  readonly #o: Required<WebhookDispatcherOptions>;
  #failedAttempts = 0;
  #delivered = 0;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** Woken while draining: drain again at once, the new entries may be due. */
  #again = false;
  #stopped = false;

  constructor(options: WebhookDispatcherOptions) {
    // Each default where the option is missing *or undefined*: spreading `{ backoff: undefined }`
    // over the defaults once left every failed attempt throwing a TypeError (issue 22).
    const timeoutMs = options.timeoutMs ?? 10_000;
    const backoff = options.backoff;
    if (!(backoff?.minMs > 0) || !(backoff.maxMs >= backoff.minMs)) {
      throw new TypeError('WebhookDispatcher needs backoff { minMs > 0, maxMs >= minMs }.');
    }
    this.#o = {
      ...options,
      backoff,
      timeoutMs,
      leaseMs: options.leaseMs ?? timeoutMs + 30_000,
      pollMs: options.pollMs ?? 30_000,
      logger: options.logger ?? quietLogger,
      now: options.now ?? Date.now,
    };
  }

  /** Delivers what the store still owes (after a restart or a crash, or another sidecar's). */
  async start(): Promise<void> {
    this.#wake();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  async health(): Promise<WebhookHealth> {
    const { pending, failed } = await this.#o.store.outboxSummary();
    return { pending, failed, failedAttempts: this.#failedAttempts, delivered: this.#delivered };
  }

  /** FileOutbox: what the store writes with exactly these (just appended) records. */
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
  committed(_entries: readonly OutboxEntry[]): void {
    this.#wake();
  }

  #wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#again = false;
    this.#running = this.#drain()
      .then(() => this.#schedule())
      .catch((error) => {
        // The store is away (a database restart): try again at the next poll.
        this.#o.logger.error(`[webhooks] ${describeError(error)}`);
        this.#arm(this.#o.pollMs);
      })
      .finally(() => {
        this.#running = null;
        if (this.#again) this.#wake();
      });
  }

  /** Next wake: the earliest pending attempt, or the poll for other sidecars' deliveries. */
  async #schedule(): Promise<void> {
    if (this.#stopped) return;
    const { nextAttemptAt } = await this.#o.store.outboxSummary();
    const untilPoll = this.#o.pollMs;
    this.#arm(nextAttemptAt === null ? untilPoll : Math.min(untilPoll, Math.max(0, nextAttemptAt - this.#o.now())));
  }

  #arm(delayMs: number): void {
    if (this.#stopped) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#wake(), delayMs);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const now = this.#o.now();
      const claimed = await this.#o.store.claimOutbox(now, now + this.#o.leaseMs, CLAIM_BATCH);
      if (claimed.length === 0) return;
      for (const entry of claimed) {
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
      await store.updateOutbox(entry.chatId, entry.id, null);
      return;
    }
    const body = JSON.stringify(fileRecordedPayload(entry.id, record, await links.urlFor(record, this.#o.linkBase())));
    let failure: string | null = null;
    try {
      const { status } = await httpCall(url, {
        method: 'POST',
        timeoutMs: this.#o.timeoutMs,
        maxBodyBytes: 0,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'generated-files-sidecar-webhook',
          [DELIVERY_HEADER]: entry.id,
          'x-sidecar-signature': signatureHeader(secret, body, Math.floor(this.#o.now() / 1000)),
        },
        body,
      });
      if (status < 200 || status >= 300) failure = `HTTP ${status}`;
    } catch (error) {
      failure = errorCode(error) ?? 'error';
    }
    if (failure === null) {
      await store.updateOutbox(entry.chatId, entry.id, null);
      this.#delivered++;
      return;
    }
    this.#failedAttempts++;
    const now = this.#o.now();
    const attempts = entry.attempts + 1;
    const expired = now - Date.parse(entry.createdAt) > this.#o.maxAgeMs;
    const { minMs, maxMs } = this.#o.backoff;
    const delay = Math.min(maxMs, minMs * 2 ** Math.min(attempts - 1, 30)) * (0.75 + Math.random() * 0.5);
    const next: OutboxEntry = {
      ...entry,
      attempts,
      lastError: failure,
      state: expired ? 'failed' : 'pending',
      nextAttemptAt: now + delay,
    };
    if (expired)
      logger.warn(
        `[webhooks] delivery ${entry.id} (chat ${entry.chatId}) kept as failed after ${attempts} attempts: ${failure}`,
      );
    else if (attempts === 1) logger.warn(`[webhooks] delivery ${entry.id} failed (${failure}); retrying with backoff`);
    await store.updateOutbox(entry.chatId, entry.id, next);
  }
}
