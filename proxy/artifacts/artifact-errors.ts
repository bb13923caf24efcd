import { SidecarError } from '../errors.ts';

export type ArtifactErrorCode =
  | 'ERR_INVALID_PATH' // an upload path with `..`, an absolute path, NUL, backslash, or a hidden name
  | 'ERR_UPLOAD_NAME_NOT_PORTABLE' // a name Windows or macOS cannot save: reserved, `:` and the like, a trailing dot or space
  | 'ERR_PATH_OUTSIDE_WORKSPACE' // resolves outside the chat workspace (through a symlinked folder)
  | 'ERR_WORKSPACE_CHANGED' // a folder of the upload path was removed or moved while it was written
  | 'ERR_UPLOAD_TOO_LARGE'
  | 'ERR_UPLOAD_CONFLICT' // If-None-Match: * and the path already holds a file
  | 'ERR_QUOTA_EXCEEDED';

/** Errors the recorder reports to its callers (the routes turn them into HTTP statuses). */
export class ArtifactError extends SidecarError<ArtifactErrorCode> {}
