import { lstatSync, readFileSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { quietLogger, describeError, type Logger } from '../logger.ts';
import { LruMap } from '../lru-map.ts';
import { remoteFileSystemAt } from './file-system-kind.ts';
import { MAX_FOLDER_DEPTH } from './folder-fd.ts';
import {
  BarrierTimeoutError,
  InotifyBarrier,
  watchFolder,
  type FolderWatch,
  type WatchFolder,
} from './inotify-barrier.ts';
import type { TrackingPolicy } from './tracking-policy.ts';
import type { SnapshotEntry, WorkspaceSnapshot } from './workspace-snapshot.ts';
import { SidecarError } from '../errors.ts';

export interface ChangeJournalOptions {
  /** A chat's workspace is walked whole at least this often, 0: only when events cannot be trusted (--workspace-audit-min). */
  auditIntervalMs: number;
  /** More touched paths than this in one window: walk instead (a walk is cheaper than that many events). */
  maxTouchedPaths?: number;
  /** A chat with more folders than this is not watched (each folder is one inotify watch). */
  maxWatchedFolders?: number;
  /** Chats watched at once; the least recently scanned one is dropped (and walked whole next time). */
  maxWatchedChats?: number;
  /**
   * The kernel's inotify queue length (`/proc/sys/fs/inotify/max_queued_events`). libuv drops
   * the overflow event, so an overflow is inferred from how many events arrived (see `plan`).
   */
  maxQueuedEvents?: number;
  /** Seam: `fs.watch` on one folder. */
  watch?: WatchFolder;
  /** Seam: the file system kind of a chat folder (null for local). */
  remoteFileSystemAt?: (dir: string) => Promise<string | null>;
  logger?: Logger;
  now?: () => number;
}

/** Why a scan walks the whole workspace rather than the touched paths. */
export type FullWalkReason =
  | 'not-watched-yet'
  | 'remote-file-system'
  | 'watch-failed'
  | 'events-may-have-overflowed'
  | 'too-many-touched-paths'
  | 'new-folder'
  | 'workspace-replaced'
  | 'audit'
  | 'invalidated';

export type ScanPlan =
  | { kind: 'walk'; reason: FullWalkReason }
  /**
   * What the touched paths look like now; `covered` are all paths looked at (present or not);
   * `rootIno` the workspace folder's inode they were looked up under (by path).
   */
  | { kind: 'touched'; snapshot: WorkspaceSnapshot; covered: ReadonlySet<string>; rootIno: number };

interface WatchedFolder {
  watch: FolderWatch;
  ino: number;
}

interface ChatWatch {
  realDir: string;
  rootIno: number;
  folders: Map<string, WatchedFolder>;
  touched: Set<string>;
  /** Something happened that events alone cannot describe: the next scan walks. */
  untrusted: FullWalkReason | null;
  /** The process-wide event count when this chat's window began. */
  eventsAtStart: number;
  lastWalkAt: number;
}

/** With audits off (0), a chat that could not be watched is tried again after this long. */
const WATCH_RETRY_WITHOUT_AUDIT_MS = 10 * 60_000;

/** The journal's own limits, unless given (not options: no operator has needed to change them). */
const JOURNAL_LIMITS = { maxTouchedPaths: 1000, maxWatchedFolders: 10_000, maxWatchedChats: 256 };

function readMaxQueuedEvents(): number {
  try {
    return Number(readFileSync('/proc/sys/fs/inotify/max_queued_events', 'utf8').trim()) || 16_384;
  } catch {
    return 16_384;
  }
}

class TooManyFoldersError extends SidecarError<'ERR_TOO_MANY_FOLDERS'> {
  constructor(max: number) {
    super('ERR_TOO_MANY_FOLDERS', `More than ${max} folders to watch.`);
  }
}

/**
 * `lstat`, synchronously: only ever called for watched workspaces, which are on local file
 * systems (never a network one that could hang), for a handful of touched paths, where a promise
 * per call costs more than the call.
 */
function statOrNull(file: string): Stats | null {
  try {
    return lstatSync(file, { throwIfNoEntry: false }) ?? null;
  } catch {
    return null;
  }
}

/** Stops watching a chat that is no longer tracked; its next plan walks. */
function unwatch(chat: ChatWatch): void {
  chat.untrusted = 'invalidated';
  for (const folder of chat.folders.values()) folder.watch.close();
  chat.folders.clear();
}

/**
 * Knows, per chat, which workspace paths were touched since that chat's last scan, from inotify
 * (one `fs.watch` per folder), so a scan can `lstat` those paths instead of every file.
 *
 * Events are trusted only when nothing could have been missed; otherwise `plan` answers 'walk'
 * and the full walk stays the truth: a workspace not watched since this process started (the
 * first scan attaches the watches, then walks), a network or FUSE file system (writes from other
 * hosts make no events), a watch that failed or could not be added (ENOSPC), a window in which
 * the shared inotify queue may have overflowed, a new or replaced folder (files may have landed
 * in it before its watch), too many touched paths, and the periodic audit.
 */
export class ChangeJournal {
  readonly #policy: TrackingPolicy;
  readonly #watch: WatchFolder;
  readonly #remoteAt: (dir: string) => Promise<string | null>;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #auditMs: number;
  readonly #maxTouched: number;
  readonly #maxFolders: number;
  readonly #overflowAt: number;
  /** Least recently scanned first. */
  readonly #chats: LruMap<string, ChatWatch>;
  /** Chats found unwatchable, and when to try again. */
  readonly #unwatchable = new Map<string, { reason: FullWalkReason; retryAt: number }>();
  #barrier: Promise<InotifyBarrier> | null = null;
  #events = 0;
  #closed = false;

  constructor(policy: TrackingPolicy, options: ChangeJournalOptions) {
    this.#policy = policy;
    this.#watch = options.watch ?? watchFolder;
    this.#remoteAt = options.remoteFileSystemAt ?? remoteFileSystemAt;
    this.#logger = options.logger ?? quietLogger;
    this.#now = options.now ?? Date.now;
    const limits = { ...JOURNAL_LIMITS, ...options };
    this.#auditMs = options.auditIntervalMs;
    this.#maxTouched = limits.maxTouchedPaths;
    this.#maxFolders = limits.maxWatchedFolders;
    this.#chats = new LruMap(limits.maxWatchedChats);
    // Overflow means the queue held max_queued_events undelivered events, all delivered to us
    // before the barrier; half leaves room for events of watches already closed, never counted.
    this.#overflowAt = Math.max(1, Math.floor((options.maxQueuedEvents ?? readMaxQueuedEvents()) / 2));
  }

  /** Chats whose workspace is watched now. */
  get watchedChats(): number {
    return this.#chats.size;
  }

  /**
   * What the next scan of `chatId` must look at. Call it under the chat's scan lock, before
   * looking at the workspace: a 'walk' answer has (re)attached the watches first, so writes during
   * the walk are events for the next window. `alsoLookAt` are paths to stat even if untouched
   * (files whose copy failed, to retry them).
   */
  async plan(chatId: string, realDir: string, alsoLookAt: Iterable<string> = []): Promise<ScanPlan> {
    if (this.#closed) return { kind: 'walk', reason: 'watch-failed' };
    const chat = this.#chats.get(chatId);
    if (!chat || chat.realDir !== realDir) return this.#walkAfterAttach(chatId, realDir, 'not-watched-yet');

    try {
      await (await this.#openBarrier()).flush();
    } catch (error) {
      this.#logger.warn(`[artifacts] inotify barrier failed (${describeError(error)}): walking workspaces`);
      if (!(error instanceof BarrierTimeoutError)) {
        const broken = this.#barrier;
        this.#barrier = null;
        void broken?.then((b) => b.close()).catch(() => {});
      }
      return this.#walkAfterAttach(chatId, realDir, 'watch-failed');
    }
    if (chat.untrusted) return this.#walkAfterAttach(chatId, realDir, chat.untrusted);
    if (this.#events - chat.eventsAtStart >= this.#overflowAt)
      return this.#walkAfterAttach(chatId, realDir, 'events-may-have-overflowed');
    if (this.#auditMs > 0 && this.#now() - chat.lastWalkAt >= this.#auditMs)
      return this.#walkAfterAttach(chatId, realDir, 'audit');
    const root = statOrNull(realDir);
    if (!root?.isDirectory() || root.ino !== chat.rootIno)
      return this.#walkAfterAttach(chatId, realDir, 'workspace-replaced');

    // The window ends here: events from now on are the next scan's.
    const touched = chat.touched;
    chat.touched = new Set();
    chat.eventsAtStart = this.#events;
    for (const rel of alsoLookAt) touched.add(rel);
    return this.#lookAt(chatId, chat, touched);
  }

  /**
   * Whether `chatId`'s workspace at `realDir` is watched now: its next plan may answer 'touched'
   * without the folder being opened (a chat not watched yet is planned once it is open).
   */
  watches(chatId: string, realDir: string): boolean {
    return this.#chats.peek(chatId)?.realDir === realDir;
  }

  /** The next scan of this chat walks (a scan failed after its window was taken). */
  invalidate(chatId: string): void {
    const chat = this.#chats.peek(chatId);
    if (chat) chat.untrusted = 'invalidated';
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const chatId of [...this.#chats.keys()]) this.#drop(chatId);
    const barrier = this.#barrier;
    this.#barrier = null;
    if (barrier) await (await barrier.catch(() => null))?.close();
  }

  #openBarrier(): Promise<InotifyBarrier> {
    this.#barrier ??= InotifyBarrier.open(this.#watch).catch((error: unknown) => {
      this.#barrier = null;
      throw error;
    });
    return this.#barrier;
  }

  /** Stats the touched paths, never through a folder that is not the one watched. */
  async #lookAt(chatId: string, chat: ChatWatch, touched: Set<string>): Promise<ScanPlan> {
    const snapshot: WorkspaceSnapshot = new Map();
    const folderOk = new Map<string, boolean>([['', true]]);
    // A folder is trusted when it and each parent are the very folders watched (same inode).
    const trusted = (rel: string): boolean => {
      let result = folderOk.get(rel);
      if (result === undefined) {
        const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
        const folder = chat.folders.get(rel);
        const stats = folder && trusted(parent) ? statOrNull(`${chat.realDir}/${rel}`) : null;
        result = Boolean(folder && stats?.isDirectory() && stats.ino === folder.ino);
        folderOk.set(rel, result);
      }
      return result;
    };
    const newFolders: Array<[string, number]> = [];
    for (const rel of touched) {
      const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
      if (!trusted(parent)) continue; // gone, replaced or never watched: its files are gone with it
      const stats = statOrNull(`${chat.realDir}/${rel}`);
      const watched = chat.folders.get(rel);
      if (watched && (!stats?.isDirectory() || stats.ino !== watched.ino)) this.#unwatchSubtree(chat, rel);
      if (!stats) continue;
      if (stats.isDirectory()) {
        if (watched && stats.ino === watched.ino) continue; // its own attributes changed
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        if (this.#policy.includesDirectory(name)) newFolders.push([rel, stats.ino]);
      } else if (stats.isFile() && this.#policy.tracks(rel)) {
        const entry: SnapshotEntry = {
          size: stats.size,
          mtimeMs: Math.trunc(stats.mtimeMs),
          ino: stats.ino,
          nlink: stats.nlink,
        };
        snapshot.set(rel, entry);
      }
    }
    if (newFolders.length > 0) {
      // Files may have landed in a new folder before its watch existed: watch it, then walk.
      try {
        for (const [rel, ino] of newFolders) await this.#watchSubtree(chat, rel, ino);
      } catch {
        return this.#walkAfterAttach(chatId, chat.realDir, 'watch-failed');
      }
      chat.lastWalkAt = this.#now();
      return { kind: 'walk', reason: 'new-folder' };
    }
    return { kind: 'touched', snapshot, covered: touched, rootIno: chat.rootIno };
  }

  /**
   * (Re)attaches the chat's watches from scratch, then says 'walk': every folder is watched
   * before the walk looks at it, so nothing written from now on can be missed by both.
   */
  async #walkAfterAttach(chatId: string, realDir: string, reason: FullWalkReason): Promise<ScanPlan> {
    this.#drop(chatId);
    const unwatchable = this.#unwatchable.get(chatId);
    if (unwatchable && this.#now() < unwatchable.retryAt) return { kind: 'walk', reason: unwatchable.reason };
    this.#unwatchable.delete(chatId);
    const remote = await this.#remoteAt(realDir).catch(() => null);
    if (remote) {
      this.#unwatchable.set(chatId, { reason: 'remote-file-system', retryAt: Number.POSITIVE_INFINITY });
      return { kind: 'walk', reason: 'remote-file-system' };
    }
    try {
      await this.#openBarrier();
      const root = await lstat(realDir);
      const chat: ChatWatch = {
        realDir,
        rootIno: root.ino,
        folders: new Map(),
        touched: new Set(),
        untrusted: null,
        eventsAtStart: this.#events,
        lastWalkAt: this.#now(),
      };
      this.#chats.set(chatId, chat);
      await this.#watchSubtree(chat, '', root.ino);
      for (const [, dropped] of this.#chats.evict()) unwatch(dropped);
    } catch (error) {
      this.#drop(chatId);
      const why = error instanceof TooManyFoldersError ? `more than ${this.#maxFolders} folders` : describeError(error);
      this.#logger.warn(`[artifacts] cannot watch chat ${chatId} (${why}): its workspace is walked whole`);
      this.#unwatchable.set(chatId, {
        reason: 'watch-failed',
        retryAt: this.#now() + (this.#auditMs || WATCH_RETRY_WITHOUT_AUDIT_MS),
      });
      return { kind: 'walk', reason: 'watch-failed' };
    }
    return { kind: 'walk', reason };
  }

  /** Watches a folder, then lists it (so an entry made meanwhile is an event), then its subfolders. */
  async #watchSubtree(chat: ChatWatch, rel: string, ino: number): Promise<void> {
    const pending: Array<[string, number]> = [[rel, ino]];
    while (pending.length > 0) {
      const [folderRel, folderIno] = pending.pop()!;
      if (chat.folders.size >= this.#maxFolders) throw new TooManyFoldersError(this.#maxFolders);
      const abs = folderRel ? `${chat.realDir}/${folderRel}` : chat.realDir;
      const watch = this.#watch(abs, (_event, name) => this.#touched(chat, folderRel, name));
      watch.on('error', () => (chat.untrusted = 'watch-failed'));
      chat.folders.set(folderRel, { watch, ino: folderIno });
      let entries;
      try {
        entries = await readdir(abs, { withFileTypes: true });
      } catch {
        continue; // vanished meanwhile: its parent's event says so
      }
      // Folders the walk does not enter are not watched either (MAX_FOLDER_DEPTH).
      if (folderRel && folderRel.split('/').length >= MAX_FOLDER_DEPTH) continue;
      for (const entry of entries) {
        if (!entry.isDirectory() || !this.#policy.includesDirectory(entry.name)) continue;
        const childRel = folderRel ? `${folderRel}/${entry.name}` : entry.name;
        const stats = await lstat(`${abs}/${entry.name}`).catch(() => null);
        if (stats?.isDirectory()) pending.push([childRel, stats.ino]);
      }
    }
  }

  /** The hot path: one call per inotify event. */
  #touched(chat: ChatWatch, folderRel: string, name: string | null): void {
    this.#events++;
    if (chat.untrusted) return;
    if (name === null) {
      chat.untrusted = 'events-may-have-overflowed';
      return;
    }
    const rel = folderRel ? `${folderRel}/${name}` : name;
    if (!this.#policy.tracks(rel) && !this.#policy.includesDirectory(name)) return;
    chat.touched.add(rel);
    if (chat.touched.size > this.#maxTouched) chat.untrusted = 'too-many-touched-paths';
  }

  #unwatchSubtree(chat: ChatWatch, rel: string): void {
    const prefix = `${rel}/`;
    for (const [folderRel, folder] of chat.folders) {
      if (folderRel === rel || folderRel.startsWith(prefix)) {
        folder.watch.close();
        chat.folders.delete(folderRel);
      }
    }
  }

  #drop(chatId: string): void {
    const chat = this.#chats.peek(chatId);
    if (!chat) return;
    this.#chats.delete(chatId);
    unwatch(chat);
  }
}
