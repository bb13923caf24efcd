import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import { kernelIdIn } from './kernel-forget.ts';

const RESTART = /api\/kernels\/([^/?]+)\/restart\/?(?:\?|$)/;

/**
 * A passthrough response hook that passes on a restart asked through REST (`POST
 * …/api/kernels/{id}/restart`, answered 200). Jupyter Server tells a kernel's open sockets only
 * of the restarts it makes itself (status `restarting`, after a crash), not of this one, and the
 * sidecar must still end what was in the kernel and drop what it held for it. `base` is the
 * gateway's base path (`/…/`).
 */
export function noticeKernelRestarts(deps: {
  base: string;
  onRestart: (kernelId: string) => void;
}): (proxyRes: IncomingMessage, req: Request) => void {
  return (proxyRes, req) => {
    if (req.method !== 'POST' || proxyRes.statusCode !== 200) return;
    const id = kernelIdIn(req.url, deps.base, RESTART);
    if (id) deps.onRestart(id);
  };
}
