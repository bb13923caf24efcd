import { randomBytes, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { SkippedFile } from '../../contract/files-api.ts';
import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { ArtifactError } from './artifact-errors.ts';
import { BlobStoreError, type BlobStore, type PutResult } from '../storage/blob-store.ts';
import type { ExecutionEndReason, ExecutionFiles, ExecutionObserver, ExecutionRef } from '../executions/execution-observer.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { InProcessFileEventBus, type FileEventBus } from '../storage/file-events.ts';
import { remoteFileSystemAt } from '../workspace/file-system-kind.ts';
import { entryPath, errnoOf, openFileBeneath, openFolderBeneath, type OpenFolder } from '../workspace/folder-fd.ts';
import { formatLabel, mimeTypeOf } from '../workspace/format-label.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { DEFAULT_CACHED_CHATS } from '../storage/chat-data.ts';
import { latestByPath, type OutboxEntry, type RecordDraft, type RecordStore } from '../storage/record-store.ts';
import { createTrackingPolicy, UPLOAD_TEMP_PREFIX, type TrackingPolicy } from '../workspace/tracking-policy.ts';
import { DEFAULT_SCAN_TIMEOUT_MS, ScanTimeoutError } from '../workspace/scan-timeout.ts';
import { normalizeUploadPath } from './upload-target.ts';
import { diffSnapshot, openWorkspace, walkSnapshot, type SnapshotEntry, type WorkspaceSnapshot } from '../workspace/workspace-snapshot.ts';
import { WorkspaceWalker } from '../workspace/workspace-walker.ts';
import { ChangeJournal, type ChangeJournalOptions } from '../workspace/change-journal.ts';

export const DEFAULT_UPLOAD_LIMIT_BYTES = 100 * 1024 ** 2;

/**
 * Deliveries owed for new records (webhooks): the recorder writes them in the same store append
 * as the records, then says they are durable.
 */
export interface FileOutbox {
  entriesFor(chatId: string, records: readonly FileRecord[]): OutboxEntry[];
  committed(entries: readonly OutboxEntry[]): void;
}

export interface ArtifactRecorderOptions {
  /** Webhook deliveries to queue with each append; none by default. */
  outbox?: FileOutbox;
  store: RecordStore;
  blobs: BlobStore;
  workspaces: Workspaces;
  /** Where stored changes are announced (in-process by default; PostgreSQL's NOTIFY across sidecars). */
  events?: FileEventBus;
  policy?: TrackingPolicy;
  logger?: Logger;
  /** Files copied at once during a scan. */
  copyConcurrency?: number;
  /** Worker threads that walk workspaces; the recorder makes (and closes) its own by default. */
  walker?: WorkspaceWalker;
  /** Chats whose known file state stays in memory (least recently used dropped first). */
  maxCachedChats?: number;
  /** A scan (waiting for its chat, walking, copying) fails with ERR_SCAN_TIMEOUT after this long. */
  scanTimeoutMs?: number;
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
}

interface ChatState {
  files: Map<string, KnownFile>;
  skipped: Map<string, SkippedFile>;
  /** Bytes of every recorded version: what the quota counts. */
  usedBytes: number;
  owner: string | null;
  /**
   * Inodes this sidecar wrote into the chat's workspace (uploads): recorded even when the kernel
   * hard-links them. In memory only: after a restart such a file needs `allowHardLinks`.
   */
  sidecarInodes: Set<number>;
  /** Hard-linked files already logged as refused (path -> inode), so each is logged once. */
  refusedLinks: Map<string, number>;
}

function workspaceChanged(relPath: string): ArtifactError {
  return new ArtifactError('ERR_WORKSPACE_CHANGED', `A folder of ${relPath} was removed or moved during the upload; nothing was written. Try again.`);
}

function newRecordId(): string {
  return randomBytes(12).toString('base64url');
}

/**
 * Turns execution boundaries into file records. Per chat it keeps what it knows of each path
 * (size, mtime, sha256, version), built lazily from the store, so a restart neither re-records
 * unchanged files nor misses files changed while it was down.
 */
export class ArtifactRecorder implements ExecutionObserver {
  readonly events: FileEventBus;
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
  readonly #outbox: FileOutbox | undefined;
  readonly #scanTimeoutMs: number;
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
    this.events = options.events ?? new InProcessFileEventBus();
    this.policy = options.policy ?? createTrackingPolicy();
    this.#logger = options.logger ?? quietLogger;
    this.#copyConcurrency = Math.max(1, options.copyConcurrency ?? 4);
    this.#now = options.now ?? (() => new Date());
    this.#maxCachedChats = Math.max(1, options.maxCachedChats ?? DEFAULT_CACHED_CHATS);
    this.#outbox = options.outbox;
    this.#scanTimeoutMs = Math.max(1, options.scanTimeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS);
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
      this.#logScanFailure(error, `before execution ${execution.msgId} in chat ${chatId}`);
    }
  }

  async executionEnded(chatId: string, execution: ExecutionRef, reason: ExecutionEndReason): Promise<ExecutionFiles | undefined> {
    try {
      return await this.scan(chatId, { source: 'execution', execution });
    } catch (error) {
      this.#logScanFailure(error, `after execution ${execution.msgId} (${reason}) in chat ${chatId}`);
      return undefined;
    }
  }

  #logScanFailure(error: unknown, what: string): void {
    if (error instanceof ScanTimeoutError) this.#logger.warn(`[artifacts] recording files ${what}: ${error.code}: ${error.message}`);
    else this.#logger.error(`[artifacts] scan ${what} failed: ${describeError(error)}`);
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

  /**
   * Snapshot the chat's workspace and record every new or changed tracked file. Fails with
   * ERR_SCAN_TIMEOUT once `scanTimeoutMs` have passed (waiting for the chat's previous scan
   * included). The scan itself then stops starting copies, records what it copied, and lets go
   * of the chat; files it did not get to are found by the next scan.
   */
  async scan(chatId: string, cause: ScanCause): Promise<ScanResult> {
    assertChatId(chatId);
    const deadline = Date.now() + this.#scanTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ScanTimeoutError(`scanning chat ${chatId}`, this.#scanTimeoutMs)), this.#scanTimeoutMs);
    });
    const work = this.#busy(() =>
      this.#locks.run(chatId, async () => {
        try {
          return await this.#scanLocked(chatId, cause, deadline);
        } catch (error) {
          // The journal's window was taken: without this the paths it held would not be looked at again.
          this.#journal?.invalidate(chatId);
          throw error;
        }
      }),
    );
    work.catch(() => {}); // its failure after a timeout was already reported as the timeout
    try {
      return await Promise.race([work, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Stores an uploaded file: streams it into the blob store (at most `maxBytes`), then writes
   * it into the workspace at `relPath` and records it with source 'upload' (or 'restore', when
   * an older version is put back).
   */
  async recordUpload(
    chatId: string,
    relPath: string,
    stream: Readable,
    owner: string | null,
    options: { maxBytes?: number; createOnly?: boolean; source?: 'upload' | 'restore' } = {},
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
        const entry = await this.#writeUpload(chatId, requested, put.sha256, options.createOnly ?? false);
        state.sidecarInodes.add(entry.ino);
        const draft = this.#buildRecord(chatId, requested, entry, put, {
          source: options.source ?? 'upload',
          execution: null,
          owner: owner ?? state.owner,
        });
        // The same bytes as the path's latest version: the store appends nothing; that version is the answer.
        const [record] = await this.#commit(chatId, state, [{ draft, entry }]);
        const stored = record ?? latestByPath(await this.#store.listChat(chatId)).get(requested);
        if (!stored) throw new Error(`The upload of ${requested} in chat ${chatId} was neither appended nor found.`);
        return stored;
      });
    });
  }

  /**
   * Writes an uploaded blob into the workspace at `relPath`: the folders are opened (and made)
   * one at a time relative to the chat folder's fd, refusing a symlink at each step, and the temp
   * file is created and renamed relative to the final folder's fd. The folder that was checked is
   * the folder that is written: a folder swapped for a symlink meanwhile gets nothing.
   */
  async #writeUpload(chatId: string, relPath: string, sha256: string, createOnly: boolean): Promise<SnapshotEntry> {
    await this.#workspaces.ensure(chatId);
    const workspace = await openWorkspace(this.#workspaces.pathFor(chatId), await this.#getRealRoot());
    if (!workspace) throw new ArtifactError('ERR_PATH_OUTSIDE_WORKSPACE', `The workspace of chat ${chatId} vanished during the upload.`);
    const segments = relPath.split('/');
    const name = segments.pop()!;
    let folder: OpenFolder | null = null;
    try {
      try {
        folder = await openFolderBeneath(workspace, segments, { create: true });
      } catch (error) {
        const errno = errnoOf(error);
        if (errno === 'ELOOP') throw new ArtifactError('ERR_PATH_OUTSIDE_WORKSPACE', `Upload path ${relPath} goes through a symlink: nothing is written through one.`);
        if (errno === 'ENOTDIR' || errno === 'EEXIST') throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: a parent of ${relPath} is not a folder.`);
        if (errno === 'ENOENT') throw workspaceChanged(relPath);
        throw error;
      }
      const temp = entryPath(folder, `${UPLOAD_TEMP_PREFIX}${randomUUID()}.part`);
      let handle: FileHandle | null = null;
      try {
        // O_EXCL|O_NOFOLLOW: a fresh file of our own, never a name the kernel prepared.
        handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
        await handle.chmod(0o644); // the umask may have narrowed it; the kernel must read it
        for await (const chunk of await this.#blobs.open(sha256)) {
          const bytes = chunk as Buffer;
          for (let offset = 0; offset < bytes.byteLength; ) offset += (await handle.write(bytes, offset)).bytesWritten;
        }
        const stats = await handle.stat();
        await handle.close();
        handle = null;
        if (createOnly) {
          // link() never replaces: an existing name fails with EEXIST, atomically, under the same folder fd.
          await link(temp, entryPath(folder, name));
          await unlink(temp);
        } else {
          await rename(temp, entryPath(folder, name));
        }
        return { size: stats.size, mtimeMs: Math.trunc(stats.mtimeMs), ino: stats.ino, nlink: 1 };
      } catch (error) {
        await handle?.close().catch(() => {});
        await unlink(temp).catch(() => {});
        if (errnoOf(error) === 'EISDIR' || errnoOf(error) === 'ENOTDIR') {
          throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: ${relPath} is a folder.`);
        }
        if (errnoOf(error) === 'EEXIST' && createOnly) {
          throw new ArtifactError('ERR_UPLOAD_CONFLICT', `${relPath} already exists: send the upload without If-None-Match to replace it.`);
        }
        // The folder fd names a folder that was removed meanwhile: nothing was written anywhere else.
        if (errnoOf(error) === 'ENOENT') throw workspaceChanged(relPath);
        throw error;
      }
    } finally {
      if (folder && folder !== workspace) await folder.close();
      await workspace.close();
    }
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
          files.set(rel, { size: r.size, mtimeMs: Date.parse(r.modifiedAt), sha256: r.sha256 });
        }
        const usedBytes = records.reduce((sum, r) => sum + r.size, 0);
        const skipped = new Map((await this.#store.listSkipped(chatId)).map((s) => [s.path, s]));
        return { files, skipped, usedBytes, owner: await this.#store.getOwner(chatId), sidecarInodes: new Set<number>(), refusedLinks: new Map<string, number>() };
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

  async #scanLocked(chatId: string, cause: ScanCause, deadline: number): Promise<ScanResult> {
    const state = await this.#state(chatId);
    const incomingOwner = cause.source === 'execution' ? cause.execution.owner : cause.owner ?? null;
    if (incomingOwner && !state.owner) {
      state.owner = await this.#store.claimOwner(chatId, incomingOwner);
    }
    const owner = incomingOwner ?? state.owner;
    const workspace = await openWorkspace(this.#workspaces.pathFor(chatId), await this.#getRealRoot());
    try {
      return await this.#scanOpen(chatId, state, owner, cause, workspace, deadline);
    } finally {
      await workspace?.close();
    }
  }

  /** Leaves out hard-linked files the sidecar did not write (unless allowed), logging each once. */
  #dropHardLinks(chatId: string, state: ChatState, snapshot: WorkspaceSnapshot): void {
    if (this.policy.allowHardLinks) return;
    for (const [rel, entry] of snapshot) {
      if (entry.nlink <= 1 || state.sidecarInodes.has(entry.ino)) continue;
      snapshot.delete(rel);
      if (state.refusedLinks.get(rel) === entry.ino) continue;
      state.refusedLinks.set(rel, entry.ino);
      this.#logger.warn(`[artifacts] not recording ${rel} in chat ${chatId}: it has ${entry.nlink} hard links (it may be another chat's or a host file; --allow-hard-links records them)`);
    }
  }

  async #scanOpen(
    chatId: string,
    state: ChatState,
    owner: string | null,
    cause: ScanCause,
    workspace: OpenFolder | null,
    deadline: number,
  ): Promise<ScanResult> {
    const { snapshot, covered } =
      workspace === null
        ? { snapshot: new Map<string, SnapshotEntry>(), covered: null }
        : await this.#look(chatId, workspace, state, deadline);
    this.#dropHardLinks(chatId, state, snapshot);
    const { added, changed } = diffSnapshot(state.files, snapshot);
    const candidates = [...added, ...changed];

    const pending: Array<{ draft: RecordDraft; entry: SnapshotEntry }> = [];
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
      if (limit) {
        // Reported sizes and dates must be this chat's: the walk's lstat went by path.
        if (await this.#isWorkspaceFile(workspace!, rel, entry)) skip(rel, entry, limit);
        return;
      }
      state.usedBytes += entry.size; // reserved while copying, so parallel copies respect the quota
      let put: PutResult | null = null;
      try {
        put = await this.#copy(chatId, state, workspace!, rel, entry);
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
      if (state.skipped.delete(rel)) skippedChanged = true;
      // Even bytes equal to what this process knows go to the store: another sidecar may have
      // recorded other bytes since. The store leaves out a draft equal to the path's latest.
      state.usedBytes += put.size;
      pending.push({ draft: this.#buildRecord(chatId, rel, entry, put, attribution), entry });
    };

    let outOfTime = false;
    if (workspace !== null) {
      let next = 0;
      const worker = async () => {
        while (next < candidates.length) {
          if (Date.now() > deadline) {
            outOfTime = true; // what is copied is recorded below; the rest waits for the next scan
            return;
          }
          await handle(candidates[next++]!);
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.#copyConcurrency, candidates.length) }, worker));
    }

    for (const rel of state.skipped.keys()) {
      if (!snapshot.has(rel) && (covered === null || covered.has(rel))) {
        state.skipped.delete(rel);
        skippedChanged = true;
      }
    }
    let recorded: FileRecord[];
    try {
      recorded = await this.#commit(chatId, state, pending);
    } catch (error) {
      for (const { draft } of pending) state.usedBytes -= draft.size;
      throw error;
    }
    if (skippedChanged) await this.#store.setSkipped(chatId, [...state.skipped.values()], newlySkipped);
    if (newlySkipped.length > 0) await this.#publish(chatId);
    if (outOfTime) throw new ScanTimeoutError(`copying files of chat ${chatId} (${recorded.length} recorded first)`, this.#scanTimeoutMs);
    return { recorded, skipped: newlySkipped };
  }

  /**
   * The workspace as it is now: the touched paths only when the journal vouches for the rest
   * (`covered` says which paths were looked at), else a full walk (`covered` null). Skipped files
   * are always looked at, so a failed copy is retried and a vanished one forgotten.
   */
  async #look(
    chatId: string,
    workspace: OpenFolder,
    state: ChatState,
    deadline: number,
  ): Promise<{ snapshot: WorkspaceSnapshot; covered: ReadonlySet<string> | null }> {
    const plan = this.#journal ? await this.#journal.plan(chatId, workspace.path, state.skipped.keys()) : null;
    if (plan?.kind === 'touched') return plan;
    return { snapshot: await walkSnapshot(workspace, this.policy, this.#walker, Math.max(0, deadline - Date.now())), covered: null };
  }

  /**
   * Copies one file into the blob store. Reached from the chat folder's fd one folder at a time
   * (`openFileBeneath`: O_NOFOLLOW everywhere, O_NONBLOCK, fstat), then checked against the
   * snapshot's inode and the hard-link rule: a file or folder swapped for a symlink, a FIFO or
   * anything else after the walk is not copied. Returns null when the file is gone or was refused.
   */
  async #copy(chatId: string, state: ChatState, workspace: OpenFolder, rel: string, entry: SnapshotEntry): Promise<PutResult | null> {
    const opened = await openFileBeneath(workspace, rel);
    if (opened === 'gone') return null;
    if (opened === 'not-regular') {
      this.#logger.warn(`[artifacts] not recording ${rel} in chat ${chatId}: it is no longer a regular file`);
      return null;
    }
    const { handle, stats } = opened;
    try {
      if (stats.ino !== entry.ino) return null;
      if (stats.nlink > 1 && !this.policy.allowHardLinks && !state.sidecarInodes.has(stats.ino)) return null;
      return await this.#blobs.putStream(handle.createReadStream({ autoClose: false }), { maxBytes: this.policy.maxFileBytes });
    } finally {
      await handle.close().catch(() => {});
    }
  }

  /** Is `rel`, reached relative to the chat folder's fd, the regular file the walk saw? */
  async #isWorkspaceFile(workspace: OpenFolder, rel: string, entry: SnapshotEntry): Promise<boolean> {
    const opened = await openFileBeneath(workspace, rel);
    if (typeof opened === 'string') return false;
    await opened.handle.close().catch(() => {});
    return opened.stats.ino === entry.ino;
  }

  #buildRecord(
    chatId: string,
    rel: string,
    entry: SnapshotEntry,
    put: PutResult,
    attribution: Pick<FileRecord, 'source' | 'execution' | 'owner'>,
  ): RecordDraft {
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
      execution: attribution.execution,
      source: attribution.source,
      owner: attribution.owner,
    };
  }

  /**
   * Blobs are already stored; now the records (the store versions them, leaves out drafts equal
   * to their path's latest, and writes the webhook deliveries owed for exactly what it appended
   * in the same step), then what we know, then the signal. Returns what was appended.
   */
  async #commit(chatId: string, state: ChatState, pending: Array<{ draft: RecordDraft; entry: SnapshotEntry }>): Promise<FileRecord[]> {
    if (pending.length === 0) return [];
    let owed: OutboxEntry[] = [];
    const outbox = this.#outbox;
    const appended = await this.#store.append(
      chatId,
      pending.map((p) => p.draft),
      outbox && ((id, records) => (owed = outbox.entriesFor(id, records))),
    );
    if (owed.length > 0) outbox!.committed(owed);
    const appendedIds = new Set(appended.map((r) => r.id));
    for (const { draft, entry } of pending) {
      // Known size/mtime are the snapshot's: if the file changed during the copy, the next scan sees it.
      state.files.set(draft.path, { size: entry.size, mtimeMs: entry.mtimeMs, sha256: draft.sha256 });
      if (!appendedIds.has(draft.id)) state.usedBytes -= draft.size; // not a new version: counts nothing
    }
    if (appended.length > 0) await this.#publish(chatId);
    return appended;
  }

  /** Tells subscribers (on every sidecar sharing the store) that the chat has new events. */
  async #publish(chatId: string): Promise<void> {
    try {
      await this.events.publish(chatId, await this.#store.lastEventSeq(chatId));
    } catch (error) {
      // Stored already: a subscriber catches up at its next signal or reconnect.
      this.#logger.warn(`[artifacts] announcing new files in chat ${chatId} failed: ${describeError(error)}`);
    }
  }
}
