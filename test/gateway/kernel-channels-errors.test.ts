import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar } from '../../proxy/sidecar.ts';
import { freePort } from '../support/free-port.ts';

/** Asks for a WebSocket upgrade and resolves with the HTTP answer instead (or null: closed without one). */
function refusedUpgrade(
  origin: string,
  pathname: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string } | null> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${origin}${pathname}`, {
      headers: {
        ...headers,
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    req.on('upgrade', () => reject(new Error('upgraded')));
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', () => resolve(null));
    req.end();
  });
}

describe('a channels upgrade that fails inside the sidecar', () => {
  let dir: string;
  let sidecar: Sidecar;
  let origin: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gf-channels-errors-'));
    const options = resolveOptions(
      {
        // Never reached: the upgrade fails before the gateway is asked.
        'gateway-url': `http://127.0.0.1:${await freePort()}/`,
        port: '1',
        'workspace-root': path.join(dir, 'workspaces'),
        'data-dir': path.join(dir, 'store'),
      },
      {},
    );
    options.port = 0;
    sidecar = await createSidecar(options);
    origin = (await sidecar.listen()).replace(/\/$/, '');
  });

  after(async () => {
    await sidecar?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is answered 500 ERR_INTERNAL (not a socket closed with no answer), naming no server path', async () => {
    // The workspace root replaced by a dangling symlink: the chat's folder cannot be made (ENOENT).
    const root = sidecar.workspaces.root;
    await rm(root, { recursive: true });
    await symlink(path.join(dir, 'gone'), root);
    const res = await refusedUpgrade(origin, '/api/kernels/k1/channels', { 'X-Chat-Id': 'c1' });
    assert.ok(res, 'the socket was closed with no answer');
    assert.equal(res.status, 500, res.body);
    const body = JSON.parse(res.body) as { error: { code: string; message: string }; message: string };
    assert.equal(body.error.code, 'ERR_INTERNAL');
    assert.equal(body.message, body.error.message);
    assert.ok(!res.body.includes(dir), res.body);
  });
});
