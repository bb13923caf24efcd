import type { Request, RequestHandler, Response } from 'express';
import { chatFromRequest } from '../chats/chat-request.ts';
import type { KernelChatStore } from '../chats/kernel-chats.ts';
import { sendJsonError } from '../errors.ts';
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { callGateway, GatewayCallError, type GatewayAnswer } from './gateway-call.ts';

/** Jupyter's kernel and session routes, as the sidecar reads them (relative to the gateway's base path). */
export type KernelRoute =
  | { kind: 'kernels' }
  | { kind: 'kernel'; kernelId: string }
  | { kind: 'sessions' }
  | { kind: 'session'; sessionId: string };

const KERNELS = /^api\/kernels\/?$/;
const ONE_KERNEL = /^api\/kernels\/([^/]+)(?:\/.*)?$/;
const SESSIONS = /^api\/sessions\/?$/;
const ONE_SESSION = /^api\/sessions\/([^/]+)\/?$/;

function decoded(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Which kernel or session route `pathname` is, under the gateway base path `base` (`/…/`); null for any other. */
export function readKernelRoute(base: string, pathname: string): KernelRoute | null {
  if (!pathname.startsWith(base)) return null;
  const rest = pathname.slice(base.length);
  if (KERNELS.test(rest)) return { kind: 'kernels' };
  if (SESSIONS.test(rest)) return { kind: 'sessions' };
  const kernel = ONE_KERNEL.exec(rest);
  if (kernel) return { kind: 'kernel', kernelId: decoded(kernel[1]!) ?? kernel[1]! };
  const session = ONE_SESSION.exec(rest);
  if (session) return { kind: 'session', sessionId: decoded(session[1]!) ?? session[1]! };
  return null;
}

export interface KernelScopeDeps {
  /** The gateway's base path (`/…/`). */
  base: string;
  gateway: URL;
  timeoutMs: number;
  kernelChats: KernelChatStore;
  logger: Logger;
}

/** The kernel part of a Jupyter session model, when there is one. */
function sessionKernelId(session: unknown): string | undefined {
  if (!isPlainObject(session) || !isPlainObject(session.kernel)) return undefined;
  return typeof session.kernel.id === 'string' ? session.kernel.id : undefined;
}

/**
 * A chat's kernels are only its own. A request that names a chat (its `/chats/{id}/` prefix or
 * X-Chat-Id) sees, through Jupyter's kernel and session routes, only the kernels the sidecar
 * paired with that chat: the lists are filtered, and any call on another chat's kernel or
 * session (get, delete, interrupt, restart, patch) is a 404 with the same body as a kernel that
 * does not exist, so it neither acts nor confirms that the kernel exists. Requests that name
 * no chat pass through as they always did. Creating kernels and sessions is not decided here.
 */
export function scopeKernelRoutes(deps: KernelScopeDeps): RequestHandler {
  const belongs = async (kernelId: string | undefined, chatId: string): Promise<boolean> =>
    kernelId !== undefined && (await deps.kernelChats.get(kernelId))?.chatId === chatId;

  const notFound = (res: Response, what: 'Kernel' | 'Session', id: string) =>
    sendJsonError(res, { code: 'ERR_NOT_FOUND', message: `${what} does not exist: ${id}`, jupyter: true });

  /** The gateway's list, with only the chat's own entries; any other answer is relayed as it came. */
  async function filteredList(req: Request, res: Response, keep: (entry: unknown) => Promise<boolean>) {
    const answer = await ask(req, res, req.url);
    if (!answer) return;
    if (answer.status !== 200) return relay(res, answer);
    let entries: unknown;
    try {
      entries = JSON.parse(answer.body.toString('utf8'));
    } catch {
      entries = undefined;
    }
    // Never relay a list we could not filter: it may name other chats' kernels.
    if (!Array.isArray(entries)) return sendJsonError(res, { code: 'ERR_GATEWAY_FAILED', jupyter: true });
    const kept: unknown[] = [];
    for (const entry of entries) if (await keep(entry)) kept.push(entry);
    res.status(200).type('application/json').send(JSON.stringify(kept));
  }

  async function ask(req: Request, res: Response, pathAndQuery: string): Promise<GatewayAnswer | null> {
    try {
      return await callGateway(deps.gateway, req, pathAndQuery, { timeoutMs: deps.timeoutMs });
    } catch (error) {
      if (!(error instanceof GatewayCallError)) throw error;
      deps.logger.warn(`[sidecar] ${req.method} ${redactUrl(req.url)} -> gateway: ${describeError(error.cause)}`);
      sendJsonError(res, { code: error.code, jupyter: true });
      return null;
    }
  }

  return async (req, res, next) => {
    const route = readKernelRoute(deps.base, req.path);
    if (!route) return next();
    const chatId = chatFromRequest(req, res.locals.chatId ?? null);
    if (!chatId) return next();
    switch (route.kind) {
      case 'kernels':
        if (req.method !== 'GET') return next();
        return filteredList(req, res, (kernel) =>
          belongs(isPlainObject(kernel) && typeof kernel.id === 'string' ? kernel.id : undefined, chatId),
        );
      case 'kernel':
        return (await belongs(route.kernelId, chatId)) ? next() : notFound(res, 'Kernel', route.kernelId);
      case 'sessions':
        if (req.method !== 'GET') return next();
        return filteredList(req, res, (session) => belongs(sessionKernelId(session), chatId));
      case 'session': {
        // Which kernel a session runs is the gateway's to say: ask it, with the client's credentials.
        const answer = await ask(req, res, req.url);
        if (!answer) return;
        if (answer.status === 404 || answer.status === 200) {
          if (answer.status === 200 && (await belongs(sessionKernelId(parseJson(answer.body)), chatId))) return next();
          return notFound(res, 'Session', route.sessionId);
        }
        return relay(res, answer);
      }
    }
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

function relay(res: Response, answer: GatewayAnswer): void {
  res.status(answer.status).type(answer.contentType).send(answer.body);
}
