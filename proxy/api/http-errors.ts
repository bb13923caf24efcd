import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { describeError, quietLogger, redactUrl, type Logger } from '../logger.ts';
import type { ErrorResponse } from '../../contract/files-api.ts';

/** Every code the files API sends, with its status. Codes not listed are 500. */
const STATUS_BY_CODE: Record<string, number> = {
  ERR_BAD_REQUEST: 400,
  ERR_INVALID_CHAT_ID: 400,
  ERR_INVALID_FILE_ID: 400,
  ERR_INVALID_PATH: 400,
  ERR_PATH_OUTSIDE_WORKSPACE: 400,
  ERR_UNAUTHORIZED: 401,
  ERR_TOKEN_SCOPE: 403,
  ERR_CHAT_NOT_FOUND: 404,
  ERR_FILE_NOT_FOUND: 404,
  ERR_NOT_FOUND: 404,
  ERR_WORKSPACE_OUTSIDE_ROOT: 409,
  ERR_WORKSPACE_CHANGED: 409,
  ERR_UPLOAD_CONFLICT: 412,
  ERR_UPLOAD_TOO_LARGE: 413,
  ERR_QUOTA_EXCEEDED: 413,
  ERR_RANGE_NOT_SATISFIABLE: 416,
  ERR_PREVIEW_TOO_LARGE: 413,
  ERR_PREVIEW_UNZIPPED_TOO_LARGE: 413,
  ERR_PREVIEW_TOO_MANY_ROWS: 413,
  ERR_PREVIEW_TOO_MANY_COLUMNS: 413,
  ERR_PREVIEW_TOO_MANY_CELLS: 413,
  ERR_PREVIEW_TIMEOUT: 422,
  ERR_PREVIEW_UNSUPPORTED: 422,
  ERR_PREVIEW_UNREADABLE: 422,
  ERR_PREVIEW_BUSY: 503,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_BLOB_NO_SPACE: 507,
  ERR_BLOB_NOT_FOUND: 500,
  ERR_INTERNAL: 500,
};

export function statusForCode(code: string): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/** An error meant for the client: its code and message are sent as they are. */
export class ApiError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }

  get status(): number {
    return statusForCode(this.code);
  }
}

export const chatNotFound = () => new ApiError('ERR_CHAT_NOT_FOUND', 'No such chat.');

export function sendError(res: Response, code: string, message: string): void {
  const body: ErrorResponse = { error: { code, message } };
  res.status(statusForCode(code)).type('application/json').set('Cache-Control', 'no-store').send(JSON.stringify(body));
}

/** Codes whose message is written for clients; anything else is reported as an internal error. */
function isClientFacing(error: unknown): error is { code: string; message: string } {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code in STATUS_BY_CODE &&
    statusForCode(error.code) < 500
  );
}

export function createErrorHandler(logger: Logger = quietLogger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    if (isClientFacing(error)) {
      if (!res.headersSent) sendError(res, error.code, error.message);
      else res.destroy();
      return;
    }
    // Express's own client errors (a malformed percent-encoding in the URL, ...).
    const status = error && typeof error === 'object' && 'status' in error ? Number(error.status) : NaN;
    if (status >= 400 && status < 500 && !res.headersSent) {
      sendError(res, 'ERR_BAD_REQUEST', 'The request is malformed.');
      return;
    }
    const code = error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' && error.code in STATUS_BY_CODE ? error.code : 'ERR_INTERNAL';
    logger.error(`[files-api] ${req.method} ${redactUrl(req.originalUrl)} failed: ${describeError(error)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message =
      code === 'ERR_BLOB_NO_SPACE'
        ? 'The sidecar has no disk space left.'
        : code === 'ERR_STORE_UNAVAILABLE'
          ? 'The file store (database) is unavailable; try again shortly.'
          : 'Internal error.';
    sendError(res, code, message);
  };
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  sendError(res, 'ERR_NOT_FOUND', 'No such route.');
};
