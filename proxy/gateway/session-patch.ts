import type { RequestHandler } from 'express';
import { chatFromRequest } from '../chats/chat-request.ts';
import { isPlainObject } from '../wire/kernel-frame.ts';
import { disguisedId, swapIdBack } from './disguised-id.ts';
import { callGatewayOrAnswer, queryOf } from './gateway-call.ts';
import { commitKernel, reserveKernel } from './kernel-create.ts';
import { sessionKernelId } from './kernel-scope.ts';
import { discardKernel, parseObject, relay, stringId, type SessionCreateDeps } from './session-create.ts';

const ONE_SESSION = /\/api\/sessions\/([^/?]+)\/?$/;

/**
 * `PATCH {base}api/sessions/{id}` with a new `kernel.name` (JupyterLab's "Change Kernel") would
 * have Jupyter start that kernel in the notebook's folder under its root. So the sidecar makes the
 * kernel itself, as `session-create.ts` does (the chat the request names, else the chat of the
 * session's current kernel; its workspace as the working directory), and then patches the
 * session onto it by `kernel.id`; Jupyter shuts the old kernel down, and its chat is forgotten.
 * Under a chat, a `kernel.id` of another chat is sent on as an id that cannot exist, so the
 * client gets the gateway's own answer for a kernel that does not exist (400 "No such kernel").
 * Everything else (renames, a malformed body) is the gateway's to answer, as it was.
 * kernel-scope.ts has already checked that a request naming a chat patches that chat's session.
 */
export function startPatchedKernelsInWorkspaces(deps: SessionCreateDeps): RequestHandler {
  return async (req, res) => {
    const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const body = parseObject(raw);
    const kernel = body && isPlainObject(body.kernel) ? body.kernel : null;
    const call = (init: Parameters<typeof callGatewayOrAnswer>[4], pathAndQuery = req.url) =>
      callGatewayOrAnswer(deps, req, res, pathAndQuery, init);
    const passOn = async () => {
      const answer = await call({ method: 'PATCH', raw, contentType: req.headers['content-type'] });
      if (answer) relay(res, answer);
    };
    if (!body || !kernel) return passOn();
    const chatId = chatFromRequest(req, res.locals.chatId ?? null);

    if (kernel.id !== undefined && kernel.id !== null) {
      if (typeof kernel.id !== 'string' || !chatId || (await deps.kernelChats.get(kernel.id))?.chatId === chatId)
        return passOn();
      const fake = disguisedId(kernel.id);
      const answer = await call({ method: 'PATCH', json: { ...body, kernel: { ...kernel, id: fake } } });
      if (answer) relay(res, { ...answer, body: swapIdBack(answer.body, fake, kernel.id) });
      return;
    }
    if (typeof kernel.name !== 'string') return passOn();

    const sessionId = ONE_SESSION.exec(req.path)?.[1];
    const current = sessionId
      ? await call({ method: 'GET' }, `${deps.base}api/sessions/${sessionId}${queryOf(req.url)}`)
      : null;
    if (sessionId && !current) return;
    // No such session (or no right to it): the gateway answers the PATCH itself, starting nothing.
    if (current?.status !== 200) return passOn();
    const oldKernel = sessionKernelId(parseObject(current.body));
    const oldChat = oldKernel ? (await deps.kernelChats.get(oldKernel))?.chatId : undefined;
    const kernelBody: Record<string, unknown> = { name: kernel.name };
    if (!chatId && oldChat) kernelBody.env = { KERNEL_CHAT_ID: oldChat };
    const reserved = await reserveKernel(deps, req, res, kernelBody);
    if (!reserved) return;
    const made = await call({ method: 'POST', json: reserved.body }, `${deps.base}api/kernels${queryOf(req.url)}`);
    const id = made && made.status >= 200 && made.status < 300 ? stringId(made.body) : undefined;
    await commitKernel(deps, reserved.pending, id);
    if (!made) return;
    if (id === undefined) return relay(res, made);

    const patched = await call({ method: 'PATCH', json: { ...body, kernel: { id } } });
    if (patched && patched.status >= 200 && patched.status < 300) {
      // Jupyter shut the session's old kernel down: it is no chat's any more.
      if (oldKernel && oldKernel !== id) await deps.kernelChats.delete(oldKernel).catch(() => {});
      return relay(res, patched);
    }
    await discardKernel(deps, req, id);
    if (patched) relay(res, patched);
  };
}
