import { describeError, type Logger } from '../logger.ts';
import { BlobStoreError, type BlobStore, type PutResult } from '../storage/blob-store.ts';
import { openFileBeneath, type OpenFolder } from '../workspace/folder-fd.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import type { SnapshotEntry, WorkspaceSnapshot } from '../workspace/workspace-snapshot.ts';
import type { ChatState } from './chat-states.ts';
import { refusesHardLink } from './hard-links.ts';
import { draftRecord, type Attribution } from './record-drafts.ts';
import type { PendingRecord } from './record-commit.ts';
import type { SkipRound } from './skip-ledger.ts';

/** One scan's copying: what to copy, from where, and where skips and drafts go. */
export interface CopyJob {
  chatId: string;
  state: ChatState;
  workspace: OpenFolder;
  snapshot: WorkspaceSnapshot;
  candidates: readonly string[];
  skips: SkipRound;
  attribution: Attribution;
  /** ms since the epoch; no copy starts after it. */
  deadline: number;
}

/**
 * Copies a scan's new and changed files into the blob store, `concurrency` at once, and drafts
 * their records. A file over a limit, or whose copy fails, is skipped instead. Bytes being copied
 * are reserved against the chat's quota, and a draft's bytes stay counted until its commit.
 */
export class ScanCopies {
  readonly #blobs: BlobStore;
  readonly #policy: TrackingPolicy;
  readonly #logger: Logger;
  readonly #now: () => Date;
  readonly #concurrency: number;

  constructor(options: {
    blobs: BlobStore;
    policy: TrackingPolicy;
    logger: Logger;
    now: () => Date;
    concurrency: number;
  }) {
    this.#blobs = options.blobs;
    this.#policy = options.policy;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#concurrency = options.concurrency;
  }

  /** The drafts, and whether the deadline passed first (the rest waits for the next scan). */
  async copyAll(job: CopyJob): Promise<{ pending: PendingRecord[]; outOfTime: boolean }> {
    const pending: PendingRecord[] = [];
    let outOfTime = false;
    let next = 0;
    const worker = async () => {
      while (next < job.candidates.length) {
        if (Date.now() > job.deadline) {
          outOfTime = true;
          return;
        }
        const copied = await this.#copyOne(job, job.candidates[next++]!);
        if (copied) pending.push(copied);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, job.candidates.length) }, worker));
    return { pending, outOfTime };
  }

  async #copyOne(job: CopyJob, rel: string): Promise<PendingRecord | null> {
    const { chatId, state, skips } = job;
    const entry = job.snapshot.get(rel)!;
    if (skips.settled(rel, entry)) return null;
    const limit = state.usage.limitFor(entry.size);
    if (limit) {
      // Reported sizes and dates must be this chat's: the walk's lstat went by path.
      if (await isWorkspaceFile(job.workspace, rel, entry)) skips.skip(rel, entry, limit);
      return null;
    }
    state.usage.reserve(entry.size);
    let put: PutResult | null = null;
    try {
      put = await this.#copy(job, rel, entry);
    } catch (error) {
      if (error instanceof BlobStoreError && error.code === 'ERR_BLOB_TOO_LARGE') skips.skip(rel, entry, 'too-large');
      else {
        this.#logger.error(`[artifacts] copying ${rel} in chat ${chatId} failed: ${describeError(error)}`);
        skips.skip(rel, entry, 'copy-failed');
      }
    } finally {
      state.usage.release(entry.size);
    }
    if (!put) return null;
    skips.clear(rel);
    // Even bytes equal to what this process knows go to the store: another sidecar may have
    // recorded other bytes since. The store leaves out a draft equal to the path's latest.
    state.usage.reserve(put.size);
    return { draft: draftRecord(chatId, rel, entry, put, job.attribution, this.#now()), entry };
  }

  /**
   * Copies one file into the blob store. Reached from the chat folder's fd one folder at a time
   * (`openFileBeneath`: O_NOFOLLOW everywhere, O_NONBLOCK, fstat), then checked against the
   * snapshot's inode and the hard-link rule: a file or folder swapped for a symlink, a FIFO or
   * anything else after the walk is not copied. Returns null when the file is gone or was refused.
   */
  async #copy(job: CopyJob, rel: string, entry: SnapshotEntry): Promise<PutResult | null> {
    const opened = await openFileBeneath(job.workspace, rel);
    if (opened === 'gone') return null;
    if (opened === 'not-regular') {
      this.#logger.warn(`[artifacts] not recording ${rel} in chat ${job.chatId}: it is no longer a regular file`);
      return null;
    }
    const { handle, stats } = opened;
    try {
      if (stats.ino !== entry.ino || refusesHardLink(this.#policy, job.state, stats)) return null;
      return await this.#blobs.putStream(handle.createReadStream({ autoClose: false }), {
        maxBytes: this.#policy.maxFileBytes,
      });
    } finally {
      await handle.close().catch(() => {});
    }
  }
}

/** Is `rel`, reached relative to the chat folder's fd, the regular file the walk saw? */
async function isWorkspaceFile(workspace: OpenFolder, rel: string, entry: SnapshotEntry): Promise<boolean> {
  const opened = await openFileBeneath(workspace, rel);
  if (typeof opened === 'string') return false;
  await opened.handle.close().catch(() => {});
  return opened.stats.ino === entry.ino;
}
