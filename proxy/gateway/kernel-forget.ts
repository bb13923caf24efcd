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
  return (proxyRes, req) => {
    const gone = (req.method === 'DELETE' && proxyRes.statusCode === 204) || proxyRes.statusCode === 404;
    if (!gone || (req.method !== 'GET' && req.method !== 'DELETE')) return;
    const id = kernelIdIn(req.url, deps.base, ONE_KERNEL);
    if (id)
      deps.kernelChats.delete(id).catch((e) => deps.logger.warn(`[sidecar] forgetting kernel: ${describeError(e)}`));
  };
}

/** The kernel id `pattern` captures in a gateway route's URL (after `base`), decoded; none if it is not one. */
export function kernelIdIn(url: string, base: string, pattern: RegExp): string | undefined {
  const encoded = pattern.exec(url.slice(base.length - 1))?.[1];
  if (encoded === undefined) return undefined;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
}
