/**
 * No error answer names a server path, a secret or a token: every files API route is called
 * while the chat's workspace is a symlink out of the workspace root (the errors then carry the
 * server's paths), with a bad token, with a revoked link, and the bodies are searched for them.
 */
import assert from 'node:assert/strict';
import { mkdir, rename, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileListResponse } from '../../contract/files-api.ts';
import { clientReplyFor, ERRORS, type ErrorCode } from '../../proxy/errors.ts';
import { BlobStoreError } from '../../proxy/storage/blob-store.ts';
import { ChatLogRollbackError } from '../../proxy/storage/chat-log.ts';
import { RecordStoreCorruptError } from '../../proxy/storage/lowdb-chat.ts';
import { DatabaseStartError, StoreUnavailableError } from '../../proxy/storage/store-errors.ts';
import { WorkspaceOutsideRootError } from '../../proxy/workspace/workspace-snapshot.ts';
import { ScanTimeoutError } from '../../proxy/workspace/scan-timeout.ts';
import { OptionsError } from '../../proxy/options.ts';
import { SECRET, seed, startApi, url, type ApiFixture } from '../support/api-fixture.ts';
import { signToken } from '../support/tokens.ts';

const SERVER_PATH = '/srv/private/workspaces/alpha';
const PASSWORD = 'hunter2-db-password';

describe('what a client is told about an error never names a server path, a secret or a token', () => {
  it('errors that carry server paths or secrets reach a client only by their table entry', () => {
    const thrown = [
      new WorkspaceOutsideRootError(SERVER_PATH),
      new RecordStoreCorruptError(`${SERVER_PATH}/records.json`, new Error('bad json')),
      new ChatLogRollbackError(`${SERVER_PATH}/log`, new Error('EIO'), new Error('EIO')),
      new BlobStoreError('ERR_BLOB_NOT_FOUND', `Blob at ${SERVER_PATH} is missing.`),
      new BlobStoreError('ERR_BLOB_NO_SPACE', `No space in ${SERVER_PATH}.`),
      new BlobStoreError('ERR_BLOB_WRITE_FAILED', `Writing ${SERVER_PATH} failed.`),
      new ScanTimeoutError(`walking ${SERVER_PATH}`, 10),
      new StoreUnavailableError(new Error(`connect to postgres://u:${PASSWORD}@db failed`)),
      new DatabaseStartError('ERR_DATABASE_AUTH', `postgres://u:${PASSWORD}@db refused`),
      new OptionsError('ERR_OPTIONS_SECRET_TOO_SHORT', `The secret ${PASSWORD} is too short.`),
      Object.assign(new Error(`ENOENT: no such file, open '${SERVER_PATH}/x'`), { code: 'ENOENT' }),
      new Error(`${SERVER_PATH} ${PASSWORD}`),
    ];
    for (const error of thrown) {
      const reply = clientReplyFor(error);
      assert.ok(!reply.message.includes(SERVER_PATH), `${error.constructor.name}: ${reply.message}`);
      assert.ok(!reply.message.includes(PASSWORD), `${error.constructor.name}: ${reply.message}`);
    }
  });

  it('every code has a status, and only codes written for clients pass their own message on', () => {
    for (const [code, kind] of Object.entries(ERRORS) as [ErrorCode, (typeof ERRORS)[ErrorCode]][]) {
      assert.ok(kind.status >= 400 && kind.status < 600, code);
      const reply = clientReplyFor(Object.assign(new Error(`secret ${PASSWORD}`), { code }));
      assert.equal(reply.message.includes(PASSWORD), kind.client === true, code);
      assert.equal(reply.code, kind.client === false ? 'ERR_INTERNAL' : code, code);
    }
  });

  describe('every files API route', () => {
    let api: ApiFixture;
    let token: string;
    let fileId: string;
    let olderId: string;

    before(async () => {
      api = await startApi({ auth: { secret: SECRET } });
      token = await signToken(SECRET, { chat: 'alpha' });
      await seed(api, 'alpha', { 'a.csv': 'x,y\n1,2\n', 'page.html': '<p>hi</p>' });
      await seed(api, 'alpha', { 'a.csv': 'x,y\n3,4\n' });
      const list = (await api.request.get(url('alpha', '/files')).auth(token, { type: 'bearer' }))
        .body as FileListResponse;
      const csv = list.files.find((f) => f.path === 'a.csv')!;
      fileId = csv.versions[0]!.id;
      olderId = csv.versions[1]!.id;
      // The chat's workspace becomes a symlink to a folder outside the root: every route that
      // touches it now meets errors whose messages name the server's paths.
      const workspace = api.workspaces.pathFor('alpha');
      const outside = path.join(api.base, 'outside');
      await mkdir(outside);
      await rename(workspace, path.join(api.base, 'moved'));
      await symlink(outside, workspace);
    });
    after(() => api.close());

    const forbidden = () => [api.base, api.dataDir, api.workspaces.pathFor('alpha'), SECRET, token];

    const routes = (): [string, string, string?][] => [
      ['GET', url('alpha', '/files')],
      ['GET', url('alpha', `/files/${fileId}/content`)],
      ['GET', url('alpha', '/files/no-such/content')],
      ['POST', url('alpha', `/files/${fileId}/link`)],
      ['POST', url('alpha', '/archive.zip/link')],
      ['GET', url('alpha', `/files/${fileId}/preview`)],
      ['GET', url('alpha', `/files/${fileId}/preview/frame`)],
      ['GET', url('alpha', `/files/${fileId}/diff?from=${olderId}`)],
      ['GET', url('alpha', `/files/${fileId}/diff`)],
      ['POST', url('alpha', `/files/${olderId}/restore`)],
      ['PUT', url('alpha', '/uploads/new.txt'), 'new'],
      ['PUT', url('alpha', '/uploads/../escape.txt'), 'new'],
      ['POST', url('alpha', '/links/revoke')],
      ['GET', url('bad..id', '/files')],
      ['GET', url('alpha', '/no-such-route')],
    ];

    it('answers refusals and failures without naming a server path, the secret or the token', async () => {
      let errors = 0;
      for (const [method, route, body] of routes()) {
        for (const auth of [token, 'not-a-token', `${token}x`]) {
          let req = api.request[method.toLowerCase() as 'get'](route).auth(auth, { type: 'bearer' });
          if (body !== undefined) req = req.send(body);
          const res = await req;
          if (res.status < 400) continue;
          errors++;
          for (const secret of forbidden())
            assert.ok(!res.text.includes(secret), `${method} ${route} (${res.status}) names ${secret}: ${res.text}`);
        }
      }
      assert.ok(errors > 0);
    });

    it('the restore and upload routes refuse a workspace outside the root with the same fixed answer', async () => {
      for (const req of [
        api.request.post(url('alpha', `/files/${olderId}/restore`)),
        api.request.put(url('alpha', '/uploads/new.txt')).send('new'),
      ]) {
        const res = await req.auth(token, { type: 'bearer' });
        assert.equal(res.status, 409, res.text);
        assert.deepEqual(res.body, {
          error: { code: 'ERR_WORKSPACE_OUTSIDE_ROOT', message: ERRORS.ERR_WORKSPACE_OUTSIDE_ROOT.client },
        });
      }
    });
  });
});
