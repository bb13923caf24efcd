import { createHash } from 'node:crypto';
import type { FileRecord } from '../storage/file-record.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileDiff, FilePreview } from '../../contract/files-api.ts';
import { PreviewCache } from './preview-cache.ts';
import { DEFAULT_PREVIEW_LIMITS, type PreviewLimits } from './preview-limits.ts';
import { LruMap } from '../lru-map.ts';
import { diffKindOf, previewKindOf, type PreviewKind } from './preview-kind.ts';
import { PreviewError } from './preview-errors.ts';
import { RenderPool } from './render-pool.ts';
import type { RenderJob } from './render-job.ts';

/** Bumped when a renderer's output changes, so old cache entries are not served. */
const RENDER_VERSION = 4; // 4: Markdown also as sanitized HTML; links with target="_blank".

export interface PreviewServiceOptions {
  blobs: BlobStore;
  /** Where rendered previews are kept (`{dataDir}/previews`). */
  cacheDir: string;
  limits?: Partial<PreviewLimits>;
  /** Told of each lookup (cache hit or miss) and each render on a worker (metrics). */
  observer?: PreviewObserver;
  /** The clock remembered timeouts expire by (tests). */
  now?: () => number;
}

export type RenderOutcome = 'ok' | 'refused' | 'timeout' | 'busy' | 'error';

/** How a lookup was answered: from the cache, by a render, or from a remembered timeout (no render). */
export type LookupResult = 'hit' | 'miss' | 'remembered';

export interface PreviewObserver {
  looked(task: 'preview' | 'diff', result: LookupResult): void;
  rendered(task: 'preview' | 'diff', outcome: RenderOutcome, seconds: number): void;
}

/** URLs the answer may point at, made by the routes (they know the chat and the prefix). */
export interface PreviewUrls {
  content: string;
  frame: string;
}

type Cached = { ok: true; value: FilePreview | FileDiff } | { ok: false; code: string; message: string };

/**
 * Previews and diffs of recorded versions: what kind a file is, the limits checked before any
 * work, the render on a worker, and the cache by content hash. Answers are JSON text, so a cached
 * preview is sent without being parsed again.
 */
export class PreviewService {
  readonly limits: PreviewLimits;
  readonly #blobs: BlobStore;
  readonly #cache: PreviewCache;
  readonly #pool: RenderPool;
  readonly #observer: PreviewObserver | undefined;
  /** `<sha256>.<key>` of renders that timed out, with when they may be tried again. */
  readonly #timedOut: LruMap<string, { until: number; message: string }>;
  readonly #now: () => number;

  constructor(options: PreviewServiceOptions) {
    this.limits = { ...DEFAULT_PREVIEW_LIMITS, ...options.limits };
    this.#observer = options.observer;
    this.#blobs = options.blobs;
    this.#cache = new PreviewCache(options.cacheDir, this.limits.cacheMaxBytes);
    this.#now = options.now ?? Date.now;
    this.#timedOut = new LruMap(this.limits.rememberedTimeouts);
    const { concurrency, chatConcurrency, chatQueue, timeoutMs, workerHeapMb, workerStartMs } = this.limits;
    this.#pool = new RenderPool({ concurrency, chatConcurrency, chatQueue, timeoutMs, workerHeapMb, workerStartMs });
  }

  /** Drops cached previews and diffs of blobs that are gone (see Retention's `blobCaches`). */
  prune(exists: (sha256: string) => Promise<boolean>): Promise<number> {
    return this.#cache.prune(exists);
  }

  /** Renders running now: public as pg-pool's `waitingCount` is; `/metrics` reads it (`sidecar_preview_renders_running`). */
  get running(): number {
    return this.#pool.running;
  }

  kindOf(record: Pick<FileRecord, 'name'>): PreviewKind {
    return previewKindOf(record.name);
  }

  /** `{ id, sha256, preview }` as JSON text. Throws a PreviewError when refused. */
  async preview(record: FileRecord, urls: PreviewUrls): Promise<string> {
    const kind = this.kindOf(record);
    const head = `{"id":${JSON.stringify(record.id)},"sha256":${JSON.stringify(record.sha256)},"preview":`;
    switch (kind.render) {
      case 'none':
        throw new PreviewError('ERR_PREVIEW_UNSUPPORTED', kind.reason);
      case 'frame':
        this.#checkSize(record);
        return `${head}${JSON.stringify({ kind: 'frame', url: urls.frame } satisfies FilePreview)}}`;
      case 'image':
      case 'pdf':
        return `${head}${JSON.stringify({ kind: kind.render, url: urls.content } satisfies FilePreview)}}`;
    }
    this.#checkSize(record);
    const key = this.#key('preview', kind);
    const text = await this.#lookup(record.sha256, key, record.chatId, {
      task: 'preview',
      file: { path: this.#blobs.pathFor(record.sha256), label: record.name },
      kind,
      limits: this.limits,
    });
    return `${head}${unwrap(text)}}`;
  }

  /** `DiffResponse` as JSON text: `to` against `from`, two versions of one path. */
  async diff(from: FileRecord, to: FileRecord): Promise<string> {
    const kind = this.kindOf(to);
    const versionOf = (r: FileRecord) => ({ id: r.id, version: r.version, size: r.size, sha256: r.sha256 });
    const head = `{"from":${JSON.stringify(versionOf(from))},"to":${JSON.stringify(versionOf(to))},"diff":`;
    if (kind.render === 'none' || diffKindOf(kind) === 'binary') {
      return `${head}${JSON.stringify({ kind: 'binary' } satisfies FileDiff)}}`;
    }
    this.#checkSize(from);
    this.#checkSize(to);
    const key = `${this.#key('diff', kind)}-${from.sha256}`;
    const text = await this.#lookup(to.sha256, key, to.chatId, {
      task: 'diff',
      before: { path: this.#blobs.pathFor(from.sha256), label: `${from.name} (version ${from.version})` },
      after: { path: this.#blobs.pathFor(to.sha256), label: `${to.name} (version ${to.version})` },
      kind,
      limits: this.limits,
    });
    return `${head}${unwrap(text)}}`;
  }

  #checkSize(record: FileRecord): void {
    if (record.size > this.limits.maxBytes) {
      throw new PreviewError(
        'ERR_PREVIEW_TOO_LARGE',
        `${record.name} is ${record.size} bytes; previews are limited to ${this.limits.maxBytes} bytes.`,
      );
    }
  }

  /** Everything that changes the answer for the same bytes: the renderer, the kind, the limits. */
  #key(task: string, kind: PreviewKind): string {
    // Limits on how renders are run (not on what they answer) leave cached answers valid.
    const {
      concurrency: _c,
      chatConcurrency: _cc,
      chatQueue: _q,
      timeoutMs: _t,
      timeoutMemoryMs: _tm,
      rememberedTimeouts: _rt,
      workerHeapMb: _h,
      workerStartMs: _ws,
      cacheMaxBytes: _m,
      ...limits
    } = this.limits;
    const what = JSON.stringify({ v: RENDER_VERSION, task, kind, limits });
    return createHash('sha256').update(what).digest('hex').slice(0, 16);
  }

  /**
   * The cached answer, or a render of `job` for `chat`'s share of the pool; the observer is told
   * which. A render of these bytes that ran out of time lately is not run again: its timeout is
   * answered at once (by content hash and key, so for every chat), until `timeoutMemoryMs` passed.
   */
  async #lookup(sha256: string, key: string, chat: string, job: RenderJob): Promise<string> {
    const id = `${sha256}.${key}`;
    let result: LookupResult = 'hit';
    const text = await this.#cache
      .getOrRender(sha256, key, () => {
        const remembered = this.#timedOut.get(id);
        if (remembered && remembered.until > this.#now()) {
          result = 'remembered';
          throw new PreviewError('ERR_PREVIEW_TIMEOUT', remembered.message);
        }
        this.#timedOut.delete(id);
        result = 'miss';
        return this.#render(job, chat, id);
      })
      .finally(() => this.#observer?.looked(job.task, result));
    return text;
  }

  async #render(job: RenderJob, chat: string, id: string): Promise<{ text: string; store: boolean }> {
    const started = performance.now();
    let outcome: RenderOutcome = 'error';
    try {
      // The worker's answer is JSON text already: wrapped, never parsed.
      const json = await this.#pool.run(job, chat);
      outcome = 'ok';
      return { text: `{"ok":true,"value":${json}}`, store: true };
    } catch (error) {
      // A refusal for these bytes is as cacheable as a preview; a timeout or a full queue is not.
      if (error instanceof PreviewError && error.isDeterministic) {
        outcome = 'refused';
        return {
          text: JSON.stringify({ ok: false, code: error.code, message: error.message } satisfies Cached),
          store: true,
        };
      }
      if (error instanceof PreviewError && error.code === 'ERR_PREVIEW_TIMEOUT') {
        outcome = 'timeout';
        const minutes = Math.max(1, Math.round(this.limits.timeoutMemoryMs / 60_000));
        const message = `${error.message} It is not tried again for ${minutes} minute${minutes === 1 ? '' : 's'}: download the file instead.`;
        this.#timedOut.set(id, { until: this.#now() + this.limits.timeoutMemoryMs, message });
        this.#timedOut.evict();
        throw new PreviewError('ERR_PREVIEW_TIMEOUT', message);
      }
      if (error instanceof PreviewError) outcome = 'busy';
      throw error;
    } finally {
      this.#observer?.rendered(job.task, outcome, (performance.now() - started) / 1000);
    }
  }
}

/** The cached value as JSON text, or the cached refusal thrown again. */
function unwrap(text: string): string {
  if (text.startsWith('{"ok":true,"value":')) return text.slice('{"ok":true,"value":'.length, -1);
  const cached = JSON.parse(text) as Cached;
  if (cached.ok) return JSON.stringify(cached.value);
  throw new PreviewError(cached.code as PreviewError['code'], cached.message);
}
