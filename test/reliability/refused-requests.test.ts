/**
 * Issue 16, items 5, 6 and 8, against a real Jupyter Server:
 * - a flood of unauthenticated kernel creations and WebSocket upgrades leaves no kernel-map entry
 *   and no workspace folder behind, and the sidecar answers throughout;
 * - a kernel the gateway no longer has is forgotten (404 on GET and on the upgrade);
 * - a second user cannot take a chat over (409), not even by racing the first creation;
 * - a chunked POST /api/kernels works (one framing reaches the gateway).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signToken } from '../support/tokens.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';
import { rawRequest, rawUpgrade, waitFor } from './reliability-helpers.ts';

reportAfter('refused-requests');

const SECRET = 'refused-requests-secret-at-least-32-bytes!';
let bed: TestBed;
let proxy: RunningSidecar;
const created: string[] = [];

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
});

after(async () => {
  for (const id of created)
    await fetch(`${bed.jupyter.url}api/kernels/${id}?token=${bed.jupyter.token}`, { method: 'DELETE' }).catch(() => {});
  await proxy?.stop();
  await bed?.stop();
});

const kernelsFile = () => path.join(proxy.options.dataDir, 'kernels.json');
async function rememberedKernels(): Promise<string[]> {
  try {
    return Object.keys(
      (JSON.parse(await readFile(kernelsFile(), 'utf8')) as { kernels: Record<string, unknown> }).kernels,
    );
  } catch {
    return [];
  }
}
const workspaceFolders = async () => (await readdir(bed.workspaceRoot).catch(() => [] as string[])).sort();

async function createKernel(
  chat: string,
  headers: Record<string, string> = {},
  body?: unknown,
): Promise<{ status: number; id?: string; code?: string }> {
  const res = await fetch(`${proxy.url}chats/${chat}/api/kernels?token=${bed.jupyter.token}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as { id?: string; error?: { code: string } };
  if (res.status === 201 && json.id) created.push(json.id);
  return { status: res.status, id: json.id, code: json.error?.code };
}

async function inBatches<T>(count: number, size: number, run: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => run(i + j)))));
  return out;
}

describe('requests the gateway refuses leave nothing behind', () => {
  test('a flood of unauthenticated kernel creations and upgrades: no kernel entries, no folders', async () => {
    const foldersBefore = await workspaceFolders();
    const kernelsBefore = await rememberedKernels();
    const posts = await inBatches(150, 25, (i) => {
      const forms = [
        () => rawRequest(proxy.url, 'POST', `/chats/flood-${i}/api/kernels?token=wrong`, { body: '{}' }),
        () =>
          rawRequest(proxy.url, 'POST', '/api/kernels', {
            headers: { 'x-chat-id': `flood-h-${i}` },
            body: JSON.stringify({ env: { KERNEL_USERNAME: 'x' } }),
          }),
        () => rawRequest(proxy.url, 'POST', '/api/kernels?token=wrong', { body: '' }), // anonymous: a per-kernel chat
      ];
      return forms[i % forms.length]!();
    });
    for (const res of posts) {
      assert.ok(
        res.status === 403 || res.status === 401,
        `refused by Jupyter: ${res.status} ${res.body.toString().slice(0, 100)}`,
      );
      refused();
    }
    const upgrades = await inBatches(150, 25, (i) => {
      const kernel = randomUUID();
      return i % 2
        ? rawUpgrade(proxy.url, `/chats/flood-up-${i}/api/kernels/${kernel}/channels?token=wrong`)
        : rawUpgrade(proxy.url, `/api/kernels/${kernel}/channels`); // a kernel-<id> chat
    });
    for (const res of upgrades) {
      assert.ok(
        res.status === 403 || res.status === 401 || res.status === 404,
        `refused: ${res.status} ${res.body.slice(0, 100)}`,
      );
      refused();
    }
    // Each refused request takes its folder away when its response ends: wait for that, not for time.
    await waitFor(
      'the flood to leave no workspace folder',
      async () => JSON.stringify(await workspaceFolders()) === JSON.stringify(foldersBefore),
    );
    assert.deepEqual(await rememberedKernels(), kernelsBefore, 'no kernel remembered');
    assert.equal((await fetch(`${proxy.url}sidecar/v1/health`)).status, 200, 'the sidecar still answers');
  });

  test('an accepted kernel keeps its folder and is remembered; one the gateway no longer has is forgotten', async () => {
    const first = await createKernel('kept');
    assert.equal(first.status, 201);
    assert.ok((await workspaceFolders()).includes('kept'));
    assert.ok((await rememberedKernels()).includes(first.id!));
    // Deleted behind the sidecar's back, straight on Jupyter.
    await fetch(`${bed.jupyter.url}api/kernels/${first.id}?token=${bed.jupyter.token}`, { method: 'DELETE' });
    const gone = await rawRequest(proxy.url, 'GET', `/api/kernels/${first.id}?token=${bed.jupyter.token}`);
    assert.equal(gone.status, 404);
    await waitFor('a 404 kernel to be forgotten', async () => !(await rememberedKernels()).includes(first.id!));

    const second = await createKernel('kept');
    assert.equal(second.status, 201);
    await fetch(`${bed.jupyter.url}api/kernels/${second.id}?token=${bed.jupyter.token}`, { method: 'DELETE' });
    const upgrade = await rawUpgrade(proxy.url, `/api/kernels/${second.id}/channels?token=${bed.jupyter.token}`);
    assert.equal(upgrade.status, 404);
    await waitFor(
      'a kernel refused with 404 on upgrade to be forgotten',
      async () => !(await rememberedKernels()).includes(second.id!),
    );
    assert.ok((await workspaceFolders()).includes('kept'), 'a folder in use stays');
    survived(2);
  });
});

describe('the first owner of a chat stays', () => {
  test('X-User-Id or KERNEL_USERNAME of another user gets 409; the owner and owner-less creations get 201', async () => {
    assert.equal((await createKernel('owned', { 'x-user-id': 'alice' })).status, 201);
    const byHeader = await createKernel('owned', { 'x-user-id': 'mallory' });
    assert.deepEqual([byHeader.status, byHeader.code], [409, 'ERR_CHAT_OTHER_OWNER']);
    const byEnv = await createKernel('owned', {}, { name: 'python3', env: { KERNEL_USERNAME: 'mallory' } });
    assert.deepEqual([byEnv.status, byEnv.code], [409, 'ERR_CHAT_OTHER_OWNER']);
    refused(2);
    assert.equal((await createKernel('owned', { 'x-user-id': 'alice' })).status, 201);
    assert.equal((await createKernel('owned')).status, 201, 'a creation naming no owner changes nothing');
    assert.equal(await proxy.sidecar.store.getOwner('owned'), 'alice');

    const files = async (sub: string) =>
      (
        await fetch(`${proxy.url}sidecar/v1/chats/owned/files`, {
          headers: { authorization: `Bearer ${await signToken(SECRET, { sub })}` },
        })
      ).status;
    assert.equal(await files('alice'), 200);
    assert.equal(await files('mallory'), 404, "mallory's token still cannot read the chat");
  });

  test('two users racing to create the first kernel of a new chat: exactly one wins', async () => {
    for (let round = 0; round < 5; round++) {
      const chat = `race-${round}`;
      const results = await Promise.all([
        createKernel(chat, { 'x-user-id': 'alice' }),
        createKernel(chat, { 'x-user-id': 'mallory' }),
      ]);
      assert.deepEqual(results.map((r) => r.status).sort(), [201, 409], JSON.stringify(results));
      const winner = results[0]!.status === 201 ? 'alice' : 'mallory';
      assert.equal(await proxy.sidecar.store.getOwner(chat), winner);
      refused();
    }
  });
});

describe('a chunked POST /api/kernels', () => {
  test('reaches the real Jupyter Server with one framing and creates the kernel', async () => {
    const url = new URL(proxy.url);
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'POST',
          path: `/chats/chunked/api/kernels?token=${bed.jupyter.token}`,
          headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        },
        (r) => {
          let body = '';
          r.on('data', (c: Buffer) => (body += c.toString()));
          r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.write('{"name":');
      req.end('"python3"}');
    });
    assert.equal(res.status, 201, res.body);
    const { id } = JSON.parse(res.body) as { id: string };
    created.push(id);
    assert.ok((await rememberedKernels()).includes(id));
    survived();
  });
});
