import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { chatFromRequest } from '../chats/chat-request.ts';
import type { KernelChatStore } from '../chats/kernel-chats.ts';
import { sendJsonError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { disguisedId } from './disguised-id.ts';
import { callGatewayOrAnswer, queryOf, type GatewayAnswer } from './gateway-call.ts';
import type { Disguise } from './gateway-proxy.ts';

/** Jupyter's kernel and session routes, as the sidecar reads them (relative to the gateway's base path). */
export type KernelRoute =
  | { kind: 'kernels' }
  | { kind: 'kernel'; kernelId: string; rest: string }
  | { kind: 'sessions' }
  | { kind: 'session'; sessionId: string };

const KERNELS = /^api\/kernels\/?$/;
const ONE_KERNEL = /^api\/kernels\/([^/]+)(\/.*)?$/;
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
  if (kernel) return { kind: 'kernel', kernelId: decoded(kernel[1]!) ?? kernel[1]!, rest: kernel[2] ?? '' };
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
  /** The one proxy every call on a single kernel or session under a chat goes through (createScopedKernelProxy). */
  proxy: RequestHandler;
}

/** The kernel part of a Jupyter session model, when there is one. */
export function sessionKernelId(session: unknown): string | undefined {
  if (!isPlainObject(session) || !isPlainObject(session.kernel)) return undefined;
  return typeof session.kernel.id === 'string' ? session.kernel.id : undefined;
}

/**
 * A chat's kernels are only its own. A request that names a chat (its `/chats/{id}/` prefix,
 * X-Chat-Id, or a chat token: `http/chat-from-token.ts`) sees, through Jupyter's kernel and session
 * routes, only the kernels the sidecar paired with that chat: the lists are filtered, and a call
 * on another chat's kernel or session (get, delete, interrupt, restart, patch) is sent to the
 * gateway with an id that cannot exist, so it acts on nothing and the client gets, byte for byte,
 * the gateway's own answer for a kernel that does not exist: 403 without credentials, 404 with
 * them. Allowed calls go through the same proxy, so no header tells the two apart. Requests that
 * name no chat pass through as they always did. Creating kernels and sessions is not decided here.
 */
export function scopeKernelRoutes(deps: KernelScopeDeps): RequestHandler {
  const belongs = async (kernelId: string | undefined, chatId: string): Promise<boolean> =>
    kernelId !== undefined && (await deps.kernelChats.get(kernelId))?.chatId === chatId;

  /** On to the gateway as a call about an id that cannot exist; the answer names `real` again. */
  const refuse = (
    req: Request,
    res: Response,
    next: NextFunction,
    route: 'kernels' | 'sessions',
    real: string,
    rest = '',
  ) => {
    const fake = disguisedId(real);
    res.locals.disguise = { fake, real } satisfies Disguise;
    req.url = `${deps.base}api/${route}/${encodeURIComponent(fake)}${rest}${queryOf(req.url)}`;
    return deps.proxy(req, res, next);
  };

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

  const ask = (req: Request, res: Response, pathAndQuery: string, method?: string) =>
    callGatewayOrAnswer(deps, req, res, pathAndQuery, { method });

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
        if (await belongs(route.kernelId, chatId)) return deps.proxy(req, res, next);
        return refuse(req, res, next, 'kernels', route.kernelId, route.rest);
      case 'sessions':
        if (req.method !== 'GET') return next();
        return filteredList(req, res, (session) => belongs(sessionKernelId(session), chatId));
      case 'session': {
        // Which kernel a session runs is the gateway's to say: ask it, with the client's credentials.
        const answer = await ask(
          req,
          res,
          `${deps.base}api/sessions/${encodeURIComponent(route.sessionId)}${queryOf(req.url)}`,
          'GET',
        );
        if (!answer) return;
        if (answer.status === 200 && (await belongs(sessionKernelId(parseJson(answer.body)), chatId)))
          // A PATCH may start a kernel: session-patch.ts makes it in the chat's workspace.
          return req.method === 'PATCH' ? next() : deps.proxy(req, res, next);
        return refuse(req, res, next, 'sessions', route.sessionId);
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
