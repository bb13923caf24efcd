/**
 * The log context of each request and upgrade, set at the edge so every line written while
 * handling it names it: a request id (the client's `X-Request-Id` when it is a sane token, else a
 * new one, echoed back), and the kernel and chat the URL names (`/chats/{chatId}/…`,
 * `/api/kernels/{kernelId}…`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { redactUrl, type Logger } from '../logger.ts';
import { logContext, type LogContext } from '../structured-logger.ts';

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const CHAT = /\/chats\/([^/?#]+)/;
const KERNEL = /\/api\/kernels\/([^/?#]+)/;

function decoded(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    const value = decodeURIComponent(raw);
    return SANE_ID.test(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function contextOf(req: IncomingMessage): LogContext {
  const given = req.headers['x-request-id'];
  const reqId = typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
  const url = req.url ?? '';
  const context: LogContext = { reqId };
  const kernelId = decoded(KERNEL.exec(url)?.[1]);
  const chatId = decoded(CHAT.exec(url)?.[1]);
  if (kernelId) context.kernelId = kernelId;
  if (chatId) context.chatId = chatId;
  return context;
}

/** Sets each request's log context, and with a debug logger writes one line per answered request (query stripped). */
export function requestContext(logger: Logger): RequestHandler {
  return (req, res, next) => {
    const context = contextOf(req);
    res.setHeader('X-Request-Id', context.reqId);
    if (logger.debug) {
      const started = performance.now();
      res.once('finish', () =>
        logContext.run(context, () =>
          logger.debug?.(
            `[http] ${req.method} ${redactUrl(req.originalUrl)} ${res.statusCode} ${Math.round(performance.now() - started)} ms`,
          ),
        ),
      );
    }
    logContext.run(context, next);
  };
}
