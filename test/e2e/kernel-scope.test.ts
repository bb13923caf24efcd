/**
 * A chat's kernels are only its own: under one chat's prefix (or X-Chat-Id), Jupyter's kernel and
 * session routes neither list nor touch another chat's kernels, against a real Jupyter Server,
 * with raw requests for every route and with JupyterLab's own KernelManager.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';

let bed: TestBed;
let proxy: RunningSidecar;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed);
});
after(async () => {
  await proxy?.stop();
  await bed?.stop();
});

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
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function createKernel(base: string): Promise<string> {
  const { status, body } = await call(`${base}api/kernels`, { method: 'POST', json: {} });
  assert.equal(status, 201);
  return body.id as string;
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

    // Another chat's kernel and session: the very answer a kernel that does not exist gets.
    const unknown = randomUUID();
    const missing = await call(`${chatBase(a)}api/kernels/${unknown}`);
    assert.equal(missing.status, 404);
    const calls: Array<[string, string]> = [
      ['GET', `api/kernels/${kb}`],
      ['DELETE', `api/kernels/${kb}`],
      ['POST', `api/kernels/${kb}/interrupt`],
      ['POST', `api/kernels/${kb}/restart`],
      ['GET', `api/kernels/${kb}/channels`],
    ];
    for (const [method, route] of calls) {
      const answer = await call(`${chatBase(a)}${route}`, { method });
      assert.equal(answer.status, 404, `${method} ${route}`);
      assert.equal(JSON.stringify(answer.body), JSON.stringify(missing.body).replaceAll(unknown, kb));
      const byHeader = await call(`${proxy.url}${route}`, { method, headers: { 'X-Chat-Id': a } });
      assert.equal(byHeader.status, 404, `${method} ${route} with X-Chat-Id`);
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
