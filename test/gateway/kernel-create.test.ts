import assert from 'node:assert/strict';
import { watch } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar } from '../../proxy/sidecar.ts';
import { freePort } from '../support/free-port.ts';
import { within } from '../support/within.ts';

describe('kernel creation whose client left before it was forwarded', () => {
  let dir: string;
  let sidecar: Sidecar;
  let origin: string;
  let holding = true;
  let arrived: () => void = () => {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'gf-kernel-create-'));
    const options = resolveOptions(
      {
        'gateway-url': `http://127.0.0.1:${await freePort()}/`,
        port: '1',
        'workspace-root': path.join(dir, 'workspaces'),
        'data-dir': path.join(dir, 'store'),
      },
      {},
    );
    options.port = 0;
    // Ahead of the kernel route: the first creation waits there until its client has gone.
    const hold = express.Router();
    hold.post('/api/kernels', (req, _res, next) => {
      if (!holding) return next();
      holding = false;
      arrived();
      if (req.destroyed) next();
      else req.once('close', () => next());
    });
    sidecar = await createSidecar(options, { routes: [hold] });
    origin = (await sidecar.listen()).replace(/\/$/, '');
    await mkdir(options.workspaceRoot, { recursive: true });
  });

  after(async () => {
    await sidecar?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lets go of its workspace folder and its owner', { timeout: 10_000 }, async () => {
    const root = sidecar.workspaces.root;
    // The folder is made for the request (one event) and, once let go, taken away (another).
    let events = 0;
    let removed!: () => void;
    const madeAndRemoved = new Promise<void>((resolve) => (removed = resolve));
    const watcher = watch(root, (_type, name) => {
      if (name === 'c1' && ++events === 2) removed();
    });
    try {
      const gone = new Promise<void>((resolve) => (arrived = resolve));
      const req = http.request(`${origin}/api/kernels`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-chat-id': 'c1', 'x-user-id': 'alice' },
      });
      req.on('error', () => {});
      req.end('{}');
      await gone;
      req.destroy();
      // Before the fix it listened for a 'close' that had come already, and the gateway being down
      // left nothing else to let go: the folder stayed, and the chat stayed reserved for alice.
      await within(madeAndRemoved, 5000, 'the workspace folder made for the request was never taken away');
    } finally {
      watcher.close();
    }
    const bob = await fetch(`${origin}/api/kernels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-chat-id': 'c1', 'x-user-id': 'bob' },
      body: '{}',
    });
    // Not 409 ERR_CHAT_OTHER_OWNER: nobody owns c1; the gateway is down.
    assert.equal(bob.status, 502);
  });
});
