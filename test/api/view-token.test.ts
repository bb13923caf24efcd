/**
 * The MCP App's read-only `view` token on the files API: it reads its one chat (list, content,
 * download links) and changes nothing; another chat is the same 404 as an unknown one; an
 * expired one is a 401. And the token routes' CORS when the App is served: any origin, the
 * App's sandbox included (`null`), while /health keeps the configured list.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { signChatToken } from '../../proxy/links/chat-token.ts';
import { secretKey, VIEW_SCOPE } from '../../proxy/links/link-token.ts';
import { seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

const viewToken = (chat: string, nowS?: number) =>
  signChatToken(secretKey(SECRET), { chat, scope: VIEW_SCOPE }, 600, nowS);

describe('view tokens', () => {
  let api: ApiFixture;
  beforeEach(async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await seed(api, 'c1', { 'a.csv': 'a' });
    await seed(api, 'c2', { 'b.csv': 'b' });
  });
  afterEach(() => api.close());

  it('reads its chat: the list, the content and a download link', async () => {
    const token = await viewToken('c1');
    const list = await api.request.get(url('c1', '/files')).auth(token, { type: 'bearer' }).expect(200);
    const [file] = list.body.files;
    assert.equal((await api.request.get(file.downloadUrl).query({ token }).expect(200)).text, 'a');
    const link = await api.request
      .post(url('c1', `/files/${file.id}/link`))
      .auth(token, { type: 'bearer' })
      .expect(200);
    assert.equal((await api.request.get(link.body.url).expect(200)).text, 'a');
  });

  it('changes nothing: uploads, restores and revocations are refused with 403', async () => {
    const token = await viewToken('c1');
    const [file] = (await api.request.get(url('c1', '/files')).auth(token, { type: 'bearer' })).body.files;
    const refused = [
      api.request.put(url('c1', '/uploads/new.csv')).auth(token, { type: 'bearer' }).send('x'),
      api.request.post(url('c1', `/files/${file.id}/restore`)).auth(token, { type: 'bearer' }),
      api.request.post(url('c1', '/links/revoke')).auth(token, { type: 'bearer' }),
    ];
    for (const res of await Promise.all(refused)) {
      assert.equal(res.status, 403, res.text);
      assert.equal(res.body.error.code, 'ERR_TOKEN_SCOPE');
    }
    const after = await api.request.get(url('c1', '/files')).auth(token, { type: 'bearer' }).expect(200);
    assert.deepEqual(
      after.body.files.map((f: { path: string }) => f.path),
      ['a.csv'],
    );
  });

  it("another chat's view token gets the 404 of an unknown chat; an expired one a 401", async () => {
    const other = await viewToken('c2');
    const res = await api.request.get(url('c1', '/files')).auth(other, { type: 'bearer' }).expect(404);
    assert.equal(res.body.error.code, 'ERR_CHAT_NOT_FOUND');
    const expired = await viewToken('c1', Math.floor(Date.now() / 1000) - 3600);
    const gone = await api.request.get(url('c1', '/files')).auth(expired, { type: 'bearer' }).expect(401);
    assert.match(gone.body.error.message, /expired/);
    const noChat = await signChatToken(secretKey(SECRET), { sub: 'alice', scope: VIEW_SCOPE }, 600);
    await api.request.get(url('c1', '/files')).auth(noChat, { type: 'bearer' }).expect(401);
  });
});

describe('CORS of the token routes when the MCP App is served', () => {
  let opened: ApiFixture | undefined;
  afterEach(() => opened?.close());

  it("answers any origin on /chats/..., the sandbox's null included; /health keeps the list", async () => {
    const api = (opened = await startApi({
      auth: { secret: SECRET },
      corsOrigins: ['https://chat.example'],
      tokenRoutesFromAnyOrigin: true,
    }));
    await seed(api, 'c1', { 'a.csv': 'a' });
    const token = await viewToken('c1');
    for (const origin of ['null', 'https://abc123.host-sandbox.example']) {
      const res = await api.request.get(url('c1', '/files')).set('Origin', origin).auth(token, { type: 'bearer' });
      assert.equal(res.headers['access-control-allow-origin'], '*', origin);
      const preflight = await api.request
        .options(url('c1', '/files'))
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'GET')
        .set('Access-Control-Request-Headers', 'authorization')
        .expect(204);
      assert.match(preflight.headers['access-control-allow-headers'] ?? '', /Authorization/);
    }
    // A refusal is readable too, so the App sees a 401 (and renews) rather than a network error.
    const refused = await api.request.get(url('c1', '/files')).set('Origin', 'null');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers['access-control-allow-origin'], '*');
    const health = await api.request.get('/sidecar/v1/health').set('Origin', 'https://elsewhere.example');
    assert.equal(health.headers['access-control-allow-origin'], undefined);
  });

  it('without the App, an unlisted origin gets no CORS headers', async () => {
    const api = (opened = await startApi({ auth: { secret: SECRET }, corsOrigins: ['https://chat.example'] }));
    await seed(api, 'c1', { 'a.csv': 'a' });
    const res = await api.request
      .get(url('c1', '/files'))
      .set('Origin', 'null')
      .auth(await viewToken('c1'), {
        type: 'bearer',
      });
    assert.equal(res.headers['access-control-allow-origin'], undefined);
  });
});
