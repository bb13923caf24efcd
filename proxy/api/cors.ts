import type { RequestHandler } from 'express';

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
    if (origin && (any || allowed.has(origin))) {
      res.set('Access-Control-Allow-Origin', any ? '*' : origin);
      if (!any) res.vary('Origin');
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
