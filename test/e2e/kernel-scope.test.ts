/**
 * A chat's kernels are only its own: under one chat's prefix, X-Chat-Id or chat token, Jupyter's
 * kernel and session routes neither list nor touch another chat's kernels, nor say that they
 * exist (with or without credentials), against a real Jupyter Server, with raw requests for every
 * route and with JupyterLab's own KernelManager.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { signChatToken } from '../../proxy/links/chat-token.ts';
import { secretKey } from '../../proxy/links/link-token.ts';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { startSidecar, useSidecarBed, type RunningSidecar } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { signToken } from '../support/tokens.ts';

const SECRET = 'kernel-scope-secret-of-at-least-32-bytes!!';
/** The same sidecar with FILES_API_SECRET: chat tokens name the chat. */
let secured: RunningSidecar;
const { bed, proxy } = useSidecarBed(
  {},
  {
    async start(bed) {
      secured = await startSidecar(bed, { 'data-dir': `${bed.dir}/store-secured` }, {}, { FILES_API_SECRET: SECRET });
    },
    stop: async () => secured?.stop(),
  },
);

const chatBase = (chat: string) => `${proxy.url}chats/${chat}/`;
const token = () => `token=${bed.jupyter.token}`;

async function call(
  url: string,
  init: { method?: string; json?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${url.includes('?') ? '&' : '?'}${token()}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.json !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (Tornado's HTML page for a GET of /channels): compared as text.
  }
  return { status: res.status, body: body as any };
}

async function createKernel(base: string, headers: Record<string, string> = {}): Promise<string> {
  const { status, body } = await call(`${base}api/kernels`, { method: 'POST', json: {}, headers });
  assert.equal(status, 201);
  return body.id as string;
}

/** Status, body and headers as the client sees them. */
async function answer(url: string, method: string, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method, headers });
  // Date ticks and the request id is per request; the cookie is the gateway's login, refreshed.
  const seen = [...res.headers].filter(([name]) => !['date', 'set-cookie', 'x-request-id'].includes(name));
  return { status: res.status, body: await res.text(), headers: Object.fromEntries(seen) };
}

const ids = (list: Array<{ id: string }>) => list.map((k) => k.id).sort();

describe("a chat's kernel routes answer for that chat only", () => {
  test('raw requests for every kernel and session route', async () => {
    const [a, b] = [`scope-a-${randomUUID().slice(0, 8)}`, `scope-b-${randomUUID().slice(0, 8)}`];
    const ka = await createKernel(chatBase(a));
    const kb = await createKernel(chatBase(b));
    // A session on b's kernel, made without naming a chat (as before).
    const session = await call(`${proxy.url}api/sessions`, {
      method: 'POST',
      json: { path: 'b.ipynb', type: 'notebook', name: 'b.ipynb', kernel: { id: kb } },
    });
    assert.equal(session.status, 201);
    const sb = session.body.id as string;

    // Lists: only the chat's own, under its prefix or its X-Chat-Id.
    assert.deepEqual(ids((await call(`${chatBase(a)}api/kernels`)).body), [ka]);
    assert.deepEqual(ids((await call(`${proxy.url}api/kernels`, { headers: { 'X-Chat-Id': b } })).body), [kb]);
    assert.deepEqual((await call(`${chatBase(a)}api/sessions`)).body, []);
    assert.deepEqual(
      (await call(`${chatBase(b)}api/sessions`)).body.map((s: { id: string }) => s.id),
      [sb],
    );
    // Naming no chat keeps today's behaviour: everything.
    const all = ids((await call(`${proxy.url}api/kernels`)).body);
    assert.ok(all.includes(ka) && all.includes(kb));

    // Another chat's kernel and session: the very answer a kernel that does not exist gets (the
    // gateway's own: 404, and Jupyter 1.23's 500 for restarting a kernel it does not have).
    const unknown = randomUUID();
    const calls: Array<[string, string]> = [
      ['GET', `api/kernels/${kb}`],
      ['DELETE', `api/kernels/${kb}`],
      ['POST', `api/kernels/${kb}/interrupt`],
      ['POST', `api/kernels/${kb}/restart`],
      ['GET', `api/kernels/${kb}/channels`],
    ];
    for (const [method, route] of calls) {
      const missing = await call(`${chatBase(a)}${route.replace(kb, unknown)}`, { method });
      assert.ok(missing.status >= 400, `${method} ${route} of a kernel that does not exist`);
      const answer = await call(`${chatBase(a)}${route}`, { method });
      assert.equal(answer.status, missing.status, `${method} ${route}`);
      assert.equal(JSON.stringify(answer.body), JSON.stringify(missing.body).replaceAll(unknown, kb));
      const byHeader = await call(`${proxy.url}${route}`, { method, headers: { 'X-Chat-Id': a } });
      assert.equal(byHeader.status, missing.status, `${method} ${route} with X-Chat-Id`);
    }
    for (const method of ['GET', 'DELETE']) {
      assert.equal((await call(`${chatBase(a)}api/sessions/${sb}`, { method })).status, 404, `${method} session`);
    }
    const patched = await call(`${chatBase(a)}api/sessions/${sb}`, { method: 'PATCH', json: { path: 'x.ipynb' } });
    assert.equal(patched.status, 404);
    assert.equal((await call(`${chatBase(a)}api/sessions/${randomUUID()}`)).status, 404);

    // None of it reached b's kernel or session; its own chat still has both.
    assert.equal((await call(`${chatBase(b)}api/kernels/${kb}`)).status, 200);
    const own = await call(`${chatBase(b)}api/sessions/${sb}`);
    assert.equal(own.status, 200);
    assert.equal(own.body.path, 'b.ipynb');
    assert.equal((await call(`${chatBase(a)}api/kernels/${ka}/interrupt`, { method: 'POST' })).status, 204);

    assert.equal((await call(`${chatBase(b)}api/sessions/${sb}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`${chatBase(a)}api/kernels/${ka}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`${proxy.url}api/kernels/${kb}`)).status, 404, 'the session took its kernel with it');
  });

  test("JupyterLab's KernelManager: running() and shutdownAll() under one chat leave the other's kernels", async () => {
    const [a, b] = [`jlab-a-${randomUUID().slice(0, 8)}`, `jlab-b-${randomUUID().slice(0, 8)}`];
    const managerA = await jupyterLabKernels(proxy.url, a, bed.jupyter.token);
    const managerB = await jupyterLabKernels(proxy.url, b, bed.jupyter.token);
    const kernelA = await managerA.startNew({ name: 'python3' });
    const kernelB = await managerB.startNew({ name: 'python3' });
    await managerA.refreshRunning();
    await managerB.refreshRunning();
    assert.deepEqual(
      [...managerA.running()].map((k) => k.id),
      [kernelA.id],
    );
    assert.deepEqual(
      [...managerB.running()].map((k) => k.id),
      [kernelB.id],
    );

    await managerA.shutdownAll();
    assert.equal((await call(`${proxy.url}api/kernels/${kernelA.id}`)).status, 404);
    assert.equal((await call(`${proxy.url}api/kernels/${kernelB.id}`)).status, 200, "b's kernel lives on");
    const reply = await kernelB.requestExecute({ code: '6 * 7' }).done;
    assert.equal(reply.content.status, 'ok');

    await managerB.shutdownAll();
    assert.equal((await call(`${proxy.url}api/kernels/${kernelB.id}`)).status, 404);
    managerA.dispose();
    managerB.dispose();
  });
});

describe("another chat's kernel is never confirmed to exist", () => {
  test('without credentials and with them, its answer is the one a kernel that does not exist gets', async () => {
    const [a, b] = [`probe-a-${randomUUID().slice(0, 8)}`, `probe-b-${randomUUID().slice(0, 8)}`];
    const ka = await createKernel(chatBase(a));
    const kb = await createKernel(chatBase(b));
    const session = await call(`${chatBase(b)}api/sessions`, {
      method: 'POST',
      json: { path: 'p.ipynb', type: 'notebook', name: 'p.ipynb', kernel: { id: kb } },
    });
    assert.equal(session.status, 201);
    const sb = session.body.id as string;
    const routes = (kernel: string, sessionId: string): Array<[string, string]> => [
      ['GET', `api/kernels/${kernel}`],
      ['DELETE', `api/kernels/${kernel}`],
      ['POST', `api/kernels/${kernel}/interrupt`],
      ['POST', `api/kernels/${kernel}/restart`],
      ['GET', `api/sessions/${sessionId}`],
      ['DELETE', `api/sessions/${sessionId}`],
    ];
    const credentials = [
      { name: 'no credentials', query: '', status: 403 },
      { name: "the gateway's token", query: `?${token()}`, status: 404 },
    ];
    for (const { name, query, status } of credentials) {
      const [unknownKernel, unknownSession] = [randomUUID(), randomUUID()];
      const others = routes(kb, sb);
      const missing = routes(unknownKernel, unknownSession);
      for (const [i, [method, route]] of others.entries()) {
        const other = await answer(`${chatBase(a)}${route}${query}`, method);
        const none = await answer(`${chatBase(a)}${missing[i]![1]}${query}`, method);
        // The gateway's own answer: 403 without credentials; with them 404 (Jupyter 1.23: 500 for a restart).
        assert.equal(
          other.status,
          route.endsWith('/restart') && status === 404 ? 500 : status,
          `${method} ${route}, ${name}`,
        );
        assert.deepEqual(
          { ...other, body: other.body.replaceAll(kb, 'ID').replaceAll(sb, 'ID') },
          { ...none, body: none.body.replaceAll(unknownKernel, 'ID').replaceAll(unknownSession, 'ID') },
          `${method} ${route}, ${name}`,
        );
      }
      // The chat's own kernel, without credentials, is refused exactly so too: no answer tells owner from stranger.
      if (!query) {
        const own = await answer(`${chatBase(a)}api/kernels/${ka}`, 'GET');
        const none = await answer(`${chatBase(a)}api/kernels/${unknownKernel}`, 'GET');
        assert.deepEqual(own, none);
      }
    }
    // Nothing reached b's kernel or session.
    assert.equal((await call(`${chatBase(b)}api/kernels/${kb}`)).status, 200);
    assert.equal((await call(`${chatBase(b)}api/sessions/${sb}`)).status, 200);
    // A session naming another chat's kernel is answered as Jupyter answers a kernel that does not
    // exist: a new kernel, here in the chat's own workspace.
    const made = await call(`${chatBase(a)}api/sessions`, {
      method: 'POST',
      json: { path: 'q.ipynb', type: 'notebook', name: 'q.ipynb', kernel: { id: kb } },
    });
    assert.equal(made.status, 201);
    assert.notEqual(made.body.kernel.id, kb);
    assert.equal((await proxy.sidecar.kernelChats.get(made.body.kernel.id))?.chatId, a);
    for (const id of [made.body.kernel.id, ka, kb])
      assert.equal((await call(`${proxy.url}api/kernels/${id}`, { method: 'DELETE' })).status, 204);
  });
});

describe('a chat token names the chat on kernel routes', () => {
  test('raw requests with a Bearer chat token are scoped to its chat, on every route and the WebSocket', async () => {
    const [a, b] = [`tok-a-${randomUUID().slice(0, 8)}`, `tok-b-${randomUUID().slice(0, 8)}`];
    const bearer = async (chat: string) => ({ authorization: `Bearer ${await signToken(SECRET, { chat })}` });
    const asA = await bearer(a);
    const base = secured.url;
    const ka = await createKernel(base, asA);
    assert.equal((await secured.sidecar.kernelChats.get(ka))?.chatId, a, 'a kernel made with the token is its chat');
    const kb = await createKernel(`${base}chats/${b}/`);

    assert.deepEqual(ids((await call(`${base}api/kernels`, { headers: asA })).body), [ka]);
    const everything = ids((await call(`${base}api/kernels`)).body);
    assert.ok(everything.includes(ka) && everything.includes(kb), 'naming no chat lists every kernel, as before');
    const unknown = randomUUID();
    for (const [method, route] of [
      ['GET', `api/kernels/${kb}`],
      ['DELETE', `api/kernels/${kb}`],
      ['POST', `api/kernels/${kb}/interrupt`],
      ['POST', `api/kernels/${kb}/restart`],
    ] as const) {
      const other = await answer(`${base}${route}?${token()}`, method, asA);
      const none = await answer(`${base}${route.replace(kb, unknown)}?${token()}`, method, asA);
      assert.equal(other.status, route.endsWith('/restart') ? 500 : 404, `${method} ${route}`);
      assert.deepEqual(
        { ...other, body: other.body.replace(kb, 'ID') },
        { ...none, body: none.body.replace(unknown, 'ID') },
      );
    }
    assert.equal((await call(`${base}api/kernels/${ka}`, { headers: asA })).status, 200);
    const session = await call(`${base}api/sessions`, {
      method: 'POST',
      json: { path: 't.ipynb', type: 'notebook', name: 't.ipynb', kernel: { name: 'python3' } },
      headers: await bearer(b),
    });
    assert.equal(session.status, 201);
    assert.deepEqual((await call(`${base}api/sessions`, { headers: asA })).body, []);
    assert.equal((await call(`${base}api/sessions/${session.body.id}`, { headers: asA })).status, 404);

    // The token and a prefix or header naming another chat: refused, not guessed between.
    const clash = await call(`${base}chats/${b}/api/kernels`, { headers: asA });
    assert.equal(clash.status, 403);
    assert.equal(clash.body.error.code, 'ERR_TOKEN_SCOPE');
    assert.equal((await call(`${base}api/kernels`, { headers: { ...asA, 'X-Chat-Id': b } })).status, 403);
    // One of this secret's tokens that expired is a 401, not a request that names no chat.
    const expired = await signChatToken(secretKey(SECRET), { chat: a }, 60, Math.floor(Date.now() / 1000) - 3600);
    assert.equal((await call(`${base}api/kernels`, { headers: { authorization: `Bearer ${expired}` } })).status, 401);
    // A JWT of another secret is not a chat token: it names nothing.
    const foreign = await signChatToken(secretKey('x'.repeat(40)), { chat: a }, 600);
    const unscoped = ids((await call(`${base}api/kernels`, { headers: { authorization: `Bearer ${foreign}` } })).body);
    assert.ok(unscoped.includes(kb));

    // The WebSocket: the token names the chat there too.
    const ws = (k: string) => `${base.replace(/^http/, 'ws')}api/kernels/${k}/channels?${token()}`;
    const own = await RawKernelClient.connect(ws(ka), 'v1', asA);
    assert.equal((await own.execute('print(1 + 1)')).stream, '2\n');
    await own.close();
    await assert.rejects(RawKernelClient.connect(ws(kb), 'v1', asA), { status: 409 });
    await assert.rejects(RawKernelClient.connect(ws(ka), 'v1', { ...asA, 'X-Chat-Id': b }), { status: 403 });

    for (const id of [ka, kb, session.body.kernel.id])
      assert.equal((await call(`${base}api/kernels/${id}`, { method: 'DELETE' })).status, 204);
  });
});
