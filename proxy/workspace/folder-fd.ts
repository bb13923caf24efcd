import { errorCode } from '../errors.ts';
import { closeSync, constants, fstatSync, lstatSync, openSync, statSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/**
 * Reaching into a workspace the kernel can change while we look: every folder is opened relative
 * to its already verified parent, never resolved again by path.
 *
 * Node has no `openat()`. On Linux, `/proc/self/fd/<fd>/<name>` does the same: the magic link is
 * the folder the fd was opened on (wherever it has been moved since), and `<name>` is one path
 * component, so with `O_NOFOLLOW` nothing on the way is a symlink we did not open ourselves.
 * Without `/proc` (another OS), folders are opened by path and checked by device and inode
 * against an `lstat` of the same entry: that narrows the race, it does not close it.
 */

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** A folder: `O_DIRECTORY` refuses anything else, `O_NOFOLLOW` refuses a symlink (ELOOP). */
const FOLDER_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
/**
 * A workspace file to read: `O_NONBLOCK` so a FIFO (or a device) swapped in opens at once instead
 * of holding a thread until a writer comes; the caller `fstat`s and refuses anything not regular.
 * (On a regular file O_NONBLOCK changes nothing.)
 */
const FILE_READ_FLAGS = O_RDONLY | O_NOFOLLOW | O_NONBLOCK;

/**
 * Folders nested deeper than this below a chat folder are never opened: walks, watches and
 * sweeps stop there, and an upload may not name one. Without a bound, a kernel that nests
 * folders 20,000 deep makes a walk hold 20,000 fds at once (EMFILE for every other request of
 * the process) and build paths whose lengths add up to gigabytes. Files below are not tracked.
 */
export const MAX_FOLDER_DEPTH = 64;

/** An open folder of a workspace: its fd, and its path for messages and the fallback. */
export interface FolderRef {
  fd: number;
  path: string;
}

let procFd: boolean | null = null;

/** Does `/proc/self/fd/<fd>` name the open folder here? Probed once per thread. */
export function procFdAvailable(): boolean {
  if (procFd === null) {
    procFd = false;
    try {
      const fd = openSync('/', FOLDER_FLAGS);
      try {
        const viaProc = statSync(`/proc/self/fd/${fd}/.`);
        const direct = fstatSync(fd);
        procFd = viaProc.ino === direct.ino && viaProc.dev === direct.dev;
      } finally {
        closeSync(fd);
      }
    } catch {
      procFd = false;
    }
  }
  return procFd;
}

/** What names `name` inside `folder`: relative to its fd when /proc allows, else by path. */
export function entryPath(folder: FolderRef, name: string): string {
  return procFdAvailable() ? `/proc/self/fd/${folder.fd}/${name}` : `${folder.path}/${name}`;
}

/** What lists `folder`'s entries: the folder the fd is open on. */
export function listingPath(folder: FolderRef): string {
  return procFdAvailable() ? `/proc/self/fd/${folder.fd}` : folder.path;
}

/** errors.ts's errorCode, under the name the walk and the snapshot import it by. */
export const errnoOf = errorCode;

/** What a folder swapped, removed or refused mid-walk throws: the entry is left out, nothing else. */
export const VANISHED_ERRNOS: ReadonlySet<string> = new Set(['ENOENT', 'ENOTDIR', 'ELOOP', 'EACCES', 'EPERM']);

function sameFile(a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Treated like a symlink met with O_NOFOLLOW (the errno it would have been): left out. */
function folderSwapped(where: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${where} is a symlink or changed while it was opened`), { code: 'ELOOP' });
}

/** Opens the subfolder `name` of `parent` (synchronous: the walk runs on a worker thread). */
export function openFolderSync(parent: FolderRef, name: string): FolderRef {
  const where = `${parent.path}/${name}`;
  if (procFdAvailable()) return { fd: openSync(entryPath(parent, name), FOLDER_FLAGS), path: where };
  const listed = lstatSync(where);
  if (!listed.isDirectory()) throw folderSwapped(where);
  const fd = openSync(where, FOLDER_FLAGS);
  if (!sameFile(fstatSync(fd), listed)) {
    closeSync(fd);
    throw folderSwapped(where);
  }
  return { fd, path: where };
}

/** Opens a folder by its (already resolved) path, checked against what the caller verified. */
export function openRootSync(path: string, expected?: { dev: number; ino: number }): FolderRef {
  const fd = openSync(path, FOLDER_FLAGS);
  if (expected && !sameFile(fstatSync(fd), expected)) {
    closeSync(fd);
    throw folderSwapped(path);
  }
  return { fd, path };
}

/** An open folder (async side): close it when done. */
export interface OpenFolder extends FolderRef {
  handle: FileHandle;
  close(): Promise<void>;
}

function wrap(handle: FileHandle, path: string): OpenFolder {
  return { handle, fd: handle.fd, path, close: () => handle.close().catch(() => {}) };
}

/** Opens a folder by its real path: refuses a symlink or a non-folder in its last component. */
export async function openFolderAt(path: string): Promise<OpenFolder> {
  return wrap(await fsp.open(path, FOLDER_FLAGS), path);
}

/** Opens the subfolder `name` of `parent`, as `openFolderSync` does. */
export async function openSubfolder(parent: FolderRef, name: string): Promise<OpenFolder> {
  const where = `${parent.path}/${name}`;
  if (procFdAvailable()) return wrap(await fsp.open(entryPath(parent, name), FOLDER_FLAGS), where);
  const listed = await fsp.lstat(where);
  if (!listed.isDirectory()) throw folderSwapped(where);
  const handle = await fsp.open(where, FOLDER_FLAGS);
  if (!sameFile(await handle.stat(), listed)) {
    await handle.close().catch(() => {});
    throw folderSwapped(where);
  }
  return wrap(handle, where);
}

/**
 * Opens the folder `segments` leads to below `root`, one component at a time, each relative to
 * the one before. With `create`, missing folders are made (mkdir never follows a symlink in
 * its last component). `root` stays open; the result is a new fd the caller closes (or `root`
 * again for no segments: check `result === root`).
 */
export async function openFolderBeneath(
  root: OpenFolder,
  segments: readonly string[],
  options: { create?: boolean } = {},
): Promise<OpenFolder> {
  let current = root;
  try {
    for (const segment of segments) {
      if (options.create) {
        await fsp.mkdir(entryPath(current, segment), 0o755).catch((error: unknown) => {
          if (errorCode(error) !== 'EEXIST') throw error;
        });
      }
      const next = await openSubfolder(current, segment).catch(async (error: unknown) => {
        // Linux answers O_DIRECTORY|O_NOFOLLOW on a symlink with ENOTDIR: say which it was.
        if (
          errorCode(error) === 'ENOTDIR' &&
          (await fsp.lstat(entryPath(current, segment)).catch(() => null))?.isSymbolicLink()
        ) {
          throw folderSwapped(`${current.path}/${segment}`);
        }
        throw error;
      });
      if (current !== root) await current.close();
      current = next;
    }
    return current;
  } catch (error) {
    if (current !== root) await current.close();
    throw error;
  }
}

/** Why `openFileBeneath` gave nothing. */
export type RefusedFile = 'gone' | 'not-regular';

/**
 * Opens the workspace file at `relPath` below `root` for reading: each folder relative to its
 * parent's fd, the file with `O_NOFOLLOW|O_NONBLOCK`, then `fstat`. Anything but a regular file
 * (a symlink, FIFO, socket, device or folder) is refused before a byte is read.
 */
export async function openFileBeneath(
  root: OpenFolder,
  relPath: string,
): Promise<{ handle: FileHandle; stats: Stats } | RefusedFile> {
  const segments = relPath.split('/');
  const name = segments.pop()!;
  let folder: OpenFolder;
  try {
    folder = await openFolderBeneath(root, segments);
  } catch (error) {
    if (VANISHED_ERRNOS.has(errorCode(error) ?? '')) return 'gone';
    throw error;
  }
  let handle: FileHandle;
  try {
    handle = await fsp.open(entryPath(folder, name), FILE_READ_FLAGS);
  } catch (error) {
    if (VANISHED_ERRNOS.has(errorCode(error) ?? '') || errorCode(error) === 'ENXIO') return 'gone'; // ENXIO: a socket
    throw error;
  } finally {
    if (folder !== root) await folder.close();
  }
  const stats = await handle.stat();
  if (!stats.isFile()) {
    await handle.close().catch(() => {});
    return 'not-regular';
  }
  return { handle, stats };
}
