import type { SkippedFile } from '../../contract/files-api.ts';
import type { Workspaces } from '../chats/workspaces.ts';
import type { Logger } from '../logger.ts';
import type { FileRecord } from '../storage/file-record.ts';
import type { RecordStore } from '../storage/record-store.ts';
import type { ChangeJournal } from '../workspace/change-journal.ts';
import type { OpenFolder } from '../workspace/folder-fd.ts';
import { ScanTimeoutError } from '../workspace/scan-timeout.ts';
import type { TrackingPolicy } from '../workspace/tracking-policy.ts';
import {
  diffSnapshot,
  openWorkspace,
  walkSnapshot,
  workspaceRealPath,
  type SnapshotEntry,
  type WorkspaceSnapshot,
} from '../workspace/workspace-snapshot.ts';
import type { ChatState, ChatStates } from './chat-states.ts';
import { dropHardLinks } from './hard-links.ts';
import type { RecordCommit } from './record-commit.ts';
import { attributionOf, type ScanCause } from './record-drafts.ts';
import type { ScanCopies } from './scan-copies.ts';
import type { WalkerSetup } from './walker-setup.ts';

export interface ScanResult {
  recorded: FileRecord[];
  /** Newly skipped during this scan (already-reported ones are not repeated). */
  skipped: SkippedFile[];
}

export interface ChatScanParts {
  store: RecordStore;
  workspaces: Workspaces;
  policy: TrackingPolicy;
  logger: Logger;
  states: ChatStates;
  walking: WalkerSetup;
  journal: ChangeJournal | null;
  copies: ScanCopies;
  commit: RecordCommit;
  now: () => Date;
  scanTimeoutMs: number;
}

/**
 * One scan of one chat, in steps: look at the workspace (the journal's touched paths, or a walk),
 * leave out refused hard links, pick the new and changed files, copy them (`ScanCopies`), commit
 * their records (`RecordCommit`), and store the chat's skipped files.
 */
export class ChatScan {
  readonly #store: RecordStore;
  readonly #workspaces: Workspaces;
  readonly #policy: TrackingPolicy;
  readonly #logger: Logger;
  readonly #states: ChatStates;
  readonly #walking: WalkerSetup;
  readonly #journal: ChangeJournal | null;
  readonly #copies: ScanCopies;
  readonly #commit: RecordCommit;
  readonly #now: () => Date;
  readonly #scanTimeoutMs: number;

  constructor(parts: ChatScanParts) {
    this.#store = parts.store;
    this.#workspaces = parts.workspaces;
    this.#policy = parts.policy;
    this.#logger = parts.logger;
    this.#states = parts.states;
    this.#walking = parts.walking;
    this.#journal = parts.journal;
    this.#copies = parts.copies;
    this.#commit = parts.commit;
    this.#now = parts.now;
    this.#scanTimeoutMs = parts.scanTimeoutMs;
  }

  /** Scans one chat, which the caller holds (its lock), until `deadline` (ms since the epoch). */
  async run(chatId: string, cause: ScanCause, deadline: number): Promise<ScanResult> {
    const state = await this.#states.get(chatId);
    const incomingOwner = cause.source === 'execution' ? cause.execution.owner : (cause.owner ?? null);
    if (incomingOwner && !state.owner) {
      state.owner = await this.#store.claimOwner(chatId, incomingOwner);
    }
    const owner = incomingOwner ?? state.owner;
    const folder = new ChatFolder(this.#workspaces.pathFor(chatId), await this.#walking.realRoot());
    try {
      return await this.#scanFolder(chatId, state, owner, cause, folder, deadline);
    } finally {
      await folder.close();
    }
  }

  /** Tracked files added or changed since what is known of the chat. */
  #candidates(state: ChatState, snapshot: WorkspaceSnapshot): string[] {
    const { added, changed } = diffSnapshot(state.files, snapshot);
    return [...added, ...changed];
  }

  async #scanFolder(
    chatId: string,
    state: ChatState,
    owner: string | null,
    cause: ScanCause,
    folder: ChatFolder,
    deadline: number,
  ): Promise<ScanResult> {
    let look = await this.#look(chatId, folder, state, deadline);
    dropHardLinks(chatId, state, look.snapshot, this.#policy, this.#logger);
    let candidates = await this.#knownCandidates(chatId, state, look.snapshot);
    if (candidates.length > 0 && look.workspace === undefined) {
      const opened = await this.#openLooked(chatId, folder, look, deadline);
      if (opened.snapshot !== look.snapshot) {
        dropHardLinks(chatId, state, opened.snapshot, this.#policy, this.#logger);
        candidates = await this.#knownCandidates(chatId, state, opened.snapshot);
      }
      look = opened;
    }
    const { snapshot, covered, workspace } = look;
    const skips = state.skipped.round(this.#now);
    const { pending, outOfTime } =
      !workspace || candidates.length === 0
        ? { pending: [], outOfTime: false }
        : await this.#copies.copyAll({
            chatId,
            state,
            workspace,
            snapshot,
            candidates,
            skips,
            attribution: attributionOf(cause, owner),
            deadline,
          });
    skips.forgetGone(snapshot, covered);
    let recorded: FileRecord[];
    try {
      const committed = await this.#commit.commit(chatId, state, pending);
      recorded = committed.appended;
      for (const { entry, draft } of committed.overQuota) skips.skip(draft.path, entry, 'quota-exceeded');
    } catch (error) {
      for (const { draft } of pending) state.usage.release(draft.size);
      throw error;
    }
    if (skips.changed) await this.#store.setSkipped(chatId, skips.all(), skips.newly);
    if (skips.newly.length > 0) await this.#commit.publish(chatId);
    if (outOfTime)
      throw new ScanTimeoutError(
        `copying files of chat ${chatId} (${recorded.length} recorded first)`,
        this.#scanTimeoutMs,
      );
    return { recorded, skipped: skips.newly };
  }

  /**
   * The candidates, counted against what every sidecar sharing the store has recorded. Near the
   * quota a file another sidecar already recorded must not count as new (the store would append
   * nothing for it): then what the store holds is read before the quota skips anything.
   */
  async #knownCandidates(chatId: string, state: ChatState, snapshot: WorkspaceSnapshot): Promise<string[]> {
    const candidates = this.#candidates(state, snapshot);
    if (candidates.length === 0) return candidates;
    await state.usage.sync(this.#store, chatId);
    const incoming = candidates.reduce((sum, rel) => sum + snapshot.get(rel)!.size, 0);
    if (!state.usage.exceeds(incoming)) return candidates;
    await this.#states.refresh(chatId, state);
    return this.#candidates(state, snapshot);
  }

  /**
   * The workspace as it is now: the touched paths only when the journal vouches for the rest
   * (`covered` says which paths were looked at), else a full walk (`covered` null). Skipped files
   * are always looked at, so a failed copy is retried and a vanished one forgotten. A chat the
   * journal already watches is planned before its folder is opened: most scans (the one before an
   * execution, and the one after an execution that wrote nothing) then find nothing to copy and
   * never open it (`workspace` undefined). Otherwise the folder is opened first (null: there is
   * none, an empty snapshot), so the first plan, which attaches the watches, sees it exists.
   */
  async #look(chatId: string, folder: ChatFolder, state: ChatState, deadline: number): Promise<Look> {
    if (this.#journal?.watches(chatId, folder.realPath)) {
      const plan = await this.#journal.plan(chatId, folder.realPath, state.skipped.paths());
      if (plan.kind === 'touched') return { ...plan, workspace: undefined };
      return this.#walk(await folder.open(), deadline);
    }
    const workspace = await folder.open();
    if (workspace === null) return { snapshot: new Map<string, SnapshotEntry>(), covered: null, workspace };
    const plan = this.#journal ? await this.#journal.plan(chatId, workspace.path, state.skipped.paths()) : null;
    if (plan?.kind === 'touched') return { ...plan, workspace };
    return this.#walk(workspace, deadline);
  }

  /**
   * There are files to copy from what the journal looked up by path: open the folder, and if it is
   * not the one whose paths were looked at (replaced since, or gone), walk the one opened instead.
   */
  async #openLooked(chatId: string, folder: ChatFolder, looked: Look, deadline: number): Promise<Look> {
    const workspace = await folder.open();
    if (workspace !== null && (await workspace.handle.stat()).ino === looked.rootIno) return { ...looked, workspace };
    this.#journal?.invalidate(chatId);
    return this.#walk(workspace, deadline);
  }

  async #walk(workspace: OpenFolder | null, deadline: number): Promise<Look> {
    if (workspace === null) return { snapshot: new Map<string, SnapshotEntry>(), covered: null, workspace };
    const timeoutMs = Math.max(0, deadline - Date.now());
    return {
      snapshot: await walkSnapshot(workspace, this.#policy, this.#walking.walker, timeoutMs),
      covered: null,
      workspace,
    };
  }
}

/** What a scan saw, and the folder it opened to see it (undefined: looked up by path, not opened yet). */
interface Look {
  snapshot: WorkspaceSnapshot;
  covered: ReadonlySet<string> | null;
  workspace: OpenFolder | null | undefined;
  /** The inode of the folder the journal looked the paths up under. */
  rootIno?: number;
}

/** A chat's folder, opened on first use (null: it does not exist) and closed once the scan is done. */
class ChatFolder {
  readonly realPath: string;
  readonly #dir: string;
  readonly #realRoot: string;
  #opened: Promise<OpenFolder | null> | null = null;

  constructor(dir: string, realRoot: string) {
    this.#dir = dir;
    this.#realRoot = realRoot;
    this.realPath = workspaceRealPath(dir, realRoot);
  }

  open(): Promise<OpenFolder | null> {
    this.#opened ??= openWorkspace(this.#dir, this.#realRoot);
    return this.#opened;
  }

  async close(): Promise<void> {
    await (await this.#opened?.catch(() => null))?.close();
  }
}
