/**
 * A chat's log: `{dataDir}/records/{chatId}.jsonl`, one JSON line per change since the chat's
 * snapshot, `{"n":7,"op":"append",…}`. `n` numbers the chat's changes (1, 2, 3…, never
 * reused); the snapshot says up to which `n` it holds them, so a line the snapshot already holds
 * is skipped. A line is written with one append and fdatasynced before the change counts; a
 * write that fails is cut back off, so a partial line never sits in front of the next one.
 */
import { constants } from 'node:fs';
import { open, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { errorCode, SidecarError } from '../errors.ts';
import { isChatChange, type ChatChange } from './chat-changes.ts';
import { syncFolder } from './sync-folder.ts';

export type ChatLogEntry = ChatChange & { n: number };

export interface ChatLogContents {
  /** Whole lines, in order. */
  entries: ChatLogEntry[];
  /** Bytes of the whole lines: where the next line goes. */
  validBytes: number;
  /** Bytes after them that are no whole line (a write cut short by a crash); 0 normally. */
  tornBytes: number;
}

/** The calls an append makes on the log file: a seam so that a test can fail a write half way. */
export interface ChatLogFile {
  write(buffer: Uint8Array, offset: number, length: number): Promise<{ bytesWritten: number }>;
  datasync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export type OpenChatLog = (file: string) => Promise<ChatLogFile>;

const openForAppend: OpenChatLog = (file) =>
  open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o644);

/** The log's line for change number `n`. */
export function chatLogLine(n: number, change: ChatChange): string {
  return `${JSON.stringify({ n, ...change })}\n`;
}

/**
 * Reads a log. A last line that is cut short or does not parse is what a crash mid-write leaves:
 * it is left out and counted in `tornBytes`. A bad line with whole lines after it is corruption
 * and throws.
 */
export async function readChatLog(file: string): Promise<ChatLogContents> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { entries: [], validBytes: 0, tornBytes: 0 };
    throw error;
  }
  const entries: ChatLogEntry[] = [];
  let start = 0;
  for (let end = bytes.indexOf(0x0a); end !== -1; end = bytes.indexOf(0x0a, start)) {
    const entry = parseLine(bytes.toString('utf8', start, end), entries.at(-1)?.n ?? 0);
    if (!entry) {
      if (bytes.indexOf(0x0a, end + 1) === -1) break; // the last line: torn
      throw new Error(`line ${entries.length + 1} (byte ${start}) is not a change`);
    }
    entries.push(entry);
    start = end + 1;
  }
  return { entries, validBytes: start, tornBytes: bytes.length - start };
}

function parseLine(text: string, previousN: number): ChatLogEntry | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isChatChange(value)) return null;
  const { n } = value as { n?: unknown };
  return Number.isSafeInteger(n) && (n as number) > previousN ? (value as ChatLogEntry) : null;
}

/** Thrown when a failed write could not be cut back off: the file no longer matches what the caller knows. */
export class ChatLogRollbackError extends SidecarError<'ERR_RECORD_LOG_ROLLBACK'> {
  constructor(file: string, error: unknown, cause: unknown) {
    super(
      'ERR_RECORD_LOG_ROLLBACK',
      `Writing ${file} failed (${errorCode(error) ?? String(error)}), and cutting off the partial line failed too (${errorCode(cause) ?? String(cause)}).`,
      { cause: error },
    );
  }
}

/**
 * Appends one line (made by `chatLogLine`) to a log of `sizeBefore` bytes and fdatasyncs it;
 * a new log's folder is fsynced too. Returns the bytes written. On failure the log is cut back
 * to `sizeBefore` (a log that was empty is removed) and the error rethrown
 * (`ChatLogRollbackError` if even the cut failed).
 */
export async function appendChatLog(
  file: string,
  line: string,
  sizeBefore: number,
  openLog: OpenChatLog = openForAppend,
): Promise<number> {
  const bytes = Buffer.from(line, 'utf8');
  const handle = await openLog(file);
  try {
    try {
      for (let done = 0; done < bytes.length;) {
        const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
        if (bytesWritten <= 0) throw Object.assign(new Error(`no bytes written to ${file}`), { code: 'EIO' });
        done += bytesWritten;
      }
      await handle.datasync();
    } catch (error) {
      try {
        await handle.truncate(sizeBefore);
      } catch (cause) {
        throw new ChatLogRollbackError(file, error, cause);
      }
      // An empty log left behind would make the chat look stored.
      if (sizeBefore === 0) await unlink(file).catch(() => {});
      throw error;
    }
  } finally {
    await handle.close().catch(() => {});
  }
  if (sizeBefore === 0) await syncFolder(path.dirname(file));
  return bytes.length;
}
