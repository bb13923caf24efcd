import type { RequestHandler } from 'express';

declare module 'express-serve-static-core' {
  interface Locals {
    /** This request may come from any origin (see tokenRoutesFromAnyOrigin). */
    anyOrigin?: boolean;
  }
}

const EXPOSED = 'Content-Disposition, Content-Length, Content-Range, Content-Type, ETag, Accept-Ranges';

/**
 * CORS for the configured origins (`*` for any). Tokens travel as bearer headers or in the
 * query, never as cookies, so credentials are not allowed.
 */
export function createCors(origins: readonly string[]): RequestHandler {
  const any = origins.includes('*');
  const allowed = new Set(origins.map((o) => o.replace(/\/+$/, '')));
  return (req, res, next) => {
    const origin = req.headers.origin;
    if (origin && (any || allowed.has(origin) || res.locals.anyOrigin)) {
      const star = any || !!res.locals.anyOrigin;
      res.set('Access-Control-Allow-Origin', star ? '*' : origin);
      if (!star) res.vary('Origin');
      res.set('Access-Control-Expose-Headers', EXPOSED);
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.set('Access-Control-Allow-Methods', 'GET, HEAD, POST, PUT, OPTIONS');
        res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, Range, If-None-Match, If-Range');
        res.set('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}

/**
 * Marks the token routes (`/chats/...`) as open to any origin, ahead of createCors. Used when a
 * secret is set and the MCP App is served: every request there must carry a token (a header or
 * `?token=`, never a cookie), so an origin check adds nothing to it, and the App runs in a sandbox
 * whose origin each host picks (per conversation, or opaque: `null`) and no operator can list.
 */
export const tokenRoutesFromAnyOrigin: RequestHandler = (req, res, next) => {
  if (/^\/chats(\/|$)/.test(req.path)) res.locals.anyOrigin = true;
  next();
};
