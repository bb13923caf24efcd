import type { Readable } from 'node:stream';
import type { SkippedFile } from '../../contract/files-api.ts';
import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import { ArtifactError } from './artifact-errors.ts';
import { BlobStoreError, type BlobStore, type PutResult } from '../storage/blob-store.ts';
import type {
  ExecutionEndReason,
  ExecutionFiles,
  ExecutionObserver,
  ExecutionRef,
} from '../executions/execution-observer.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { InProcessFileEventBus, type FileEventBus } from '../storage/file-events.ts';
import { openFileBeneath, type OpenFolder } from '../workspace/folder-fd.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import { DEFAULT_CACHED_CHATS } from '../storage/chat-data.ts';
import { latestByPath, type OutboxEntry, type RecordDraft, type RecordStore } from '../storage/record-store.ts';
import { StoreUnavailableError } from '../storage/store-errors.ts';
import { createTrackingPolicy, UPLOAD_TEMP_PREFIX, type TrackingPolicy } from '../workspace/tracking-policy.ts';
import { DEFAULT_SCAN_TIMEOUT_MS, ScanTimeoutError } from '../workspace/scan-timeout.ts';
import { normalizeUploadPath } from './upload-target.ts';
import {
  diffSnapshot,
  openWorkspace,
  walkSnapshot,
  type SnapshotEntry,
  type WorkspaceSnapshot,
} from '../workspace/workspace-snapshot.ts';
import type { WorkspaceWalker } from '../workspace/workspace-walker.ts';
import { ChangeJournal, type ChangeJournalOptions } from '../workspace/change-journal.ts';
import { ChatStates, type ChatState } from './chat-states.ts';
import { attributionOf, draftRecord, type ScanCause } from './record-drafts.ts';
import { ScanGate } from './scan-gate.ts';
import { writeUpload } from './upload-writer.ts';
import { WalkerSetup } from './walker-setup.ts';

export type { ScanCause } from './record-drafts.ts';

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
  watch?: false | ChangeJournalOptions;
  now?: () => Date;
  /** Told of every scan once it ends: its cause, how long it took, and how it ended (metrics). */
  onScan?: (cause: ScanCause['source'], seconds: number, outcome: ScanOutcome) => void;
}

export type ScanOutcome = 'ok' | 'timeout' | 'store-unavailable' | 'error';

export interface ScanResult {
  recorded: FileRecord[];
  /** Newly skipped during this scan (already-reported ones are not repeated). */
  skipped: SkippedFile[];
}

/**
 * Turns execution boundaries into file records, and uploads into workspace files and records.
 * It orchestrates: what it knows per chat (`ChatStates`), the gate retention waits on
 * (`ScanGate`), skipped files (`SkipLedger`), writing uploads (`writeUpload`), records
 * (`draftRecord`) and the walker (`WalkerSetup`) are parts of their own.
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
  readonly #walking: WalkerSetup;
  readonly #outbox: FileOutbox | undefined;
  readonly #scanTimeoutMs: number;
  readonly #journal: ChangeJournal | null;
  readonly #locks = new KeyedMutex();
  readonly #states: ChatStates;
  readonly #gate = new ScanGate();
  readonly #onScan: ArtifactRecorderOptions['onScan'];

  constructor(options: ArtifactRecorderOptions) {
    this.#store = options.store;
    this.#blobs = options.blobs;
    this.#workspaces = options.workspaces;
    this.events = options.events ?? new InProcessFileEventBus();
    this.policy = options.policy ?? createTrackingPolicy();
    this.#logger = options.logger ?? quietLogger;
    this.#copyConcurrency = Math.max(1, options.copyConcurrency ?? 4);
    this.#now = options.now ?? (() => new Date());
    this.#states = new ChatStates(this.#store, {
      maxCachedChats: Math.max(1, options.maxCachedChats ?? DEFAULT_CACHED_CHATS),
      // A state is dropped only when its chat is not locked: nobody holds it then.
      inUse: (chatId) => this.#locks.isLocked(chatId),
    });
    this.#outbox = options.outbox;
    this.#onScan = options.onScan;
    this.#scanTimeoutMs = Math.max(1, options.scanTimeoutMs ?? DEFAULT_SCAN_TIMEOUT_MS);
    this.#walking = new WalkerSetup(this.#workspaces, this.#logger, options.walker);
    const watch = options.watch ?? false;
    this.#journal = watch ? new ChangeJournal(this.policy, { logger: this.#logger, ...watch }) : null;
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
    await this.#walking.close();
  }

  async executionStarted(chatId: string, execution: ExecutionRef): Promise<void> {
    try {
      await this.scan(chatId, { source: 'between-executions', owner: execution.owner });
    } catch (error) {
      this.#logScanFailure(error, `before execution ${execution.msgId} in chat ${chatId}`);
    }
  }

  async executionEnded(
    chatId: string,
    execution: ExecutionRef,
    reason: ExecutionEndReason,
  ): Promise<ExecutionFiles | undefined> {
    try {
      return await this.scan(chatId, { source: 'execution', execution });
    } catch (error) {
      this.#logScanFailure(error, `after execution ${execution.msgId} (${reason}) in chat ${chatId}`);
      // Nothing was recorded or remembered as known: the chat's next scan finds these files.
      return error instanceof StoreUnavailableError ? { recorded: [], skipped: [], deferred: true } : undefined;
    }
  }

  #logScanFailure(error: unknown, what: string): void {
    if (error instanceof ScanTimeoutError)
      this.#logger.warn(`[artifacts] recording files ${what}: ${error.code}: ${error.message}`);
    else if (error instanceof StoreUnavailableError)
      this.#logger.warn(`[artifacts] recording files ${what} deferred to the chat's next scan: ${error.message}`);
    else this.#logger.error(`[artifacts] scan ${what} failed: ${describeError(error)}`);
  }

  /** Scans and uploads in progress (retention does not collect blobs while any runs). */
  get activeScans(): number {
    return this.#gate.active;
  }

  /**
   * Runs `section` while no scan or upload runs, holding new ones until it ends.
   * Returns false (without running it) when one is already in progress.
   */
  whileIdle(section: () => Promise<void>): Promise<boolean> {
    return this.#gate.whileIdle(section);
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
      timer = setTimeout(
        () => reject(new ScanTimeoutError(`scanning chat ${chatId}`, this.#scanTimeoutMs)),
        this.#scanTimeoutMs,
      );
    });
    const work = this.#gate.busy(() =>
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
    const started = performance.now();
    let outcome: ScanOutcome = 'error';
    try {
      const result = await Promise.race([work, timedOut]);
      outcome = 'ok';
      return result;
    } catch (error) {
      if (error instanceof ScanTimeoutError) outcome = 'timeout';
      else if (error instanceof StoreUnavailableError) outcome = 'store-unavailable';
      throw error;
    } finally {
      clearTimeout(timer);
      this.#onScan?.(cause.source, (performance.now() - started) / 1000, outcome);
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
    options: { maxBytes: number; createOnly?: boolean; source?: 'upload' | 'restore' },
  ): Promise<FileRecord> {
    assertChatId(chatId);
    const requested = normalizeUploadPath(relPath);
    if (this.policy.isHiddenOrPartial(requested) || requested.split('/').pop()!.startsWith(UPLOAD_TEMP_PREFIX)) {
      throw new ArtifactError(
        'ERR_INVALID_PATH',
        `Invalid upload path: hidden and partial names (${requested}) are never recorded.`,
      );
    }
    const maxBytes = Math.min(options.maxBytes, this.policy.maxFileBytes);
    return this.#gate.busy(async () => {
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
        const state = await this.#states.get(chatId);
        // What every sidecar sharing the store has recorded, not only this one.
        state.usedBytes = await this.#store.usedBytes(chatId);
        if (state.usedBytes + put.size > this.policy.quotaBytes) throw this.#overQuota(chatId);
        await this.#workspaces.ensure(chatId);
        const entry = await writeUpload({
          chatId,
          workspaceDir: this.#workspaces.pathFor(chatId),
          realRoot: await this.#walking.realRoot(),
          relPath: requested,
          createOnly: options.createOnly ?? false,
          bytes: () => this.#blobs.open(put.sha256),
        });
        state.sidecarInodes.add(entry.ino);
        const draft = draftRecord(
          chatId,
          requested,
          entry,
          put,
          { source: options.source ?? 'upload', execution: null, owner: owner ?? state.owner },
          this.#now(),
        );
        const { appended, overQuota } = await this.#commit(chatId, state, [{ draft, entry }]);
        // Another sidecar filled the chat since the check above. The file stays in the workspace;
        // the next scan lists it as skipped (over the quota).
        if (overQuota.length > 0) throw this.#overQuota(chatId);
        // The same bytes as the path's latest version: the store appends nothing; that version is the answer.
        const stored = appended[0] ?? latestByPath(await this.#store.listChat(chatId)).get(requested);
        if (!stored) throw new Error(`The upload of ${requested} in chat ${chatId} was neither appended nor found.`);
        return stored;
      });
    });
  }

  #overQuota(chatId: string): ArtifactError {
    return new ArtifactError(
      'ERR_QUOTA_EXCEEDED',
      `Chat ${chatId} would exceed its quota of ${this.policy.quotaBytes} bytes.`,
    );
  }

  async #scanLocked(chatId: string, cause: ScanCause, deadline: number): Promise<ScanResult> {
    const state = await this.#states.get(chatId);
    const incomingOwner = cause.source === 'execution' ? cause.execution.owner : (cause.owner ?? null);
    if (incomingOwner && !state.owner) {
      state.owner = await this.#store.claimOwner(chatId, incomingOwner);
    }
    const owner = incomingOwner ?? state.owner;
    const workspace = await openWorkspace(this.#workspaces.pathFor(chatId), await this.#walking.realRoot());
    try {
      return await this.#scanOpen(chatId, state, owner, cause, workspace, deadline);
    } finally {
      await workspace?.close();
    }
  }

  /** Tracked files added or changed since what is known of the chat. */
  #candidates(state: ChatState, snapshot: WorkspaceSnapshot): string[] {
    const { added, changed } = diffSnapshot(state.files, snapshot);
    return [...added, ...changed];
  }

  /** Leaves out hard-linked files the sidecar did not write (unless allowed), logging each once. */
  #dropHardLinks(chatId: string, state: ChatState, snapshot: WorkspaceSnapshot): void {
    if (this.policy.allowHardLinks) return;
    for (const [rel, entry] of snapshot) {
      if (entry.nlink <= 1 || state.sidecarInodes.has(entry.ino)) continue;
      snapshot.delete(rel);
      if (state.refusedLinks.get(rel) === entry.ino) continue;
      state.refusedLinks.set(rel, entry.ino);
      this.#logger.warn(
        `[artifacts] not recording ${rel} in chat ${chatId}: it has ${entry.nlink} hard links (it may be another chat's or a host file; --allow-hard-links records them)`,
      );
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
    let candidates = this.#candidates(state, snapshot);
    if (candidates.length > 0) {
      // What every sidecar sharing the store has recorded, not only this one.
      state.usedBytes = await this.#store.usedBytes(chatId);
      const incoming = candidates.reduce((sum, rel) => sum + snapshot.get(rel)!.size, 0);
      // Near the quota a file another sidecar already recorded must not count as new (the store
      // would append nothing for it): know what the store holds before the quota skips anything.
      if (state.usedBytes + incoming > this.policy.quotaBytes) {
        await this.#states.refresh(chatId, state);
        candidates = this.#candidates(state, snapshot);
      }
    }

    const pending: Array<{ draft: RecordDraft; entry: SnapshotEntry }> = [];
    const skips = state.skipped.round(this.#now);
    const attribution = attributionOf(cause, owner);

    const handle = async (rel: string) => {
      const entry = snapshot.get(rel)!;
      if (skips.settled(rel, entry)) return;
      const limit = this.policy.limitFor(entry.size, state.usedBytes);
      if (limit) {
        // Reported sizes and dates must be this chat's: the walk's lstat went by path.
        if (await this.#isWorkspaceFile(workspace!, rel, entry)) skips.skip(rel, entry, limit);
        return;
      }
      state.usedBytes += entry.size; // reserved while copying, so parallel copies respect the quota
      let put: PutResult | null = null;
      try {
        put = await this.#copy(chatId, state, workspace!, rel, entry);
      } catch (error) {
        if (error instanceof BlobStoreError && error.code === 'ERR_BLOB_TOO_LARGE') skips.skip(rel, entry, 'too-large');
        else {
          this.#logger.error(`[artifacts] copying ${rel} in chat ${chatId} failed: ${describeError(error)}`);
          skips.skip(rel, entry, 'copy-failed');
        }
      } finally {
        state.usedBytes -= entry.size;
      }
      if (!put) return;
      skips.clear(rel);
      // Even bytes equal to what this process knows go to the store: another sidecar may have
      // recorded other bytes since. The store leaves out a draft equal to the path's latest.
      state.usedBytes += put.size;
      pending.push({ draft: draftRecord(chatId, rel, entry, put, attribution, this.#now()), entry });
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

    skips.forgetGone(snapshot, covered);
    let recorded: FileRecord[];
    try {
      const committed = await this.#commit(chatId, state, pending);
      recorded = committed.appended;
      for (const { entry, draft } of committed.overQuota) skips.skip(draft.path, entry, 'quota-exceeded');
    } catch (error) {
      for (const { draft } of pending) state.usedBytes -= draft.size;
      throw error;
    }
    if (skips.changed) await this.#store.setSkipped(chatId, skips.all(), skips.newly);
    if (skips.newly.length > 0) await this.#publish(chatId);
    if (outOfTime)
      throw new ScanTimeoutError(
        `copying files of chat ${chatId} (${recorded.length} recorded first)`,
        this.#scanTimeoutMs,
      );
    return { recorded, skipped: skips.newly };
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
    const plan = this.#journal ? await this.#journal.plan(chatId, workspace.path, state.skipped.paths()) : null;
    if (plan?.kind === 'touched') return plan;
    return {
      snapshot: await walkSnapshot(workspace, this.policy, this.#walking.walker, Math.max(0, deadline - Date.now())),
      covered: null,
    };
  }

  /**
   * Copies one file into the blob store. Reached from the chat folder's fd one folder at a time
   * (`openFileBeneath`: O_NOFOLLOW everywhere, O_NONBLOCK, fstat), then checked against the
   * snapshot's inode and the hard-link rule: a file or folder swapped for a symlink, a FIFO or
   * anything else after the walk is not copied. Returns null when the file is gone or was refused.
   */
  async #copy(
    chatId: string,
    state: ChatState,
    workspace: OpenFolder,
    rel: string,
    entry: SnapshotEntry,
  ): Promise<PutResult | null> {
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
      return await this.#blobs.putStream(handle.createReadStream({ autoClose: false }), {
        maxBytes: this.policy.maxFileBytes,
      });
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

  /**
   * Blobs are already stored; now the records (the store versions them, leaves out drafts equal
   * to their path's latest and those over the chat's quota, and writes the webhook deliveries
   * owed for exactly what it appended in the same step), then what we know, then the signal.
   * Returns what was appended, and what the quota left out (not known, so looked at again).
   */
  async #commit(
    chatId: string,
    state: ChatState,
    pending: Array<{ draft: RecordDraft; entry: SnapshotEntry }>,
  ): Promise<{ appended: FileRecord[]; overQuota: Array<{ draft: RecordDraft; entry: SnapshotEntry }> }> {
    if (pending.length === 0) return { appended: [], overQuota: [] };
    let owed: OutboxEntry[] = [];
    // Filled by the store during the append (it always calls settle when given drafts).
    const quota = { refused: new Set<RecordDraft>(), usedBytes: state.usedBytes };
    const outbox = this.#outbox;
    const appended = await this.#store.append(
      chatId,
      pending.map((p) => p.draft),
      outbox && ((id, records) => (owed = outbox.entriesFor(id, records))),
      {
        maxBytes: this.policy.quotaBytes,
        settle: (overQuota, usedBytes) => {
          quota.refused = new Set(overQuota);
          quota.usedBytes = usedBytes;
        },
      },
    );
    if (owed.length > 0) outbox!.committed(owed);
    state.usedBytes = quota.usedBytes;
    const overQuota = pending.filter((p) => quota.refused.has(p.draft));
    // Known size/mtime are the snapshot's: if the file changed during the copy, the next scan sees it.
    for (const { draft, entry } of pending)
      if (!quota.refused.has(draft))
        state.files.set(draft.path, { size: entry.size, mtimeMs: entry.mtimeMs, sha256: draft.sha256 });
    if (appended.length > 0) await this.#publish(chatId);
    return { appended, overQuota };
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
