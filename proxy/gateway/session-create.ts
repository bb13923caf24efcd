import type { Request, RequestHandler, Response } from 'express';
import { chatFromRequest } from '../chats/chat-request.ts';
import { sendJsonError } from '../errors.ts';
import { describeError, redactUrl, type Logger } from '../logger.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { callGateway, GatewayCallError, queryOf, type GatewayAnswer } from './gateway-call.ts';
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
 * own path, name and type. A session on an existing kernel passes as it is, but under a chat it
 * may only name that chat's kernel (404 otherwise, as for a kernel that does not exist). If the
 * gateway refuses the session, the kernel made for it is shut down again.
 */
export function startSessionsInWorkspaces(deps: SessionCreateDeps): RequestHandler {
  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = parseObject(raw);
    // Not ours to judge: the gateway answers a malformed body itself.
    if (!body) return relayCall(req, res, req.url, { method: 'POST', raw, contentType: req.headers['content-type'] });
    const kernel = isPlainObject(body.kernel) ? body.kernel : {};
    if (typeof kernel.id === 'string') {
      const chatId = chatFromRequest(req, res.locals.chatId ?? null);
      if (chatId && (await deps.kernelChats.get(kernel.id))?.chatId !== chatId)
        return sendJsonError(res, {
          code: 'ERR_NOT_FOUND',
          message: `Kernel does not exist: ${kernel.id}`,
          jupyter: true,
        });
      return relayCall(req, res, req.url, { method: 'POST', json: body });
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
    const shutDown = await callGateway(deps.gateway, req, `${deps.base}api/kernels/${id}${queryOf(req.url)}`, {
      method: 'DELETE',
      timeoutMs: deps.timeoutMs,
    }).catch(() => undefined);
    if (shutDown?.status === 204 || shutDown?.status === 404) await deps.kernelChats.delete(id).catch(() => {});
    if (session) relay(res, session);
  };

  /** A call on the client's behalf; null when it failed on the network (the client has its error then). */
  async function call(
    req: Request,
    res: Response,
    pathAndQuery: string,
    init: Omit<Parameters<typeof callGateway>[3], 'timeoutMs'>,
  ): Promise<GatewayAnswer | null> {
    try {
      return await callGateway(deps.gateway, req, pathAndQuery, { ...init, timeoutMs: deps.timeoutMs });
    } catch (error) {
      if (!(error instanceof GatewayCallError)) throw error;
      deps.logger.warn(`[sidecar] ${req.method} ${redactUrl(req.url)} -> gateway: ${describeError(error.cause)}`);
      sendJsonError(res, { code: error.code, jupyter: true });
      return null;
    }
  }

  async function relayCall(
    req: Request,
    res: Response,
    pathAndQuery: string,
    init: Omit<Parameters<typeof callGateway>[3], 'timeoutMs'>,
  ): Promise<void> {
    const answer = await call(req, res, pathAndQuery, init);
    if (answer) relay(res, answer);
  }
}

function parseObject(raw: Buffer): Record<string, unknown> | null {
  try {
    const parsed: unknown = raw.length ? JSON.parse(raw.toString('utf8')) : {};
    return isPlainObject(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

function stringId(body: Buffer): string | undefined {
  const parsed = parseObject(body);
  return typeof parsed?.id === 'string' ? parsed.id : undefined;
}

function relay(res: Response, answer: GatewayAnswer): void {
  const session = parseObject(answer.body);
  // Jupyter answers a new session 201 with its URL in Location; a /chats/{id} client gets it under its prefix.
  if (answer.status === 201 && typeof session?.id === 'string')
    res.location(`${res.locals.chatPrefix ?? ''}${res.req.url.split('?')[0]!.replace(/\/$/, '')}/${session.id}`);
  res.status(answer.status).type(answer.contentType).send(answer.body);
}
