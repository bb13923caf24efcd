import type { IncomingMessage } from 'node:http';
import type { Request } from 'express';
import type { KernelChatStore } from '../chats/kernel-chats.ts';
import { describeError, type Logger } from '../logger.ts';

const ONE_KERNEL = /api\/kernels\/([^/?]+)\/?(?:\?|$)/;

/**
 * A passthrough response hook that forgets a kernel the gateway deleted (Open WebUI makes and
 * deletes one per run), or no longer has (a 404 after it restarted, or culled it), so the
 * kernel→chat map keeps only live kernels. `base` is the gateway's base path (`/…/`).
 */
export function forgetGoneKernels(deps: {
  base: string;
  kernelChats: KernelChatStore;
  logger: Logger;
}): (proxyRes: IncomingMessage, req: Request) => void {
  const forget = (encodedId: string) => {
    let id: string;
    try {
      id = decodeURIComponent(encodedId);
    } catch {
      return;
    }
    deps.kernelChats.delete(id).catch((e) => deps.logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
  };
  return (proxyRes, req) => {
    const gone = (req.method === 'DELETE' && proxyRes.statusCode === 204) || proxyRes.statusCode === 404;
    if (gone && (req.method === 'GET' || req.method === 'DELETE')) {
      const id = ONE_KERNEL.exec(req.url.slice(deps.base.length - 1))?.[1];
      if (id) forget(id);
    }
  };
}
