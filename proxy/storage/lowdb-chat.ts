import { stat, truncate, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Low } from 'lowdb';
import { errorCode } from '../errors.ts';
import { quietLogger, type Logger } from '../logger.ts';
import { applyChatChange, type ChatChange } from './chat-changes.ts';
import { emptyChat, usedBytesOf, type ChatData } from './chat-data.ts';
import {
  appendChatLog,
  chatLogLine,
  ChatLogRollbackError,
  readChatLog,
  type ChatLogContents,
  type OpenChatLog,
} from './chat-log.ts';
import { DurableJsonFile } from './durable-json-file.ts';
import type { FileRecord } from './file-record.ts';
import { latestByPath } from './record-store.ts';
import { shareRepeatedStrings } from './shared-record-strings.ts';
import { SidecarError } from '../errors.ts';

/** The log is never folded into the snapshot before it holds this much. */
const DEFAULT_COMPACT_AFTER_BYTES = 1024 * 1024;

export class RecordStoreCorruptError extends SidecarError<'ERR_RECORD_STORE_CORRUPT'> {
  constructor(file: string, cause: unknown) {
    super(
      'ERR_RECORD_STORE_CORRUPT',
      `Cannot read ${file}: ${cause instanceof Error ? cause.message : String(cause)}. Restore it from a backup or move it away.`,
      { cause },
    );
  }
}

export interface LowdbChatOptions {
  logger?: Logger;
  /** The log is folded into the snapshot once it holds this many bytes and half the snapshot's. */
  compactAfterBytes?: number;
  /** How the log is opened for an append (a test seam). */
  openLog?: OpenChatLog;
}

const SNAPSHOT = '.json';
const LOG = '.jsonl';

/**
 * One chat of the lowdb store, on disk as two files in `{dataDir}/records/`:
 * - `{chatId}.json`, a lowdb snapshot of the whole chat (`ChatData`: the format of every earlier
 *   version, which is read as it is), written whole only when the log is compacted;
 * - `{chatId}.jsonl`, the changes since that snapshot (chat-log.ts), one line each.
 *
 * A change costs one appended, fdatasynced line, whatever the chat's size. The log is folded
 * into the snapshot (temp file, fsync, rename, then the log cut to nothing) once it holds at
 * least half the snapshot's bytes, so that costs O(1) per change amortized, and a load reads at
 * most 1.5× the chat. The snapshot notes the last change it holds (`logThrough`), so a crash
 * between its rename and the log's truncation replays nothing twice.
 *
 * Callers run `commit` and `compact` one at a time per chat (the store's write queue).
 */
export class LowdbChat {
  readonly data: ChatData;
  readonly #db: Low<ChatData>;
  readonly #snapshotFile: string;
  readonly #logFile: string;
  readonly #compactAfterBytes: number;
  readonly #openLog: OpenChatLog | undefined;
  #logBytes: number;
  #snapshotBytes: number;
  #lastN: number;
  #compactAt = 0;
  #latest: Map<string, FileRecord> | null = null;
  #usedBytes: number | null = null;
  /** Set when a failed write could not be cut back off the log: this copy no longer matches the disk. */
  broken: Error | null = null;

  private constructor(
    db: Low<ChatData>,
    files: { snapshot: string; log: string },
    log: ChatLogContents,
    snapshotBytes: number,
    options: LowdbChatOptions,
  ) {
    this.#db = db;
    this.data = db.data;
    this.#snapshotFile = files.snapshot;
    this.#logFile = files.log;
    this.#logBytes = log.validBytes;
    this.#snapshotBytes = snapshotBytes;
    this.#lastN = Math.max(db.data.logThrough ?? 0, log.entries.at(-1)?.n ?? 0);
    this.#compactAfterBytes = options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES;
    this.#openLog = options.openLog;
    this.#scheduleCompaction();
  }

  /** The chat's files in `dir`. */
  static files(dir: string, chatId: string): { snapshot: string; log: string } {
    return { snapshot: path.join(dir, chatId + SNAPSHOT), log: path.join(dir, chatId + LOG) };
  }

  /** The chat a file of `dir` belongs to, or null for anything else (temp files included). */
  static chatIdOf(fileName: string): string | null {
    if (fileName.startsWith('.')) return null;
    for (const suffix of [SNAPSHOT, LOG]) if (fileName.endsWith(suffix)) return fileName.slice(0, -suffix.length);
    return null;
  }

  /** Does the chat have a file in `dir`? */
  static async exists(dir: string, chatId: string): Promise<boolean> {
    const { snapshot, log } = LowdbChat.files(dir, chatId);
    return (await isFile(snapshot)) || (await isFile(log));
  }

  /**
   * Loads a chat to change it (an unknown chat loads empty). A torn last line of the log (a
   * crash mid-write) is cut off with a warning; every change before it is kept.
   */
  static async open(dir: string, chatId: string, options: LowdbChatOptions = {}): Promise<LowdbChat> {
    const files = LowdbChat.files(dir, chatId);
    const { db, log, snapshotBytes } = await load(chatId, files);
    shareRepeatedStrings(db.data);
    // Records are frozen: callers read them, never change them.
    for (const record of db.data.records) Object.freeze(record);
    if (log.tornBytes > 0) {
      (options.logger ?? quietLogger).warn(
        `[storage] ${files.log}: dropped a torn last line (${log.tornBytes} bytes: a write cut short by a crash or a full disk); the ${log.entries.length} changes before it are kept`,
      );
      // Nothing whole in it: remove it, or the chat would look stored.
      await (log.validBytes === 0 ? unlink(files.log) : truncate(files.log, log.validBytes));
    }
    return new LowdbChat(db, files, log, snapshotBytes, options);
  }

  /**
   * Reads a chat without keeping it, for a sweep over every chat; null when it has no file. A
   * torn last line is left out, not cut off: it may be a line being written right now.
   */
  static async read(dir: string, chatId: string): Promise<ChatData | null> {
    const { db, log, snapshotBytes } = await load(chatId, LowdbChat.files(dir, chatId));
    return snapshotBytes === 0 && log.validBytes === 0 ? null : db.data;
  }

  /** The latest record of each path (built on first use, then kept in step by `commit`). */
  latestByPath(): Map<string, FileRecord> {
    return (this.#latest ??= latestByPath(this.data.records));
  }

  /** Bytes of every version the chat holds, what a quota counts (summed once, then kept in step by `commit`). */
  usedBytes(): number {
    return (this.#usedBytes ??= usedBytesOf(this.data.records));
  }

  /** Writes the change to the log, then applies it: once this resolves the change is durable. */
  async commit(change: ChatChange): Promise<void> {
    if (this.broken) throw this.broken;
    const n = this.#lastN + 1;
    try {
      this.#logBytes += await appendChatLog(this.#logFile, chatLogLine(n, change), this.#logBytes, this.#openLog);
    } catch (error) {
      if (error instanceof ChatLogRollbackError) this.broken = error;
      throw error;
    }
    this.#lastN = n;
    if (change.op === 'append') for (const record of change.records) Object.freeze(record);
    applyChatChange(this.data, change);
    if (change.op === 'append') {
      if (this.#latest) for (const r of change.records) this.#latest.set(r.path, r);
      if (this.#usedBytes !== null) this.#usedBytes += usedBytesOf(change.records);
    }
  }

  /** Has the log grown enough to be folded into the snapshot? */
  get wantsCompaction(): boolean {
    return !this.broken && this.#logBytes > 0 && this.#logBytes >= this.#compactAt;
  }

  /**
   * Writes the whole chat as its snapshot (through lowdb, durably), then empties the log. On
   * failure the log stays the truth and the next try waits until it has grown again.
   */
  async compact(): Promise<void> {
    const before = this.data.logThrough;
    this.data.logThrough = this.#lastN;
    try {
      await this.#db.write();
    } catch (error) {
      this.data.logThrough = before;
      this.#compactAt = this.#logBytes + this.#compactAfterBytes;
      throw error;
    }
    this.#snapshotBytes = (await stat(this.#snapshotFile)).size;
    // Every line of the log is now at or below logThrough: skipped if the truncation is lost.
    await truncate(this.#logFile, 0);
    this.#logBytes = 0;
    this.#scheduleCompaction();
  }

  #scheduleCompaction(): void {
    this.#compactAt = Math.max(this.#compactAfterBytes, this.#snapshotBytes / 2);
  }
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * The log is read before the snapshot: a compaction between the two reads then leaves a
 * snapshot that holds every line read (they are skipped), never a log that lost lines the
 * snapshot read does not hold.
 */
async function load(
  chatId: string,
  files: { snapshot: string; log: string },
): Promise<{ db: Low<ChatData>; log: ChatLogContents; snapshotBytes: number }> {
  let log: ChatLogContents;
  try {
    log = await readChatLog(files.log);
  } catch (error) {
    throw new RecordStoreCorruptError(files.log, error);
  }
  const db = new Low<ChatData>(new DurableJsonFile<ChatData>(files.snapshot), emptyChat(chatId));
  let snapshotBytes = 0;
  try {
    snapshotBytes = (await stat(files.snapshot)).size;
    await db.read();
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw new RecordStoreCorruptError(files.snapshot, error);
  }
  const data = db.data;
  data.records ??= [];
  data.skipped ??= [];
  data.owner ??= null;
  data.events ??= [];
  const through = data.logThrough ?? 0;
  for (const entry of log.entries) if (entry.n > through) applyChatChange(data, entry);
  return { db, log, snapshotBytes };
}
