import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { entryPath, errnoOf, openFolderBeneath, type OpenFolder } from '../workspace/folder-fd.ts';
import { UPLOAD_TEMP_PREFIX } from '../workspace/tracking-policy.ts';
import { openWorkspace, type SnapshotEntry } from '../workspace/workspace-snapshot.ts';
import { ArtifactError } from './artifact-errors.ts';

export interface UploadPlacement {
  chatId: string;
  /** The chat's workspace folder (it exists) and the real workspace root it must be under. */
  workspaceDir: string;
  realRoot: string;
  /** A normalized relative path (`normalizeUploadPath`). */
  relPath: string;
  /** Fail with ERR_UPLOAD_CONFLICT rather than replace a file already there. */
  createOnly: boolean;
  /** The bytes to write (the stored blob), opened once the temp file exists. */
  bytes: () => Promise<AsyncIterable<unknown>>;
}

function workspaceChanged(relPath: string): ArtifactError {
  return new ArtifactError(
    'ERR_WORKSPACE_CHANGED',
    `A folder of ${relPath} was removed or moved during the upload; nothing was written. Try again.`,
  );
}

/**
 * Writes an upload into the workspace at `relPath`: the folders are opened (and made) one at a
 * time relative to the chat folder's fd, refusing a symlink at each step, and the temp file is
 * created and renamed relative to the final folder's fd. The folder that was checked is the
 * folder that is written: a folder swapped for a symlink meanwhile gets nothing. Returns the
 * written file as a snapshot entry (its inode is the sidecar's own).
 */
export async function writeUpload(placement: UploadPlacement): Promise<SnapshotEntry> {
  const { chatId, relPath, createOnly } = placement;
  const workspace = await openWorkspace(placement.workspaceDir, placement.realRoot);
  if (!workspace)
    throw new ArtifactError(
      'ERR_PATH_OUTSIDE_WORKSPACE',
      `The workspace of chat ${chatId} vanished during the upload.`,
    );
  const segments = relPath.split('/');
  const name = segments.pop()!;
  let folder: OpenFolder | null = null;
  try {
    try {
      folder = await openFolderBeneath(workspace, segments, { create: true });
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'ELOOP')
        throw new ArtifactError(
          'ERR_PATH_OUTSIDE_WORKSPACE',
          `Upload path ${relPath} goes through a symlink: nothing is written through one.`,
        );
      if (errno === 'ENOTDIR' || errno === 'EEXIST')
        throw new ArtifactError('ERR_INVALID_PATH', `Invalid upload path: a parent of ${relPath} is not a folder.`);
      if (errno === 'ENOENT') throw workspaceChanged(relPath);
      throw error;
    }
    const temp = entryPath(folder, `${UPLOAD_TEMP_PREFIX}${randomUUID()}.part`);
    let handle: FileHandle | null = null;
    try {
      // O_EXCL|O_NOFOLLOW: a fresh file of our own, never a name the kernel prepared.
      handle = await open(
        temp,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      );
      await handle.chmod(0o644); // the umask may have narrowed it; the kernel must read it
      for await (const chunk of await placement.bytes()) {
        const bytes = chunk as Buffer;
        for (let offset = 0; offset < bytes.byteLength;) offset += (await handle.write(bytes, offset)).bytesWritten;
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
        throw new ArtifactError(
          'ERR_UPLOAD_CONFLICT',
          `${relPath} already exists: send the upload without If-None-Match to replace it.`,
        );
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
