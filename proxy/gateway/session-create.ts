import type { Request, RequestHandler, Response } from 'express';
import { chatFromRequest } from '../chats/chat-request.ts';
import type { Logger } from '../logger.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { callGateway, callGatewayOrAnswer, queryOf, type GatewayAnswer } from './gateway-call.ts';
import { commitKernel, reserveKernel, type KernelCreateDeps } from './kernel-create.ts';

export interface SessionCreateDeps extends KernelCreateDeps {
  /** The gateway's base path (`/…/`). */
  base: string;
  gateway: URL;
  timeoutMs: number;
  logger: Logger;
}

/**
 * `POST {base}api/sessions` (how JupyterLab's notebook UI starts a kernel) would start the kernel
 * in the notebook's folder, under Jupyter's root: `os.getcwd()` and every relative path would
 * show a real server path. So a session that asks for a new kernel gets one made the way
 * `POST api/kernels` makes it (the chat's workspace as its working directory, its chat
 * remembered), and the session is then created on that kernel (`kernel.id`), with the client's
 * own path, name and type. A session on an existing kernel passes as it is; under a chat, one
 * naming another chat's kernel is treated as Jupyter treats a kernel id that does not exist: a
 * new kernel is started for it (here, in the chat's workspace). If the gateway refuses the
 * session, the kernel made for it is shut down again.
 */
export function startSessionsInWorkspaces(deps: SessionCreateDeps): RequestHandler {
  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = parseObject(raw);
    // Not ours to judge: the gateway answers a malformed body itself.
    if (!body) return relayCall(req, res, req.url, { method: 'POST', raw, contentType: req.headers['content-type'] });
    const { id: askedId, ...kernel } = isPlainObject(body.kernel) ? body.kernel : {};
    if (typeof askedId === 'string') {
      const chatId = chatFromRequest(req, res.locals.chatId ?? null);
      if (!chatId || (await deps.kernelChats.get(askedId))?.chatId === chatId)
        return relayCall(req, res, req.url, { method: 'POST', json: body });
      // Under a chat, another chat's kernel is one that does not exist. Jupyter answers a session
      // on a kernel that does not exist by starting a new one; so does the sidecar, in the chat's
      // workspace (no answer here confirms that the other kernel exists).
    }

    const kernelBody: Record<string, unknown> = typeof kernel.name === 'string' ? { name: kernel.name } : {};
    const reserved = await reserveKernel(deps, req, res, kernelBody);
    if (!reserved) return;
    const kernelsUrl = `${deps.base}api/kernels${queryOf(req.url)}`;
    const made = await call(req, res, kernelsUrl, { method: 'POST', json: reserved.body });
    const id = made && made.status >= 200 && made.status < 300 ? stringId(made.body) : undefined;
    await commitKernel(deps, reserved.pending, id);
    if (!made) return;
    if (id === undefined) return relay(res, made);

    const session = await call(req, res, req.url, { method: 'POST', json: { ...body, kernel: { ...kernel, id } } });
    if (session && session.status >= 200 && session.status < 300) return relay(res, session);
    // No session was made: the kernel made for it goes again, as Jupyter's own would.
    await discardKernel(deps, req, id);
    if (session) relay(res, session);
  };

  function call(
    req: Request,
    res: Response,
    pathAndQuery: string,
    init: Parameters<typeof callGatewayOrAnswer>[4],
  ): Promise<GatewayAnswer | null> {
    return callGatewayOrAnswer(deps, req, res, pathAndQuery, init);
  }

  async function relayCall(
    req: Request,
    res: Response,
    pathAndQuery: string,
    init: Parameters<typeof callGatewayOrAnswer>[4],
  ): Promise<void> {
    const answer = await call(req, res, pathAndQuery, init);
    if (answer) relay(res, answer);
  }
}

/** Shuts down kernel `id`, made for a session the gateway then refused, and forgets its chat. */
export async function discardKernel(deps: SessionCreateDeps, req: Request, id: string): Promise<void> {
  const shutDown = await callGateway(deps.gateway, req, `${deps.base}api/kernels/${id}${queryOf(req.url)}`, {
    method: 'DELETE',
    timeoutMs: deps.timeoutMs,
  }).catch(() => undefined);
  if (shutDown?.status === 204 || shutDown?.status === 404) await deps.kernelChats.delete(id).catch(() => {});
}

export function parseObject(raw: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    return isPlainObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

export function stringId(body: Buffer): string | undefined {
  const parsed = parseObject(body);
  return typeof parsed?.id === 'string' ? parsed.id : undefined;
}

export function relay(res: Response, answer: GatewayAnswer): void {
  const session = parseObject(answer.body);
  // Jupyter answers a new session 201 with its URL in Location; a /chats/{id} client gets it under its prefix.
  if (answer.status === 201 && typeof session?.id === 'string')
    res.location(`${res.locals.chatPrefix ?? ''}${res.req.url.split('?')[0]!.replace(/\/$/, '')}/${session.id}`);
  res.status(answer.status).type(answer.contentType).send(answer.body);
}
