import { SidecarError } from '../errors.ts';

/** Why a preview or a diff was refused. Each code's status is in errors.ts's table. */
export type PreviewErrorCode =
  | 'ERR_PREVIEW_TOO_LARGE' // 413: the file is over maxBytes
  | 'ERR_PREVIEW_UNZIPPED_TOO_LARGE' // 413: a zip inflates past maxUnzippedBytes (declared or actual)
  | 'ERR_PREVIEW_TOO_MANY_ROWS' // 413
  | 'ERR_PREVIEW_TOO_MANY_COLUMNS' // 413
  | 'ERR_PREVIEW_TOO_MANY_CELLS' // 413
  | 'ERR_PREVIEW_ANSWER_TOO_LARGE' // 413: the answer would be over maxAnswerBytes (cells cut, columns and rows listed)
  | 'ERR_PREVIEW_TIMEOUT' // 422: the render ran past timeoutMs and was stopped
  | 'ERR_PREVIEW_UNSUPPORTED' // 422: no preview (or diff) for this format
  | 'ERR_PREVIEW_UNREADABLE' // 422: the file is damaged or not what its name says
  | 'ERR_PREVIEW_BUSY'; // 503: too many renders waiting

/** A refusal with a message written for the user; crosses the worker boundary as { code, message }. */
export class PreviewError extends SidecarError<PreviewErrorCode> {
  /** The same input always gets the same answer: cache it. Timeouts and a full queue are not. */
  get isDeterministic(): boolean {
    return this.code !== 'ERR_PREVIEW_TIMEOUT' && this.code !== 'ERR_PREVIEW_BUSY';
  }
}
