import { createHash } from 'node:crypto';
import type { FileRecord } from '../storage/file-record.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { FileDiff, FilePreview } from '../../contract/files-api.ts';
import { PreviewCache } from './preview-cache.ts';
import {
  DEFAULT_PREVIEW_LIMITS,
  PREVIEW_COLUMNS,
  PREVIEW_ROWS,
  PREVIEW_TEXT_BYTES,
  type PreviewLimits,
} from './preview-limits.ts';
import { diffKindOf, previewKindOf, type PreviewKind } from './preview-kind.ts';
import { PreviewError } from './preview-errors.ts';
import { RenderPool } from './render-pool.ts';

/** Bumped when a renderer's output changes, so old cache entries are not served. */
const RENDER_VERSION = 4; // 4: Markdown also as sanitized HTML; links with target="_blank".

export interface PreviewServiceOptions {
  blobs: BlobStore;
  /** Where rendered previews are kept (`{dataDir}/previews`). */
  cacheDir: string;
  limits?: Partial<PreviewLimits>;
  /** Told of each lookup (cache hit or miss) and each render on a worker (metrics). */
  observer?: PreviewObserver;
}

export type RenderOutcome = 'ok' | 'refused' | 'timeout' | 'busy' | 'error';

export interface PreviewObserver {
  looked(task: 'preview' | 'diff', hit: boolean): void;
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

  constructor(options: PreviewServiceOptions) {
    this.limits = { ...DEFAULT_PREVIEW_LIMITS, ...options.limits };
    this.#observer = options.observer;
    this.#blobs = options.blobs;
    this.#cache = new PreviewCache(options.cacheDir, this.limits.cacheMaxBytes);
    this.#pool = new RenderPool({ concurrency: this.limits.concurrency, timeoutMs: this.limits.timeoutMs });
  }

  /** Drops cached previews and diffs of blobs that are gone (see Retention's `blobCaches`). */
  prune(exists: (sha256: string) => Promise<boolean>): Promise<number> {
    return this.#cache.prune(exists);
  }

  /** Renders running now (for tests and the benchmark). */
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
    const text = await this.#lookup(record.sha256, key, {
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
    const text = await this.#lookup(to.sha256, key, {
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
    const { concurrency: _c, timeoutMs: _t, cacheMaxBytes: _m, ...limits } = this.limits;
    const what = JSON.stringify({
      v: RENDER_VERSION,
      task,
      kind,
      limits,
      shown: [PREVIEW_ROWS, PREVIEW_COLUMNS, PREVIEW_TEXT_BYTES],
    });
    return createHash('sha256').update(what).digest('hex').slice(0, 16);
  }

  /** The cached answer, or a render of `job`; the observer is told which. */
  async #lookup(sha256: string, key: string, job: Parameters<RenderPool['run']>[0]): Promise<string> {
    let rendered = false;
    const text = await this.#cache.getOrRender(sha256, key, () => {
      rendered = true;
      return this.#render(job);
    });
    this.#observer?.looked(job.task, !rendered);
    return text;
  }

  async #render(job: Parameters<RenderPool['run']>[0]): Promise<{ text: string; store: boolean }> {
    const started = performance.now();
    let outcome: RenderOutcome = 'error';
    try {
      // The worker's answer is JSON text already: wrapped, never parsed.
      const json = await this.#pool.run(job);
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
      if (error instanceof PreviewError) outcome = error.code === 'ERR_PREVIEW_TIMEOUT' ? 'timeout' : 'busy';
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
