import type { ErrorRequestHandler } from 'express';
import { ChatAssignmentError } from '../chats/chat-assignment.ts';
import { InvalidChatIdError } from '../chats/chat-id.ts';
import { sendJsonError } from '../errors.ts';
import { describeError, type Logger } from '../logger.ts';

/**
 * The last handler of the app: an error on Jupyter's routes answered as JSON with a top-level
 * `message` too (`@jupyterlab/services` reads it). A chat error keeps its code; a client error
 * (body too large, unreadable) its 4xx status; anything else is logged and answered 500.
 */
export function jupyterErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, _req, res, _next) => {
    if (error instanceof InvalidChatIdError || error instanceof ChatAssignmentError) {
      return sendJsonError(res, { code: error.code, message: error.message, jupyter: true });
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
