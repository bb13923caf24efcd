/** GET /metrics: the registry in Prometheus text format, behind a bearer token when one is set. */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type Router } from 'express';
import type { SidecarMetrics } from './sidecar-metrics.ts';
import { sendError } from '../api/http-errors.ts';

export const METRICS_PATH = '/metrics';

/** Compared as hashes, so neither the length nor the bytes of the token leak through timing. */
function sameToken(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export function createMetricsRoute(metrics: SidecarMetrics, token: string | null): Router {
  const router = express.Router();
  router.get(METRICS_PATH, async (req, res) => {
    if (token !== null) {
      const given = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
      if (given === undefined || !sameToken(given, token)) {
        res.set('WWW-Authenticate', 'Bearer realm="metrics"');
        return sendError(res, {
          code: 'ERR_UNAUTHORIZED',
          message: 'The metrics token is required: send "Authorization: Bearer <token>".',
        });
      }
    }
    const body = await metrics.registry.metrics();
    res.set('Content-Type', metrics.registry.contentType).set('Cache-Control', 'no-store').send(body);
  });
  return router;
}
