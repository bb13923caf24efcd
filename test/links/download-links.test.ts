import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileLinkResponse, FileListResponse } from '../../contract/files-api.ts';
import { seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

describe('files API download links', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('mints a link whose token opens that one version and nothing else', async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await seed(api, 'c1', { 'a.csv': 'aaa', 'b.csv': 'bbb' });
    await seed(api, 'c2', { 'c.csv': 'ccc' });
    const chat = await signToken(SECRET, { chat: 'c1' });
    const list = (await api.request.get(url('c1', '/files')).auth(chat, { type: 'bearer' }).expect(200))
      .body as FileListResponse;
    const a = list.files.find((f) => f.name === 'a.csv')!;
    const b = list.files.find((f) => f.name === 'b.csv')!;

    await api.request.post(url('c1', `/files/${a.id}/link`)).expect(401);
    const link = (
      await api.request
        .post(url('c1', `/files/${a.id}/link`))
        .auth(chat, { type: 'bearer' })
        .expect(200)
    ).body as FileLinkResponse;
    assert.equal(link.size, 3);
    assert.ok(Date.parse(link.expiresAt!) - Date.now() <= 120_000);
    assert.equal((await api.request.get(link.url).expect(200)).text, 'aaa');

    const token = new URL(link.url, 'http://x').searchParams.get('token')!;
    const scoped = (path: string) => api.request.get(path).query({ token });
    assert.equal((await scoped(url('c1', '/files')).expect(403)).body.error.code, 'ERR_TOKEN_SCOPE');
    await scoped(url('c1', `/files/${b.id}/content`)).expect(403);
    await scoped(url('c1', '/archive.zip')).expect(403);
    await scoped(url('c1', '/events')).expect(403);
    await api.request
      .post(url('c1', `/files/${b.id}/link`))
      .query({ token })
      .expect(403);
    await api.request.put(url('c1', '/uploads/x.csv')).query({ token }).send(Buffer.from('x')).expect(403);
    const other = (
      await api.request.get(url('c2', '/files')).auth(await signToken(SECRET, { chat: 'c2' }), { type: 'bearer' })
    ).body as FileListResponse;
    await scoped(url('c2', `/files/${other.files[0]!.id}/content`)).expect(404);
  });

  it('mints a link for the zip, with its size; an open API links the plain URL', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'a.csv': 'aaa', 'b.csv': 'bbbb' });
    const link = (await api.request.post(url('c1', '/archive.zip/link')).expect(200)).body as FileLinkResponse;
    assert.deepEqual(link, { url: url('c1', '/archive.zip'), expiresAt: null, size: 7 });
  });
});

describe('files API upload conflicts', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('If-None-Match: * refuses to replace an existing file with 412; without it the upload replaces', async () => {
    api = await startApi();
    await api.request
      .put(url('c1', '/uploads/in/a.csv'))
      .set('If-None-Match', '*')
      .send(Buffer.from('one'))
      .expect(201);
    const conflict = await api.request
      .put(url('c1', '/uploads/in/a.csv'))
      .set('If-None-Match', '*')
      .send(Buffer.from('two'))
      .expect(412);
    assert.equal(conflict.body.error.code, 'ERR_UPLOAD_CONFLICT');
    const replaced = await api.request.put(url('c1', '/uploads/in/a.csv')).send(Buffer.from('two')).expect(201);
    assert.equal(replaced.body.version, 2);
  });
});
