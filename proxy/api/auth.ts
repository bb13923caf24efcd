import type { Request, RequestHandler } from 'express';
import type { JWTPayload } from 'jose';
import { isValidChatId } from '../chats/chat-id.ts';
import { FILE_SCOPE, fileLinkClaimsOf, loadJose, secretKey, VIEW_SCOPE } from '../links/link-token.ts';
import { ApiError } from './http-errors.ts';

declare module 'express-serve-static-core' {
  interface Locals {
    /** Who the files API's caller is, once authenticate ran. */
    access?: Access;
  }
}

export interface AuthOptions {
  /** HS256 secret (at least 32 bytes). Without one the API is open. */
  secret?: string | null;
  /** Longest a token may be valid, in seconds (default one day). */
  maxLifetimeS?: number;
}

/** Clocks of the signer and the sidecar may differ by this much (for every token the sidecar checks). */
export const CLOCK_TOLERANCE_S = 30;
/** --token-max-lifetime-s's default: a day. */
export const DEFAULT_TOKEN_MAX_LIFETIME_S = 86_400;

/**
 * Why a token's times are not acceptable, or null when they are. jose checks exp and nbf; this
 * adds what it does not: a token must expire (one without exp would be valid forever), may not
 * be issued in the future (a signer with a wrong clock, or a token minted to outlive a key
 * rotation), and may not live longer than `maxLifetimeS`, counted from iat when it has one.
 */
export function tokenTimeProblem(payload: JWTPayload, nowS: number, maxLifetimeS: number): string | null {
  if (typeof payload.exp !== 'number') return 'The token has no "exp" claim: tokens must expire.';
  if (issuedInFuture(payload, nowS)) return 'The token\'s "iat" claim is in the future.';
  const from = typeof payload.iat === 'number' ? payload.iat : nowS;
  if (payload.exp - from > maxLifetimeS + CLOCK_TOLERANCE_S)
    return `The token lives longer than the ${maxLifetimeS} s this sidecar allows.`;
  return null;
}

function issuedInFuture(payload: JWTPayload, nowS: number): boolean {
  return payload.iat !== undefined && (typeof payload.iat !== 'number' || payload.iat > nowS + CLOCK_TOLERANCE_S);
}

/** Who the caller is, as `authenticate` found out. */
export type Access =
  | { kind: 'open' }
  | { kind: 'chat'; chatId: string } // a token with a `chat` claim: that chat only
  | { kind: 'view'; chatId: string } // a `view` token (the MCP App's): that chat, read-only
  | { kind: 'user'; sub: string } // a token with `sub`: the chats that user owns
  | { kind: 'file'; chatId: string; fileId: string; issuedMs: number }; // a link's token: one file version's content only

function tokenFrom(req: Request): string | null {
  const header = req.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match ? match[1]! : null;
  }
  // EventSource and <a href> cannot set headers: the token may come in the query.
  const query = req.query.token;
  return typeof query === 'string' && query ? query : null;
}

/** Verifies the caller's token (when a secret is set) and puts an Access on `res.locals.access`. */
export function createAuthenticate(options: AuthOptions): RequestHandler {
  const key = options.secret ? secretKey(options.secret) : null;
  const maxLifetimeS = options.maxLifetimeS ?? DEFAULT_TOKEN_MAX_LIFETIME_S;
  return async (req, res, next) => {
    if (!key) {
      res.locals.access = { kind: 'open' } satisfies Access;
      return next();
    }
    const token = tokenFrom(req);
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer');
      throw new ApiError(
        'ERR_UNAUTHORIZED',
        'A token is required: send "Authorization: Bearer <token>" or ?token=<token>.',
      );
    }
    let payload: JWTPayload;
    const { jwtVerify, errors } = await loadJose();
    try {
      // `exp` is required below for chat and user tokens; a link's token may have none (--link-ttl 0).
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: CLOCK_TOLERANCE_S }));
    } catch (error) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      const expired = error instanceof errors.JWTExpired;
      throw new ApiError('ERR_UNAUTHORIZED', expired ? 'The token has expired.' : 'The token is not valid.');
    }
    if (payload.scope === VIEW_SCOPE) {
      // A chat token narrowed to reading: the chat-token rules (expiry, lifetime, a chat claim) hold.
      const problem =
        tokenTimeProblem(payload, Math.floor(Date.now() / 1000), maxLifetimeS) ??
        (typeof payload.chat === 'string' && isValidChatId(payload.chat)
          ? null
          : 'A view token needs a "chat" claim that is a chat id.');
      if (problem) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        throw new ApiError('ERR_UNAUTHORIZED', problem);
      }
      res.locals.access = { kind: 'view', chatId: payload.chat as string } satisfies Access;
      return next();
    }
    if (payload.scope !== undefined) {
      // A link's capability token: never read as a chat token, whatever else it claims.
      // This sidecar minted it: its life is --link-ttl (0: no expiry, the operator's choice) and a
      // chat's revocation ends it, so the lifetime rules for chat tokens do not apply to it.
      const claims = payload.scope === FILE_SCOPE ? fileLinkClaimsOf(payload) : undefined;
      if (!claims) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        throw new ApiError('ERR_UNAUTHORIZED', "The token's scope is not one this API grants.");
      }
      if (issuedInFuture(payload, Math.floor(Date.now() / 1000))) {
        res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
        throw new ApiError('ERR_UNAUTHORIZED', 'The token\'s "iat" claim is in the future.');
      }
      res.locals.access = { kind: 'file', ...claims } satisfies Access;
      return next();
    }
    const timeProblem = tokenTimeProblem(payload, Math.floor(Date.now() / 1000), maxLifetimeS);
    if (timeProblem) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new ApiError('ERR_UNAUTHORIZED', timeProblem);
    }
    if (payload.chat !== undefined && !isValidChatId(payload.chat)) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new ApiError('ERR_UNAUTHORIZED', 'The token\'s "chat" claim is not a chat id.');
    }
    if (typeof payload.chat === 'string') {
      res.locals.access = { kind: 'chat', chatId: payload.chat } satisfies Access;
    } else if (typeof payload.sub === 'string' && payload.sub) {
      res.locals.access = { kind: 'user', sub: payload.sub } satisfies Access;
    } else {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      throw new ApiError('ERR_UNAUTHORIZED', 'The token grants nothing: it needs a "chat" or a "sub" claim.');
    }
    next();
  };
}
