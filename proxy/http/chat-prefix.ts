import type { RequestHandler } from 'express';
import { splitChatPrefix } from '../chats/chat-request.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** `/chats/{chatId}` as the client sent it, peeled off `req.url` (peelChatPrefix). */
    chatPrefix?: string;
    /** The chat the URL's prefix names. */
    chatId?: string;
  }
}

/**
 * `/chats/{chatId}/...` is a gateway base URL for clients that can only set a URL: the prefix
 * is peeled off `req.url` and remembered in `res.locals` (`chatPrefix`, `chatId`). A bad chat id
 * is passed to the error handler (InvalidChatIdError).
 */
export const peelChatPrefix: RequestHandler = (req, res, next) => {
  if (!req.url.startsWith('/chats/')) return next();
  const prefix = splitChatPrefix(req.url);
  if (!prefix) return next();
  res.locals.chatPrefix = prefix.prefix;
  res.locals.chatId = prefix.chatId;
  req.url = prefix.rest;
  next();
};
