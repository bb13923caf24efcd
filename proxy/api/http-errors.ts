import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { describeError, quietLogger, redactUrl, type Logger } from '../logger.ts';
import { clientReplyFor, errorCode, isKnownCode, sendJsonError, SidecarError, statusForCode } from '../errors.ts';

/** An error meant for the client: its code and message are sent as they are (status: errors.ts's table). */
export class ApiError extends SidecarError {}

export const chatNotFound = () => new ApiError('ERR_CHAT_NOT_FOUND', 'No such chat.');

export function sendError(res: Response, code: string, message: string): void {
  sendJsonError(res, { code, message, headers: { 'Cache-Control': 'no-store' } });
}

/** Codes whose message is written for clients; anything else is reported as an internal error. */
function isClientFacing(error: unknown): error is { code: string; message: string } {
  const code = errorCode(error);
  return error instanceof Error && isKnownCode(code) && statusForCode(code) < 500;
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
    const { code, message } = clientReplyFor(error, 'Internal error.');
    logger.error(`[files-api] ${req.method} ${redactUrl(req.originalUrl)} failed: ${describeError(error)}`);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    sendError(res, code, message);
  };
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  sendError(res, 'ERR_NOT_FOUND', 'No such route.');
};
