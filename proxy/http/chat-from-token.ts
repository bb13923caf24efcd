import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RequestHandler } from 'express';
import { CLOCK_TOLERANCE_S, tokenTimeProblem } from '../api/auth.ts';
import { refuseUpgradeFor, SidecarError } from '../errors.ts';
import { loadJose, secretKey } from '../links/link-token.ts';
import { isValidChatId } from '../chats/chat-id.ts';
import { splitChatPrefix } from '../chats/chat-request.ts';

export interface ChatTokenOptions {
  /** FILES_API_SECRET; without one no token names a chat. */
  secret: string | null;
  maxLifetimeS: number;
}

/** The token values a Jupyter client may carry: `Authorization: Bearer …` and `?token=`. */
function candidates(req: IncomingMessage): string[] {
  const found: string[] = [];
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  if (bearer) found.push(bearer);
  const query = new URL(req.url ?? '/', 'http://sidecar.invalid').searchParams.getAll('token');
  for (const value of query) if (value) found.push(value);
  return found;
}

/**
 * Which chat a request's files-API chat token names (a JWT signed with FILES_API_SECRET with a
 * `chat` claim), on Jupyter's routes: null when it carries none. A value that is not a JWT of
 * this secret (the gateway's own token, say) is not ours and names nothing. One of ours that is
 * expired, lives too long or has a bad `chat` claim is a 401: a client that meant to name its
 * chat must not silently see every kernel instead. A link's or a user's (`sub` only) token names
 * no chat.
 */
export function chatTokenReader(options: ChatTokenOptions): (req: IncomingMessage) => Promise<string | null> {
  const key = options.secret ? secretKey(options.secret) : null;
  return async (req) => {
    if (!key) return null;
    const { jwtVerify, errors } = await loadJose();
    let named: string | null = null;
    for (const token of candidates(req)) {
      let payload;
      try {
        ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S }));
      } catch (error) {
        if (error instanceof errors.JWTExpired || error instanceof errors.JWTClaimValidationFailed)
          throw new SidecarError('ERR_UNAUTHORIZED', 'The chat token is not valid: it has expired.');
        continue;
      }
      if (payload.scope !== undefined || payload.chat === undefined) continue;
      const problem = tokenTimeProblem(payload, Math.floor(Date.now() / 1000), options.maxLifetimeS);
      if (problem) throw new SidecarError('ERR_UNAUTHORIZED', problem);
      if (!isValidChatId(payload.chat))
        throw new SidecarError('ERR_UNAUTHORIZED', 'The token\'s "chat" claim is not a chat id.');
      if (named !== null && named !== payload.chat)
        throw new SidecarError('ERR_TOKEN_SCOPE', 'The request carries chat tokens for two different chats.');
      named = payload.chat;
    }
    return named;
  };
}

/**
 * A chat token names the request's chat like the `/chats/{id}` prefix and X-Chat-Id do: after
 * this, the token's chat is the request's X-Chat-Id, so every route that reads the chat
 * (`chatFromRequest`) reads it. A prefix or header naming another chat than the token is a 403
 * (ERR_TOKEN_SCOPE). `prefixChatId`: the chat of the URL's prefix, if any.
 */
export async function applyChatToken(
  read: (req: IncomingMessage) => Promise<string | null>,
  req: IncomingMessage,
  prefixChatId: string | null,
): Promise<void> {
  const chat = await read(req);
  if (chat === null) return;
  const header = req.headers['x-chat-id'];
  const named = [prefixChatId, ...(Array.isArray(header) ? header : [header])].filter((c) => c);
  if (named.some((c) => c !== chat))
    throw new SidecarError('ERR_TOKEN_SCOPE', 'The token is for another chat than the one this request names.');
  req.headers['x-chat-id'] = chat;
}

/** Express: applyChatToken on Jupyter's routes (after the prefix was peeled off). */
export function chatFromTokenMiddleware(read: (req: IncomingMessage) => Promise<string | null>): RequestHandler {
  return async (req, res, next) => {
    await applyChatToken(read, req, (res.locals.chatId as string | undefined) ?? null);
    next();
  };
}

/**
 * For a WebSocket upgrade (no Express there): the prefix is read off the raw URL (a bad one is
 * left for the upgrade to refuse). False when the socket was refused (a 401 or 403, answered).
 */
export async function applyChatTokenToUpgrade(
  read: (req: IncomingMessage) => Promise<string | null>,
  req: IncomingMessage,
  socket: Duplex,
): Promise<boolean> {
  socket.on('error', () => socket.destroy());
  let prefix: string | null;
  try {
    prefix = splitChatPrefix(req.url ?? '/')?.chatId ?? null;
  } catch {
    return true;
  }
  try {
    await applyChatToken(read, req, prefix);
    return true;
  } catch (error) {
    if (!(error instanceof SidecarError)) throw error;
    refuseUpgradeFor(socket, error);
    return false;
  }
}
