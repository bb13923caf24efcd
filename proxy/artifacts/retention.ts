import type { Dirent } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { entryPath, listingPath, MAX_FOLDER_DEPTH, openSubfolder, type OpenFolder } from '../workspace/folder-fd.ts';
import { isValidChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import type { ArtifactRecorder } from './artifact-recorder.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type { RecordStore } from '../storage/record-store.ts';
import { openWorkspace } from '../workspace/workspace-snapshot.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface RetentionOptions {
  /** Delete workspace files not modified for this many days; off (null) by default. */
  workspaceMaxAgeDays?: number | null;
  /** Blobs younger than this are never collected, referenced or not (default 1 hour). */
  blobGraceMs?: number;
  /** How often `start()` sweeps (default 1 hour). */
  intervalMs?: number;
}

/** Something kept per blob elsewhere (the preview cache), cleaned when retention collects blobs. */
export interface BlobDerivedCache {
  /** Removes what was made from blobs `exists` says are gone; answers how many entries went. */
  prune(exists: (sha256: string) => Promise<boolean>): Promise<number>;
}

export interface RetentionDeps {
  store: RecordStore;
  blobs: BlobStore;
  recorder: ArtifactRecorder;
  workspaces: Workspaces;
  logger?: Logger;
  now?: () => number;
  /**
   * Runs a sweep on one node at a time when several sidecars share the store (PostgreSQL: an
   * advisory lock); resolves false, without running it, when another node holds it.
   */
  exclusive?: (section: () => Promise<void>) => Promise<boolean>;
  /** Pruned after each blob sweep: their entries of collected blobs go with the blobs. */
  blobCaches?: readonly BlobDerivedCache[];
}

export interface SweepResult {
  /** False when a scan or upload was running: blobs were left for the next sweep. */
  blobsSwept: boolean;
  blobsRemoved: number;
  tempRemoved: number;
  workspaceFilesRemoved: number;
  /** Cache entries (rendered previews) of blobs that are gone. */
  cachedRemoved: number;
}

/**
 * Deletes what nobody needs: blobs no record points to (after a grace period, never while a scan
 * runs) and, when configured, old workspace files. Records and the blobs they point to are kept:
 * a file deleted from the workspace stays downloadable.
 */
export class Retention {
  readonly #deps: RetentionDeps;
  readonly #maxAgeMs: number | null;
  readonly #graceMs: number;
  readonly #intervalMs: number;
  readonly #logger: Logger;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<SweepResult> | null = null;

  constructor(deps: RetentionDeps, options: RetentionOptions = {}) {
    this.#deps = deps;
    const days = options.workspaceMaxAgeDays ?? null;
    this.#maxAgeMs = days === null ? null : days * DAY_MS;
    this.#graceMs = options.blobGraceMs ?? 60 * 60 * 1000;
    this.#intervalMs = options.intervalMs ?? 60 * 60 * 1000;
    this.#logger = deps.logger ?? quietLogger;
    this.#now = deps.now ?? Date.now;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.#logger.error(`[retention] sweep failed: ${describeError(error)}`));
    }, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One sweep; concurrent calls share it. */
  sweep(): Promise<SweepResult> {
    this.#running ??= this.#sweep().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #sweep(): Promise<SweepResult> {
    const result = emptySweep();
    const exclusive = this.#deps.exclusive;
    if (exclusive) {
      await exclusive(async () => {
        Object.assign(result, await this.#sweepHere());
      });
      return result;
    }
    return this.#sweepHere();
  }

  async #sweepHere(): Promise<SweepResult> {
    const result = emptySweep();
    if (this.#maxAgeMs !== null) result.workspaceFilesRemoved = await this.#sweepWorkspaces(this.#maxAgeMs);
    const { store, blobs, recorder } = this.#deps;
    result.blobsSwept = await recorder.whileIdle(async () => {
      const now = this.#now();
      result.tempRemoved = await blobs.removeStaleTemp(this.#graceMs, now);
      const referenced = await store.referencedShas();
      for (const blob of await blobs.list()) {
        if (referenced.has(blob.sha256) || now - blob.mtimeMs < this.#graceMs) continue;
        // Another sidecar may be storing these bytes right now: removal checks the mtime again, atomically.
        if (await blobs.removeUnlessTouchedSince(blob.sha256, now - this.#graceMs)) result.blobsRemoved++;
      }
    });
    if (result.blobsSwept) {
      // No record points to a collected blob, so nothing will ask for its previews again.
      for (const cache of this.#deps.blobCaches ?? [])
        result.cachedRemoved += await cache.prune((sha) => blobs.has(sha));
    }
    if (result.blobsRemoved || result.workspaceFilesRemoved || result.tempRemoved || result.cachedRemoved) {
      this.#logger.info(
        `[retention] removed ${result.blobsRemoved} unreferenced blobs, ${result.tempRemoved} temp files, ${result.workspaceFilesRemoved} old workspace files, ${result.cachedRemoved} cached previews`,
      );
    }
    return result;
  }

  async #sweepWorkspaces(maxAgeMs: number): Promise<number> {
    const { workspaces } = this.#deps;
    const realRoot = await workspaces.realRoot();
    const cutoff = this.#now() - maxAgeMs;
    let removed = 0;
    let chats: string[];
    try {
      chats = (await readdir(workspaces.root)).filter((name) => isValidChatId(name));
    } catch {
      return 0;
    }
    // Every folder is opened relative to its parent's fd and every file named relative to its
    // folder's fd (folder-fd.ts): a folder the kernel swaps for a symlink mid-sweep cannot make
    // the sidecar delete files outside the workspace.
    // At most MAX_FOLDER_DEPTH folders deep, so a sweep holds at most that many fds.
    const walk = async (folder: OpenFolder, depth: number): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(listingPath(folder), { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries) {
        if (entry.isDirectory()) {
          // folders are kept: code may expect them
          if (depth >= MAX_FOLDER_DEPTH) continue;
          const child = await openSubfolder(folder, entry.name).catch(() => null);
          if (!child) continue;
          try {
            await walk(child, depth + 1);
          } finally {
            await child.close();
          }
          continue;
        }
        if (!entry.isFile()) continue; // symlinks are left alone: never followed, never judged
        try {
          const file = entryPath(folder, entry.name);
          if ((await lstat(file)).mtimeMs < cutoff) {
            await unlink(file);
            removed++;
          }
        } catch {
          // gone already, or not ours to delete
        }
      }
    };
    for (const chatId of chats) {
      try {
        const workspace = await openWorkspace(workspaces.pathFor(chatId), realRoot);
        if (!workspace) continue;
        try {
          await walk(workspace, 0);
        } finally {
          await workspace.close();
        }
      } catch (error) {
        this.#logger.warn(`[retention] skipped workspace ${chatId}: ${describeError(error)}`);
      }
    }
    return removed;
  }
}

function emptySweep(): SweepResult {
  return { blobsSwept: false, blobsRemoved: 0, tempRemoved: 0, workspaceFilesRemoved: 0, cachedRemoved: 0 };
}
