import { randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, copyFile, lstat, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { SkippedFile } from '../api/files-api-types.ts';
import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { ArtifactError } from './artifact-errors.ts';
import { BlobStoreError, type BlobStore, type PutResult } from './blob-store.ts';
import type { ExecutionEndReason, ExecutionObserver, ExecutionRef, FileRecord } from './file-record.ts';
import { FileEvents } from './file-events.ts';
import { remoteFileSystemAt } from './file-system-kind.ts';
import { formatLabel, mimeTypeOf } from './format-label.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { DEFAULT_CACHED_CHATS, latestByPath, type RecordStore } from './record-store.ts';
import { createTrackingPolicy, UPLOAD_TEMP_PREFIX, type TrackingPolicy } from './tracking-policy.ts';
import { normalizeUploadPath, resolveUploadTarget } from './upload-target.ts';
import { diffSnapshot, resolveWorkspace, walkSnapshot, type SnapshotEntry, type WorkspaceSnapshot } from './workspace-snapshot.ts';
import { ChangeJournal, type ChangeJournalOptions } from './change-journal.ts';
import { WorkspaceWalker } from './workspace-walker.ts';

export const DEFAULT_UPLOAD_LIMIT_BYTES = 100 * 1024 ** 2;

export interface ArtifactRecorderOptions {
  store: RecordStore;
  blobs: BlobStore;
  workspaces: Workspaces;
  policy?: TrackingPolicy;
  logger?: Logger;
  /** Files copied at once during a scan. */
  copyConcurrency?: number;
  /** Worker threads that walk workspaces; the recorder makes (and closes) its own by default. */
  walker?: WorkspaceWalker;
  /** Chats whose known file state stays in memory (least recently used dropped first). */
  maxCachedChats?: number;
  /**
   * Watch workspaces with inotify so a scan stats only the paths touched since the chat's last
   * scan (`ChangeJournal`; it falls back to a full walk whenever events cannot be trusted).
   * Off by default here; the sidecar turns it on (`--watch-workspaces`).
   */
  watch?: boolean | ChangeJournalOptions;
  now?: () => Date;
}

/** What a scan is attributed to. */
export type ScanCause =
  | { source: 'between-executions'; owner?: string | null }
  | { source: 'execution'; execution: ExecutionRef };

export interface ScanResult {
  recorded: FileRecord[];
  /** Newly skipped during this scan (already-reported ones are not repeated). */
  skipped: SkippedFile[];
}

interface KnownFile {
  size: number;
  mtimeMs: number;
  sha256: string;
  version: number;
}

interface ChatState {
  files: Map<string, KnownFile>;
  skipped: Map<string, SkippedFile>;
  /** Bytes of every recorded version: what the quota counts. */
  usedBytes: number;
  owner: string | null;
}

function newRecordId(): string {
  return randomBytes(12).toString('base64url');
}

function errnoOf(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'code' in error ? String(error.code) : undefined;
}

/**
 * Turns execution boundaries into file records. Per chat it keeps what it knows of each path
 * (size, mtime, sha256, version), built lazily from the store, so a restart neither re-records
 * unchanged files nor misses files changed while it was down.
 */
export class ArtifactRecorder implements ExecutionObserver {
  readonly events = new FileEvents();
  readonly policy: TrackingPolicy;
  readonly #store: RecordStore;
  readonly #blobs: BlobStore;
  readonly #workspaces: Workspaces;
  readonly #logger: Logger;
  readonly #copyConcurrency: number;
  readonly #now: () => Date;
  readonly #walker: WorkspaceWalker;
  readonly #ownsWalker: boolean;
  readonly #maxCachedChats: number;
  readonly #journal: ChangeJournal | null;
  readonly #locks = new KeyedMutex();
  readonly #states = new Map<string, Promise<ChatState>>();
  #realRoot: Promise<string> | null = null;
  #active = 0;
  #gate: Promise<void> | null = null;

  constructor(options: ArtifactRecorderOptions) {
    this.#store = options.store;
    this.#blobs = options.blobs;
    this.#workspaces = options.workspaces;
    this.policy = options.policy ?? createTrackingPolicy();
    this.#logger = options.logger ?? quietLogger;
    this.#copyConcurrency = Math.max(1, options.copyConcurrency ?? 4);
    this.#now = options.now ?? (() => new Date());
    this.#maxCachedChats = Math.max(1, options.maxCachedChats ?? DEFAULT_CACHED_CHATS);
    this.#ownsWalker = !options.walker;
    this.#walker = options.walker ?? new WorkspaceWalker();
    const watch = options.watch ?? false;
    this.#journal = watch ? new ChangeJournal(this.policy, { logger: this.#logger, ...(watch === true ? {} : watch) }) : null;
  }

  /** The change journal, when workspaces are watched (for tests and the bench). */
  get journal(): ChangeJournal | null {
    return this.#journal;
  }

  /** How many chats' file states are in memory now. */
  get cachedChats(): number {
    return this.#states.size;
  }

  /** Stops the walker threads it made; scans after this fail. */
  async close(): Promise<void> {
    await this.#journal?.close();
    if (this.#ownsWalker) await this.#walker.close();
  }

  async executionStarted(chatId: string, execution: ExecutionRef): Promise<void> {
    try {
      await this.scan(chatId, { source: 'between-executions', owner: execution.owner });
    } catch (error) {
      this.#logger.error(`[artifacts] scan before execution ${execution.msgId} in chat ${chatId} failed: ${describeError(error)}`);
    }
  }

  async executionEnded(chatId: string, execution: ExecutionRef, reason: ExecutionEndReason): Promise<void> {
    try {
      await this.scan(chatId, { source: 'execution', execution });
    } catch (error) {
      this.#logger.error(`[artifacts] scan after execution ${execution.msgId} (${reason}) in chat ${chatId} failed: ${describeError(error)}`);
    }
  }

  /** Scans and uploads in progress (retention does not collect blobs while any runs). */
  get activeScans(): number {
    return this.#active;
  }

  /**
   * Runs `section` while no scan or upload runs, holding new ones until it ends.
   * Returns false (without running it) when one is already in progress.
   */
  async whileIdle(section: () => Promise<void>): Promise<boolean> {
    if (this.#active > 0 || this.#gate) return false;
    let release!: () => void;
    this.#gate = new Promise((resolve) => (release = resolve));
    try {
      await section();
      return true;
    } finally {
      this.#gate = null;
      release();
    }
  }

  /** Snapshot the chat's workspace and record every new or changed tracked file. */
  async scan(chatId: string, cause: ScanCause): Promise<ScanResult> {
    assertChatId(chatId);
    return this.#busy(() =>
      this.#locks.run(chatId, async () => {
        try {
          return await this.#scanLocked(chatId, cause);
        } catch (error) {
          // The journal's window was taken: without this the paths it held would not be looked at again.
          this.#journal?.invalidate(chatId);
          throw error;
        }
      }),
    );
  }

  /**
   * Stores an uploaded file: streams it into the blob store (at most `maxBytes`), then writes
   * it into the workspace at `relPath` and records it with source 'upload'.
   */
  async recordUpload(
    chatId: string,
    relPath: string,
    stream: Readable,
    owner: string | null,
    options: { maxBytes?: number } = {},
  ): Promise<FileRecord> {
    assertChatId(chatId);
    const requested = normalizeUploadPath(relPath);
    if (this.policy.isHiddenOrPartial(requested) || requested.split('/').pop()!.startsWith(UPLOAD_TEMP_PREFIX)) {
      throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: hidden and partial names (${requested}) are never recorded.`);
    }
    const maxBytes = Math.min(options.maxBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES, this.policy.maxFileBytes);
    return this.#busy(async () => {
      let put: PutResult;
      try {
        put = await this.#blobs.putStream(stream, { maxBytes });
      } catch (error) {
        if (error instanceof BlobStoreError && error.code === 'ERR_BLOB_TOO_LARGE') {
          throw new ArtifactError('ERR_UPLOAD_TOO_LARGE', `Uploads are limited to ${maxBytes} bytes.`);
        }
        throw error;
      }
      return this.#locks.run(chatId, async () => {
        const state = await this.#state(chatId);
        if (state.usedBytes + put.size > this.policy.quotaBytes) {
          throw new ArtifactError('ERR_QUOTA_EXCEEDED', `Chat ${chatId} would exceed its quota of ${this.policy.quotaBytes} bytes.`);
        }
        const dir = await this.#workspaces.ensure(chatId);
        await resolveWorkspace(dir, await this.#getRealRoot());
        const target = await resolveUploadTarget(dir, requested);
        if (this.policy.isHiddenOrPartial(target.relPath)) {
          throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${requested} resolves to a hidden name.`);
        }
        const temp = path.join(path.dirname(target.absPath), `${UPLOAD_TEMP_PREFIX}${randomUUID()}.part`);
        try {
          await copyFile(this.#blobs.pathFor(put.sha256), temp, constants.COPYFILE_EXCL);
          await chmod(temp, 0o644);
          await rename(temp, target.absPath);
        } catch (error) {
          await unlink(temp).catch(() => {});
          if (errnoOf(error) === 'EISDIR' || errnoOf(error) === 'ENOTDIR') {
            throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${requested} is a folder.`);
          }
          throw error;
        }
        const stats = await lstat(target.absPath);
        const entry: SnapshotEntry = { size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), ino: stats.ino };
        const known = state.files.get(target.relPath);
        if (known && known.sha256 === put.sha256) {
          state.files.set(target.relPath, { ...known, size: entry.size, mtimeMs: entry.mtimeMs });
          const latest = latestByPath(await this.#store.listChat(chatId)).get(target.relPath);
          if (latest) return latest;
        }
        const record = this.#buildRecord(chatId, target.relPath, entry, put, known, {
          source: 'upload',
          execution: null,
          owner: owner ?? state.owner,
        });
        await this.#commit(chatId, state, [{ record, entry }]);
        return record;
      });
    });
  }

  async #busy<T>(work: () => Promise<T>): Promise<T> {
    while (this.#gate) await this.#gate;
    this.#active++;
    try {
      return await work();
    } finally {
      this.#active--;
    }
  }

  /** The real workspace root; the first time, also whether small walks may run inline. */
  #getRealRoot(): Promise<string> {
    this.#realRoot ??= this.#workspaces.realRoot().then(
      async (realRoot) => {
        const remote = this.#ownsWalker ? await remoteFileSystemAt(realRoot).catch(() => null) : null;
        if (remote) {
          this.#walker.inlineEntries = 0;
          this.#logger.info(`[artifacts] workspaces are on ${remote}: every walk runs on a walker thread`);
        }
        return realRoot;
      },
      (error: unknown) => {
        this.#realRoot = null;
        throw error;
      },
    );
    return this.#realRoot;
  }

  /**
   * What is known of a chat's files. Called only under that chat's lock. Kept for the most
   * recently used chats only: a state nobody holds (its chat is not locked) is rebuilt from the
   * store when needed again, so dropping one loses nothing.
   */
  #state(chatId: string): Promise<ChatState> {
    let state = this.#states.get(chatId);
    if (state) {
      this.#states.delete(chatId);
      this.#states.set(chatId, state);
    } else {
      state = (async () => {
        const records = await this.#store.listChat(chatId);
        const files = new Map<string, KnownFile>();
        for (const [rel, r] of latestByPath(records)) {
          files.set(rel, { size: r.size, mtimeMs: Date.parse(r.modifiedAt), sha256: r.sha256, version: r.version });
        }
        const usedBytes = records.reduce((sum, r) => sum + r.size, 0);
        const skipped = new Map((await this.#store.listSkipped(chatId)).map((s) => [s.path, s]));
        return { files, skipped, usedBytes, owner: await this.#store.getOwner(chatId) };
      })();
      this.#states.set(chatId, state);
      state.catch(() => this.#states.delete(chatId));
      for (const other of this.#states.keys()) {
        if (this.#states.size <= this.#maxCachedChats) break;
        if (!this.#locks.isLocked(other)) this.#states.delete(other);
      }
    }
    return state;
  }

  async #scanLocked(chatId: string, cause: ScanCause): Promise<ScanResult> {
    const state = await this.#state(chatId);
    const incomingOwner = cause.source === 'execution' ? cause.execution.owner : cause.owner ?? null;
    if (incomingOwner && !state.owner) {
      await this.#store.setOwner(chatId, incomingOwner);
      state.owner = incomingOwner;
    }
    const owner = incomingOwner ?? state.owner;
    const realDir = await resolveWorkspace(this.#workspaces.pathFor(chatId), await this.#getRealRoot());
    const { snapshot, covered } = realDir === null ? { snapshot: new Map<string, SnapshotEntry>(), covered: null } : await this.#look(chatId, realDir, state);
    const { added, changed } = diffSnapshot(state.files, snapshot);
    const candidates = [...added, ...changed];

    const pending: Array<{ record: FileRecord; entry: SnapshotEntry }> = [];
    const newlySkipped: SkippedFile[] = [];
    let skippedChanged = false;
    const skip = (rel: string, entry: SnapshotEntry, reason: SkippedFile['reason']) => {
      const modifiedAt = new Date(entry.mtimeMs).toISOString();
      const before = state.skipped.get(rel);
      if (before && before.reason === reason && before.size === entry.size && before.modifiedAt === modifiedAt) return;
      const skipped: SkippedFile = { path: rel, size: entry.size, reason, at: this.#now().toISOString(), modifiedAt };
      state.skipped.set(rel, skipped);
      newlySkipped.push(skipped);
      skippedChanged = true;
    };

    const attribution =
      cause.source === 'execution'
        ? { source: 'execution' as const, execution: { kernelId: cause.execution.kernelId, msgId: cause.execution.msgId }, owner }
        : { source: 'between-executions' as const, execution: null, owner };

    const handle = async (rel: string) => {
      const entry = snapshot.get(rel)!;
      const before = state.skipped.get(rel);
      // A file already reported over a limit, unchanged since: nothing to do. Failed copies are retried.
      if (
        before &&
        before.reason !== 'copy-failed' &&
        before.size === entry.size &&
        before.modifiedAt === new Date(entry.mtimeMs).toISOString()
      ) {
        return;
      }
      const limit = this.policy.limitFor(entry.size, state.usedBytes);
      if (limit) return skip(rel, entry, limit);
      state.usedBytes += entry.size; // reserved while copying, so parallel copies respect the quota
      let put: PutResult | null = null;
      try {
        put = await this.#copy(realDir!, rel, entry);
      } catch (error) {
        if (error instanceof BlobStoreError && error.code === 'ERR_BLOB_TOO_LARGE') skip(rel, entry, 'too-large');
        else {
          this.#logger.error(`[artifacts] copying ${rel} in chat ${chatId} failed: ${describeError(error)}`);
          skip(rel, entry, 'copy-failed');
        }
      } finally {
        state.usedBytes -= entry.size;
      }
      if (!put) return;
      const known = state.files.get(rel);
      if (state.skipped.delete(rel)) skippedChanged = true;
      if (known && known.sha256 === put.sha256) {
        // Touched, not changed: remember the new mtime, record nothing.
        state.files.set(rel, { ...known, size: entry.size, mtimeMs: entry.mtimeMs });
        return;
      }
      state.usedBytes += put.size;
      pending.push({ record: this.#buildRecord(chatId, rel, entry, put, known, attribution), entry });
    };

    if (realDir !== null) {
      let next = 0;
      const worker = async () => {
        while (next < candidates.length) await handle(candidates[next++]!);
      };
      await Promise.all(Array.from({ length: Math.min(this.#copyConcurrency, candidates.length) }, worker));
    }

    for (const rel of state.skipped.keys()) {
      if (!snapshot.has(rel) && (covered === null || covered.has(rel))) {
        state.skipped.delete(rel);
        skippedChanged = true;
      }
    }
    try {
      await this.#commit(chatId, state, pending);
    } catch (error) {
      for (const { record } of pending) state.usedBytes -= record.size;
      throw error;
    }
    if (skippedChanged) await this.#store.setSkipped(chatId, [...state.skipped.values()]);
    for (const skipped of newlySkipped) this.events.emit(chatId, { type: 'skipped', skipped });
    return { recorded: pending.map((p) => p.record), skipped: newlySkipped };
  }

  /**
   * The workspace as it is now: the touched paths only when the journal vouches for the rest
   * (`covered` says which paths were looked at), else a full walk (`covered` null). Skipped files
   * are always looked at, so a failed copy is retried and a vanished one forgotten.
   */
  async #look(
    chatId: string,
    realDir: string,
    state: ChatState,
  ): Promise<{ snapshot: WorkspaceSnapshot; covered: ReadonlySet<string> | null }> {
    const plan = this.#journal ? await this.#journal.plan(chatId, realDir, state.skipped.keys()) : null;
    if (plan?.kind === 'touched') return plan;
    return { snapshot: await walkSnapshot(realDir, this.policy, this.#walker), covered: null };
  }

  /**
   * Copies one file into the blob store. Opened with O_NOFOLLOW and checked against the
   * snapshot's inode: a file swapped for a symlink (or a folder swapped for one) after the walk
   * is not copied. Returns null when the file is gone or was swapped.
   */
  async #copy(realDir: string, rel: string, entry: SnapshotEntry): Promise<PutResult | null> {
    let handle;
    try {
      handle = await open(path.join(realDir, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'ENOENT' || errno === 'ELOOP' || errno === 'ENOTDIR' || errno === 'EACCES') return null;
      throw error;
    }
    try {
      const stats = await handle.stat();
      if (!stats.isFile() || stats.ino !== entry.ino) return null;
      return await this.#blobs.putStream(handle.createReadStream({ autoClose: false }), { maxBytes: this.policy.maxFileBytes });
    } finally {
      await handle.close().catch(() => {});
    }
  }

  #buildRecord(
    chatId: string,
    rel: string,
    entry: SnapshotEntry,
    put: PutResult,
    known: KnownFile | undefined,
    attribution: Pick<FileRecord, 'source' | 'execution' | 'owner'>,
  ): FileRecord {
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    return {
      id: newRecordId(),
      chatId,
      name,
      path: rel,
      size: put.size,
      mimeType: mimeTypeOf(name),
      format: formatLabel(name),
      sha256: put.sha256,
      createdAt: this.#now().toISOString(),
      modifiedAt: new Date(entry.mtimeMs).toISOString(),
      version: (known?.version ?? 0) + 1,
      execution: attribution.execution,
      source: attribution.source,
      owner: attribution.owner,
    };
  }

  /** Blobs are already stored; now the records, then what we know, then the events. */
  async #commit(chatId: string, state: ChatState, pending: Array<{ record: FileRecord; entry: SnapshotEntry }>): Promise<void> {
    if (pending.length === 0) return;
    await this.#store.append(chatId, pending.map((p) => p.record));
    for (const { record, entry } of pending) {
      // Known size/mtime are the snapshot's: if the file changed during the copy, the next scan sees it.
      state.files.set(record.path, { size: entry.size, mtimeMs: entry.mtimeMs, sha256: record.sha256, version: record.version });
    }
    for (const { record } of pending) this.events.emit(chatId, { type: 'file', record });
  }
}
