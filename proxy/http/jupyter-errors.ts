import type { ErrorRequestHandler } from 'express';
import { clientReplyFor, isKnownCode, errorCode, sendJsonError } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';

/**
 * The last handler of the app: an error on Jupyter's routes answered as JSON with a top-level
 * `message` too (`@jupyterlab/services` reads it). A coded error keeps its code and status (a
 * chat refused: 4xx; the database away while a kernel is created for an owner: 503); an
 * Express client error (body too large, unreadable) its 4xx status; anything else is logged
 * and answered 500.
 */
export function jupyterErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    if (isKnownCode(errorCode(error))) {
      const reply = clientReplyFor(error);
      if (reply.logged) logger.error(`[sidecar] ${describeError(error)}`);
      return sendJsonError(res, { code: reply.code, message: reply.message, jupyter: true });
    }
    const status = typeof error?.status === 'number' && error.status >= 400 && error.status < 500 ? error.status : 500;
    if (status === 500) logger.error(`[sidecar] ${describeError(error)}`);
    sendJsonError(res, {
      status,
      code: status === 413 ? 'ERR_BODY_TOO_LARGE' : status === 500 ? 'ERR_INTERNAL' : 'ERR_BAD_REQUEST',
      message: status === 500 ? 'Internal sidecar error.' : String(error.message),
      jupyter: true,
    });
  };
}
