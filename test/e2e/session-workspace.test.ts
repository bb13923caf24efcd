/**
 * Kernels started through the sessions API (how JupyterLab's notebook UI starts them) run in the
 * chat's workspace, like kernels from POST /api/kernels: no output shows a real server path.
 * Against a real Jupyter Server, with raw requests and with JupyterLab's SessionManager.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ServerConnection, SessionManager, KernelManager, type Kernel } from '@jupyterlab/services';
import WebSocket from 'ws';
import { useSidecarBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';

const { bed, proxy } = useSidecarBed();

const token = () => `token=${bed.jupyter.token}`;
const ws = (url: string) => url.replace(/^http/, 'ws');

async function post(url: string, json: unknown): Promise<{ status: number; body: any; location: string | null }> {
  const res = await fetch(`${url}?${token()}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, location: res.headers.get('location') };
}

const WHERE = [
  'import os',
  'print(os.getcwd())',
  "print(os.path.abspath('rel.txt'))",
  "open('rel.txt', 'w').write('x')",
].join('\n');

/** JupyterLab's own session and kernel managers, on the sidecar's bare URL (no chat named). */
async function jupyterLabSessions() {
  const serverSettings = ServerConnection.makeSettings({
    baseUrl: proxy.url,
    wsUrl: ws(proxy.url),
    token: bed.jupyter.token,
    WebSocket: WebSocket as unknown as typeof globalThis.WebSocket,
    appendToken: true,
  });
  const kernelManager = new KernelManager({ serverSettings });
  const sessions = new SessionManager({ serverSettings, kernelManager });
  await sessions.ready;
  return { sessions, kernelManager };
}

/** What WHERE prints, run through JupyterLab's kernel future. */
async function printedWhere(kernel: Kernel.IKernelConnection): Promise<string> {
  const lines: string[] = [];
  const future = kernel.requestExecute({ code: WHERE });
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === 'stream') lines.push((msg.content as { text: string }).text);
  };
  assert.equal((await future.done).content.status, 'ok');
  return lines.join('');
}

describe('sessions start their kernels in the workspace', () => {
  test('raw POST /api/sessions under a chat: the kernel works in /mnt/data, the session keeps its path', async () => {
    const chat = 'sess-raw';
    const base = `${proxy.url}chats/${chat}/`;
    const made = await post(`${base}api/sessions`, {
      path: 'notebooks/analysis.ipynb',
      name: 'analysis.ipynb',
      type: 'notebook',
      kernel: { name: 'python3' },
    });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal(made.body.path, 'notebooks/analysis.ipynb');
    assert.equal(made.location, `/chats/${chat}/api/sessions/${made.body.id}`);
    const kernelId = made.body.kernel.id as string;
    assert.equal((await proxy.sidecar.kernelChats.get(kernelId))?.chatId, chat);

    const client = await RawKernelClient.connect(`${ws(base)}api/kernels/${kernelId}/channels?${token()}`, 'v1');
    const run = await client.execute(WHERE);
    assert.equal(run.stream, '/mnt/data\n/mnt/data/rel.txt\n');
    assert.ok(!JSON.stringify(run.messages).includes(bed.dir), 'no output shows a server path');
    assert.ok(existsSync(path.join(bed.workspaceRoot, chat, 'rel.txt')));
    await client.close();

    const listed = await (await fetch(`${base}api/sessions?${token()}`)).json();
    assert.deepEqual(
      listed.map((s: { id: string }) => s.id),
      [made.body.id],
    );
    const gone = await fetch(`${base}api/sessions/${made.body.id}?${token()}`, { method: 'DELETE' });
    assert.equal(gone.status, 204);
  });

  test("JupyterLab's SessionManager, with no chat named: the kernel gets a workspace of its own, never Jupyter's root", async () => {
    const { sessions, kernelManager } = await jupyterLabSessions();
    const session = await sessions.startNew({ path: 'report.ipynb', name: 'report.ipynb', type: 'notebook' });
    assert.equal(session.path, 'report.ipynb');
    assert.equal(await printedWhere(session.kernel!), '/mnt/data\n/mnt/data/rel.txt\n');
    const chat = (await proxy.sidecar.kernelChats.get(session.kernel!.id))?.chatId;
    assert.match(chat ?? '', /^anon-/);
    assert.ok(existsSync(path.join(bed.workspaceRoot, chat!, 'rel.txt')));
    assert.ok(!existsSync(path.join(bed.workspaceRoot, 'rel.txt')), 'nothing written at the root');
    await session.shutdown();
    sessions.dispose();
    kernelManager.dispose();
  });

  test("a session on another chat's kernel gets a kernel of its own; a kernel the gateway refuses leaves no session, kernel or folder", async () => {
    const other = await post(`${proxy.url}chats/sess-owner/api/kernels`, {});
    assert.equal(other.status, 201);
    const stolen = await post(`${proxy.url}chats/sess-thief/api/sessions`, {
      path: 'x.ipynb',
      type: 'notebook',
      name: 'x.ipynb',
      kernel: { id: other.body.id },
    });
    // As Jupyter answers a kernel id that does not exist: a new kernel, here in the thief's own chat.
    assert.equal(stolen.status, 201);
    assert.notEqual(stolen.body.kernel.id, other.body.id);
    assert.equal((await proxy.sidecar.kernelChats.get(stolen.body.kernel.id))?.chatId, 'sess-thief');

    const refused = await post(`${proxy.url}chats/sess-refused/api/sessions`, {
      path: 'y.ipynb',
      type: 'notebook',
      name: 'y.ipynb',
      kernel: { name: 'no-such-kernel' },
    });
    assert.ok(refused.status >= 400, `the gateway's refusal, relayed (${refused.status})`);
    const sessions = await (await fetch(`${proxy.url}api/sessions?${token()}`)).json();
    assert.ok(!sessions.some((s: { path: string }) => s.path === 'y.ipynb'));
    assert.ok(!existsSync(path.join(bed.workspaceRoot, 'sess-refused')), 'the provisional folder went again');
  });
});

describe("changing a session's kernel starts the new one in the workspace too", () => {
  test('raw PATCH under a chat: the new kernel works in /mnt/data, the old one is gone', async () => {
    const chat = 'sess-patch';
    const base = `${proxy.url}chats/${chat}/`;
    const made = await post(`${base}api/sessions`, {
      path: 'p.ipynb',
      name: 'p.ipynb',
      type: 'notebook',
      kernel: { name: 'python3' },
    });
    assert.equal(made.status, 201);
    const oldKernel = made.body.kernel.id as string;
    const res = await fetch(`${base}api/sessions/${made.body.id}?${token()}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kernel: { name: 'python3' } }),
    });
    assert.equal(res.status, 200);
    const patched = await res.json();
    const newKernel = patched.kernel.id as string;
    assert.notEqual(newKernel, oldKernel);
    assert.equal((await proxy.sidecar.kernelChats.get(newKernel))?.chatId, chat);
    assert.equal(await proxy.sidecar.kernelChats.get(oldKernel), undefined, 'the old kernel is forgotten');
    assert.equal((await fetch(`${proxy.url}api/kernels/${oldKernel}?${token()}`)).status, 404);

    const client = await RawKernelClient.connect(`${ws(base)}api/kernels/${newKernel}/channels?${token()}`, 'v1');
    const run = await client.execute(WHERE);
    assert.equal(run.stream, '/mnt/data\n/mnt/data/rel.txt\n');
    assert.ok(!JSON.stringify(run.messages).includes(bed.dir), 'no output shows a server path');
    await client.close();
    assert.equal((await fetch(`${base}api/sessions/${made.body.id}?${token()}`, { method: 'DELETE' })).status, 204);
  });

  test("JupyterLab's changeKernel, with no chat named: the new kernel stays in the old kernel's chat and workspace", async () => {
    const { sessions, kernelManager } = await jupyterLabSessions();
    const session = await sessions.startNew({ path: 'change.ipynb', name: 'change.ipynb', type: 'notebook' });
    const chat = (await proxy.sidecar.kernelChats.get(session.kernel!.id))?.chatId;
    const kernel = await session.changeKernel({ name: 'python3' });
    assert.ok(kernel);
    assert.equal((await proxy.sidecar.kernelChats.get(kernel.id))?.chatId, chat);
    assert.equal(await printedWhere(kernel), '/mnt/data\n/mnt/data/rel.txt\n');
    await session.shutdown();
    sessions.dispose();
    kernelManager.dispose();
  });
});
