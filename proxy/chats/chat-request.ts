import type { IncomingMessage } from 'node:http';
import { assertChatId, InvalidChatIdError } from './chat-id.ts';

/** The prefix clients that can only set a URL use as their gateway base: `/chats/{chatId}/...`. */
const CHAT_PREFIX = /^\/chats\/([^/?#]*)(?=\/|$)/;

export interface ChatPrefix {
  chatId: string;
  /** `/chats/{chatId}` exactly as the client sent it. */
  prefix: string;
  /** The URL with the prefix taken off (what the gateway is asked for). */
  rest: string;
}

/** Reads `/chats/{chatId}` off a request URL. Throws InvalidChatIdError for a bad id. */
export function splitChatPrefix(url: string): ChatPrefix | null {
  const match = CHAT_PREFIX.exec(url);
  if (!match) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(match[1]!);
  } catch {
    throw new InvalidChatIdError(match[1]);
  }
  return { chatId: assertChatId(decoded), prefix: match[0], rest: url.slice(match[0].length) || '/' };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Which chat a request is for, from the path prefix or the X-Chat-Id header (in that order). */
export function chatFromRequest(req: IncomingMessage, prefixChatId: string | null): string | null {
  if (prefixChatId) return prefixChatId;
  const fromHeader = header(req, 'x-chat-id');
  return fromHeader === undefined || fromHeader === '' ? null : assertChatId(fromHeader);
}

/** The user a request is for, when the chat app says (X-User-Id). */
export function ownerFromRequest(req: IncomingMessage): string | null {
  const value = header(req, 'x-user-id');
  return value && value.length <= 256 ? value : null;
}
