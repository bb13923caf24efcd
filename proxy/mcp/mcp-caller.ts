import { timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { createAuthenticate, type Access, type AuthOptions } from '../api/auth.ts';
import { ApiError } from '../api/http-errors.ts';
import { isValidChatId } from '../chats/chat-id.ts';
import type { ErrorCode } from '../errors.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** The MCP caller, once createMcpCaller ran. */
    mcpCaller?: McpCaller;
  }
}

/**
 * Who is calling the MCP server and for which chat, found before anything of the request is read.
 * `chatId` null: the call's MCP session names the chat. `problem`: the caller is authenticated but
 * named a chat or user it may not use; every tool answers it as a tool error.
 */
export interface McpCaller {
  chatId: string | null;
  user: string | null;
  problem: { code: ErrorCode; message: string } | null;
}

export interface McpCallerOptions {
  /** MCP_API_KEY: a bearer key that makes the caller trusted (its headers name chat and user). */
  apiKey: string | null;
  /** FILES_API_SECRET tokens (chat and/or sub claims) are accepted too. */
  auth: AuthOptions;
  /** Headers that name the chat, lower case, first found wins. */
  chatHeaders: readonly string[];
}

/** Headers that name the user: Open WebUI's forwarded one, and the sidecar's own. */
const USER_HEADERS = ['x-openwebui-user-id', 'x-user-id'];
const MAX_USER_LENGTH = 256;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function firstHeader(req: IncomingMessage, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = header(req, name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function isLoopback(address: string | undefined): boolean {
  return !!address && (address === '::1' || /^(::ffff:)?127\./.test(address));
}

function unauthorized(res: Response, message: string): never {
  res.set('WWW-Authenticate', 'Bearer');
  throw new ApiError('ERR_UNAUTHORIZED', message);
}

/**
 * Express middleware for /mcp: authenticates (MCP_API_KEY, else a files-API token, else loopback
 * only when neither is configured), then reads chat and user from headers and claims into
 * `res.locals.mcpCaller`. A wrong or missing key is a 401 before the body is read. Headers are
 * trusted only from an authenticated caller, and never against its token: a token for chat A
 * with a header naming chat B is refused, as is a header naming another user than the token's `sub`.
 */
export function createMcpCaller(options: McpCallerOptions): RequestHandler {
  const key = options.apiKey ? digest(options.apiKey) : null;
  const authenticate = options.auth.secret ? createAuthenticate(options.auth) : null;
  return async (req: Request, res: Response, next: NextFunction) => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    let access: Access | { kind: 'key' };
    if (key && bearer && timingSafeEqual(digest(bearer), key)) {
      access = { kind: 'key' };
    } else if (authenticate && bearer) {
      // Throws a 401 ApiError for a token that is not valid.
      await authenticate(req, res, () => {});
      access = res.locals.access!;
      if (access.kind === 'file') unauthorized(res, "A link's token opens one file; it does not open the MCP server.");
      if (access.kind === 'view')
        unauthorized(res, "A view token reads a chat's files through the files API; it does not open the MCP server.");
    } else if (key || authenticate) {
      unauthorized(res, 'This MCP server needs "Authorization: Bearer <MCP_API_KEY or a files-API token>".');
    } else if (isLoopback(req.socket.remoteAddress)) {
      access = { kind: 'open' };
    } else {
      unauthorized(res, 'No MCP_API_KEY is configured, so this MCP server answers loopback callers only.');
    }
    // A `/chats/{id}/mcp` URL names the chat like a header (for hosts that can only set a URL).
    const prefixChat = res.locals.chatId ?? null;
    res.locals.mcpCaller = callerFor(req, access, options.chatHeaders, prefixChat);
    next();
  };
}

function callerFor(
  req: IncomingMessage,
  access: Access | { kind: 'key' },
  chatHeaders: readonly string[],
  prefixChat: string | null,
): McpCaller {
  const named = prefixChat ? { name: 'URL', value: prefixChat } : firstHeader(req, chatHeaders);
  const namedUser = firstHeader(req, USER_HEADERS);
  const refuse = (code: ErrorCode, message: string): McpCaller => ({
    chatId: null,
    user: null,
    problem: { code, message },
  });
  if (named && !isValidChatId(named.value)) {
    return refuse(
      'ERR_INVALID_CHAT_ID',
      `The ${named.name} header is not a chat id: use 1-128 letters, digits, "_", "-" or ".", starting with a letter or digit.`,
    );
  }
  if (namedUser && namedUser.value.length > MAX_USER_LENGTH)
    return refuse('ERR_BAD_REQUEST', `The ${namedUser.name} header is longer than ${MAX_USER_LENGTH} characters.`);
  let chatId = named?.value ?? null;
  let user = namedUser?.value ?? null;
  if (access.kind === 'chat') {
    if (chatId !== null && chatId !== access.chatId)
      return refuse('ERR_MCP_CHAT_MISMATCH', 'The token is for another chat than the one this call names.');
    chatId = access.chatId;
  } else if (access.kind === 'user') {
    if (user !== null && user !== access.sub)
      return refuse('ERR_MCP_CHAT_MISMATCH', 'The token is for another user than the one this call names.');
    user = access.sub;
  }
  return { chatId, user, problem: null };
}
