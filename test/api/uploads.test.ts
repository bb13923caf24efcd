import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileSummary } from '../../contract/files-api.ts';
import { MAX_FOLDER_DEPTH } from '../../proxy/workspace/folder-fd.ts';
import { SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

describe('files API uploads', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('writes the body into the workspace and records it (201 + FileSummary)', async () => {
    api = await startApi();
    const res = await api.request
      .put(url('c1', '/uploads/in/sales data.csv'))
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.from('region,total\neu,3\n'))
      .expect(201);
    const summary = res.body as FileSummary;
    assert.equal(summary.path, 'in/sales data.csv');
    assert.equal(summary.source, 'upload');
    assert.equal(summary.version, 1);
    assert.equal(
      await readFile(path.join(api.workspaces.pathFor('c1'), 'in', 'sales data.csv'), 'utf8'),
      'region,total\neu,3\n',
    );
    assert.equal((await api.request.get(summary.downloadUrl).expect(200)).text, 'region,total\neu,3\n');
    const again = await api.request
      .put(url('c1', '/uploads/in/sales data.csv'))
      .send(Buffer.from('changed'))
      .expect(201);
    assert.equal(again.body.version, 2);
  });

  it('refuses traversal, absolute, backslash, NUL, hidden and too deeply nested paths with 400', async () => {
    api = await startApi();
    await api.workspaces.ensure('c1');
    for (const rest of [
      '..%2F..%2Fetc%2Fx.csv',
      'a/%2E%2E/%2E%2E/x.csv',
      '%2Fetc%2Fx.csv',
      'a%5Cb.csv',
      'a%00.csv',
      '.env',
      'a//b.csv',
      `${'d/'.repeat(MAX_FOLDER_DEPTH + 1)}x.csv`,
    ]) {
      const res = await api.request.put(url('c1', `/uploads/${rest}`)).send(Buffer.from('x'));
      assert.equal(res.status, 400, rest);
      assert.equal(res.body.error.code, 'ERR_INVALID_PATH', rest);
    }
    assert.deepEqual(await readdir(api.workspaces.pathFor('c1')), []);
    assert.deepEqual(await api.store.listChat('c1'), []);
  });

  it('refuses a path through a symlinked folder that leaves the workspace', async () => {
    api = await startApi();
    const outside = path.join(api.base, 'outside');
    await mkdir(outside);
    await symlink(outside, path.join(await api.workspaces.ensure('c1'), 'link'));
    const res = await api.request.put(url('c1', '/uploads/link/x.csv')).send(Buffer.from('x')).expect(400);
    assert.equal(res.body.error.code, 'ERR_PATH_OUTSIDE_WORKSPACE');
    assert.deepEqual(await readdir(outside), []);
  });

  it('answers 413 with a JSON error over the limit (declared or streamed)', async () => {
    api = await startApi({ uploadLimitBytes: 10 });
    const declared = await api.request.put(url('c1', '/uploads/big.csv')).send(Buffer.alloc(11)).expect(413);
    assert.equal(declared.body.error.code, 'ERR_UPLOAD_TOO_LARGE');
    // Chunked, no Content-Length: found while streaming.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${api.origin}${url('c1', '/uploads/big.csv')}`, { method: 'PUT' }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(8));
      req.end(Buffer.alloc(8));
    });
    assert.equal(streamed.status, 413);
    assert.equal(JSON.parse(streamed.body).error.code, 'ERR_UPLOAD_TOO_LARGE');
    assert.deepEqual(await api.store.listChat('c1'), []);
  });

  it('reads the rest of a refused body instead of resetting the connection under the answer', async () => {
    api = await startApi({ uploadLimitBytes: 10 });
    const socket = net.connect(Number(new URL(api.origin).port), '127.0.0.1');
    await once(socket, 'connect');
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (received += chunk));
    const answered = async (count: number) => {
      while ((received.match(/HTTP\/1\.1 /g) ?? []).length < count) await once(socket, 'data');
    };
    const body = Buffer.alloc(1_000_000);
    socket.write(`PUT ${url('c1', '/uploads/big.csv')} HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`);
    socket.write(body.subarray(0, 1000));
    // Answered after the headers, while most of the body is still to come.
    await answered(1);
    assert.match(received, /^HTTP\/1\.1 413/);
    assert.doesNotMatch(received, /connection: close/i);
    socket.write(body.subarray(1000));
    // The same connection carries the next request: the rest was read, nothing was reset.
    socket.write(`GET ${url('c1', '/files')} HTTP/1.1\r\nHost: x\r\n\r\n`);
    await answered(2);
    assert.match(received.slice(received.lastIndexOf('HTTP/1.1 ')), /^HTTP\/1\.1 (200|404)/);
    socket.destroy();
    assert.deepEqual(await api.store.listChat('c1'), []);
  });

  it('an aborted upload records nothing and leaves no copy in progress', async () => {
    api = await startApi();
    const req = http.request(`${api.origin}${url('c1', '/uploads/partial.csv')}`, { method: 'PUT' });
    req.on('error', () => {});
    req.write(Buffer.alloc(1000));
    // The upload is under way once the recorder holds its scan slot.
    for (let i = 0; i < 500 && api.recorder.activeScans === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(api.recorder.activeScans, 1);
    req.destroy();
    for (let i = 0; i < 1000 && api.recorder.activeScans > 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(api.recorder.activeScans, 0);
    assert.deepEqual(await readdir(api.blobs.tmpDir), []);
    assert.deepEqual(await api.store.listChat('c1'), []);
  });

  it(
    'a whole body whose connection closed before the route read it records nothing and frees its slot',
    { timeout: 10_000 },
    async () => {
      // Held ahead of the routes until the client has gone: the body is complete, and unread.
      let arrived!: () => void;
      const held = new Promise<void>((resolve) => (arrived = resolve));
      api = await startApi({
        beforeRoutes: (req, _res, next) => {
          arrived();
          if (req.destroyed) next();
          else req.once('close', () => next());
        },
      });
      const recorder = api.recorder;
      // Boxed: a promise resolved with a promise would take on its outcome.
      const record = new Promise<{ recording: Promise<unknown> }>((resolve) => {
        const recordUpload = recorder.recordUpload.bind(recorder);
        recorder.recordUpload = (...args) => {
          const recording = recordUpload(...args);
          resolve({ recording });
          return recording;
        };
      });
      const body = Buffer.from('whole,body\n');
      const req = http.request(`${api.origin}${url('c1', '/uploads/whole.csv')}`, {
        method: 'PUT',
        headers: { 'Content-Length': body.length },
      });
      req.on('error', () => {});
      req.end(body);
      await held;
      req.destroy();
      // Before the fix the store waited for an 'end' that never comes, holding its slot for good.
      await assert.rejects((await record).recording, /The client aborted the upload/);
      assert.equal(recorder.activeScans, 0);
      assert.deepEqual(await readdir(api.blobs.tmpDir), []);
      assert.deepEqual(await api.store.listChat('c1'), []);
    },
  );

  it('with auth: a chat token may upload (creating the workspace); a user token for a chat it does not own may not', async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await api.request.put(url('new-chat', '/uploads/a.csv')).send(Buffer.from('a')).expect(401);
    const chatToken = await signToken(SECRET, { chat: 'new-chat' });
    await api.request
      .put(url('new-chat', '/uploads/a.csv'))
      .auth(chatToken, { type: 'bearer' })
      .send(Buffer.from('a'))
      .expect(201);
    const bob = await signToken(SECRET, { sub: 'bob' });
    await api.request
      .put(url('new-chat', '/uploads/b.csv'))
      .auth(bob, { type: 'bearer' })
      .send(Buffer.from('b'))
      .expect(404);
  });
});
