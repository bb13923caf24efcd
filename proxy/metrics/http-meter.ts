/**
 * Counts files-API requests by the route pattern that answered them (`/chats/:chatId/files`,
 * never the path itself: no chat id or file name becomes a label), and uploads and downloads by
 * outcome. Read when the response is finished, so the status is the one sent.
 */
import type { RequestHandler } from 'express';
import type { SidecarMetrics } from './sidecar-metrics.ts';

const DOWNLOADS: Record<string, 'file' | 'archive'> = {
  '/chats/:chatId/files/:fileId/content': 'file',
  '/chats/:chatId/archive.zip': 'archive',
};
const UPLOAD = '/chats/:chatId/uploads/*path';

const outcomeOf = (status: number) => (status < 400 ? 'ok' : status < 500 ? 'refused' : 'failed');

export function httpMeter(metrics: SidecarMetrics): RequestHandler {
  return (req, res, next) => {
    res.once('finish', () => {
      // Set by the router that matched; no match (404 by the fallback handler) is 'unmatched'.
      const route = (req.route as { path?: unknown } | undefined)?.path;
      const pattern = typeof route === 'string' ? route : 'unmatched';
      metrics.httpRequests.inc({ route: pattern, method: req.method, status: `${Math.floor(res.statusCode / 100)}xx` });
      const download = DOWNLOADS[pattern];
      if (download && req.method === 'GET')
        metrics.downloads.inc({ kind: download, outcome: outcomeOf(res.statusCode) });
      if (pattern === UPLOAD && req.method === 'PUT') {
        const outcome = outcomeOf(res.statusCode);
        metrics.uploads.inc({ outcome: outcome === 'ok' ? 'stored' : outcome });
      }
    });
    next();
  };
}
