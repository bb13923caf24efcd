import { assertChatId } from '../chats/chat-id.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import { describeError, quietLogger, type Logger } from '../logger.ts';
import type { BlobStore } from '../storage/blob-store.ts';
import type {
  ExecutionEndReason,
  ExecutionFiles,
  ExecutionObserver,
  ExecutionRef,
} from '../executions/execution-observer.ts';
import type { FileRecord } from '../storage/file-record.ts';
import { InProcessFileEventBus, type FileEventBus } from '../storage/file-events.ts';
import { KeyedMutex } from './keyed-mutex.ts';
import type { RecordStore } from '../storage/record-store.ts';
import { StoreUnavailableError } from '../storage/store-errors.ts';
import { createTrackingPolicy, type TrackingPolicy } from '../workspace/tracking-policy.ts';
import { ScanTimeoutError } from '../workspace/scan-timeout.ts';
import type { WorkspaceWalker } from '../workspace/workspace-walker.ts';
import { ChangeJournal, type ChangeJournalOptions } from '../workspace/change-journal.ts';
import { ChatScan, type ScanResult } from './chat-scan.ts';
import { ChatStates } from './chat-states.ts';
import { RecordCommit, type FileOutbox } from './record-commit.ts';
import type { ScanCause } from './record-drafts.ts';
import { ScanCopies } from './scan-copies.ts';
import { ScanGate } from './scan-gate.ts';
import { recordUpload, type UploadParts, type UploadRequest } from './upload-recorder.ts';
import { WalkerSetup } from './walker-setup.ts';

export type { ScanCause } from './record-drafts.ts';
export type { FileOutbox } from './record-commit.ts';
export type { ScanResult } from './chat-scan.ts';

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
  /** Chats whose known file state stays in memory (least recently used dropped first; at least 1). */
  maxCachedChats: number;
  /** A scan (waiting for its chat, walking, copying) fails with ERR_SCAN_TIMEOUT after this long (`--scan-timeout-s`). */
  scanTimeoutMs: number;
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

/**
 * Turns execution boundaries into file records, and uploads into workspace files and records.
 * It orchestrates scans: what it knows per chat (`ChatStates`, with each chat's `ChatUsage`), the
 * gate retention waits on (`ScanGate`), skipped files (`SkipLedger`), copying (`ScanCopies`), the
 * commit (`RecordCommit`) and the walker (`WalkerSetup`) are parts of their own; uploads are
 * `upload-recorder.ts`'s, sharing the gate, the chat locks and states, and the commit.
 */
export class ArtifactRecorder implements ExecutionObserver {
  readonly events: FileEventBus;
  readonly policy: TrackingPolicy;
  readonly #logger: Logger;
  readonly #walking: WalkerSetup;
  readonly #scanTimeoutMs: number;
  readonly #journal: ChangeJournal | null;
  readonly #locks = new KeyedMutex();
  readonly #states: ChatStates;
  readonly #gate = new ScanGate();
  readonly #chatScan: ChatScan;
  readonly #uploads: UploadParts;
  readonly #onScan: ArtifactRecorderOptions['onScan'];
  /** The workspace is scanned as soon as the kernel has run the code (see ExecutionObserver). */
  readonly recordsAtFirstHalf = true;

  constructor(options: ArtifactRecorderOptions) {
    const { store, blobs, workspaces, outbox } = options;
    const policy = (this.policy = options.policy ?? createTrackingPolicy());
    const logger = (this.#logger = options.logger ?? quietLogger);
    const now = options.now ?? (() => new Date());
    this.events = options.events ?? new InProcessFileEventBus();
    const states = (this.#states = new ChatStates(store, {
      policy,
      maxCachedChats: options.maxCachedChats,
      // A state is dropped only when its chat is not locked: nobody holds it then.
      inUse: (chatId) => this.#locks.isLocked(chatId),
    }));
    this.#onScan = options.onScan;
    const scanTimeoutMs = (this.#scanTimeoutMs = options.scanTimeoutMs);
    const walking = (this.#walking = new WalkerSetup(workspaces, logger, options.walker));
    const watch = options.watch ?? false;
    const journal = (this.#journal = watch ? new ChangeJournal(policy, { logger, ...watch }) : null);
    const commit = new RecordCommit({ store, events: this.events, outbox, logger });
    const concurrency = Math.max(1, options.copyConcurrency ?? 4);
    const copies = new ScanCopies({ blobs, policy, logger, now, concurrency });
    const parts = { store, workspaces, policy, logger, states, walking, journal, copies, commit, now, scanTimeoutMs };
    this.#chatScan = new ChatScan(parts);
    const realRoot = () => walking.realRoot();
    this.#uploads = {
      store,
      blobs,
      workspaces,
      policy,
      gate: this.#gate,
      locks: this.#locks,
      states,
      commit,
      realRoot,
      now,
    };
  }

  /**
   * Chat workspaces watched with inotify now; 0 without `--watch-workspaces`. Public as pg-pool's
   * `waitingCount` is: `/metrics` reads it (`sidecar_watched_chats`), since each watched chat holds
   * inotify watches (one a folder) against the host's `fs.inotify.max_user_watches`.
   */
  get watchedChats(): number {
    return this.#journal?.watchedChats ?? 0;
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
          return await this.#chatScan.run(chatId, cause, deadline);
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

  /** Stores an uploaded file in the workspace and records it (`upload-recorder.ts`). */
  recordUpload(...upload: UploadRequest): Promise<FileRecord> {
    return recordUpload(this.#uploads, ...upload);
  }
}
