import type { RequestHandler, Response } from 'express';
import { sendJsonError, SidecarError, type ErrorReply } from '../errors.ts';

/** An error meant for the client: its code and message are sent as they are (status: errors.ts's table). */
export class ApiError extends SidecarError {}

export const chatNotFound = () => new ApiError('ERR_CHAT_NOT_FOUND', 'No such chat.');

/** A files API refusal written by a route itself (never cached). */
export function sendError(res: Response, reply: ErrorReply): void {
  sendJsonError(res, { ...reply, headers: { 'Cache-Control': 'no-store' } });
}

export const notFoundHandler: RequestHandler = (_req, res) => {
  sendError(res, { code: 'ERR_NOT_FOUND', message: 'No such route.' });
};
