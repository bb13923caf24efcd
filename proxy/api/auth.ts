import type { Request, RequestHandler } from 'express';
import type * as Jose from 'jose';
import type { JWTPayload } from 'jose';
import { isValidChatId } from '../chats/chat-id.ts';
import { ApiError } from './http-errors.ts';

export interface AuthOptions {
  /** HS256 secret (at least 32 bytes). Without one the API is open. */
  secret?: string | null;
}

/** Who the caller is, as `authenticate` found out. */
export type Access =
  | { kind: 'open' }
  | { kind: 'chat'; chatId: string } // a token with a `chat` claim: that chat only
  | { kind: 'user'; sub: string }; // a token with `sub`: the chats that user owns

export class AuthConfigError extends Error {
  readonly code = 'ERR_CONFIG_AUTH_SECRET_TOO_SHORT';
  constructor() {
    super('The files API token secret must be at least 32 bytes (HS256 needs a 256-bit key), e.g. SIDECAR_TOKEN_SECRET=$(openssl rand -hex 32).');
  }
}

const MIN_SECRET_BYTES = 32;

/** jose is loaded on the first token, not at start: an open API (and the idle process) never needs it. */
let jose: Promise<typeof Jose> | null = null;
const loadJose = () => (jose ??= import('jose'));

export function secretKey(secret: string): Uint8Array {
  const key = new TextEncoder().encode(secret);
  if (key.byteLength < MIN_SECRET_BYTES) throw new AuthConfigError();
  return key;
}

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
  return async (req, res, next) => {
    if (!key) {
      res.locals.access = { kind: 'open' } satisfies Access;
      return next();
    }
    const token = tokenFrom(req);
    if (!token) {
      res.set('WWW-Authenticate', 'Bearer');
      throw new ApiError('ERR_UNAUTHORIZED', 'A token is required: send "Authorization: Bearer <token>" or ?token=<token>.');
    }
    let payload: JWTPayload;
    const { jwtVerify, errors } = await loadJose();
    try {
      ({ payload } = await jwtVerify(token, key, { algorithms: ['HS256'] }));
    } catch (error) {
      res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
      const expired = error instanceof errors.JWTExpired;
      throw new ApiError('ERR_UNAUTHORIZED', expired ? 'The token has expired.' : 'The token is not valid.');
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

/** Signs an HS256 token for tests and the demo: `{ chat }` for one chat, `{ sub }` for a user's chats. */
export async function signToken(
  secret: string,
  claims: { chat?: string; sub?: string },
  options: { expiresIn?: string | number } = {},
): Promise<string> {
  const { SignJWT } = await loadJose();
  const jwt = new SignJWT(claims.chat ? { chat: claims.chat } : {}).setProtectedHeader({ alg: 'HS256' }).setIssuedAt();
  if (claims.sub) jwt.setSubject(claims.sub);
  jwt.setExpirationTime(options.expiresIn ?? '1h');
  return jwt.sign(secretKey(secret));
}
