import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { signToken } from '../support/tokens.ts';
import { AuthConfigError } from '../../proxy/links/link-token.ts';
import { createFilesApi } from '../../proxy/api/files-routes.ts';
import { filesApiParts, seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

describe('files API auth', () => {
  let api: ApiFixture;
  beforeEach(async () => {
    api = await startApi({ auth: { secret: SECRET } });
    await seed(api, 'c1', { 'a.csv': 'a' }); // owner alice (from the execution)
    await seed(api, 'c2', { 'b.csv': 'b' });
  });
  afterEach(() => api.close());

  const unauthorized = async (req: ReturnType<ApiFixture['request']['get']>) => {
    const res = await req.expect(401);
    assert.equal(res.body.error.code, 'ERR_UNAUTHORIZED');
    assert.doesNotMatch(JSON.stringify(res.body), /at \w+ \(|\.ts:/, 'no stack trace');
    return res;
  };

  it('rejects missing, expired, wrongly signed and alg:none tokens with 401', async () => {
    const res = await unauthorized(api.request.get(url('c1', '/files')));
    assert.equal(res.headers['www-authenticate'], 'Bearer');
    const expired = await new SignJWT({ chat: 'c1' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(new TextEncoder().encode(SECRET));
    assert.match(
      (await unauthorized(api.request.get(url('c1', '/files')).auth(expired, { type: 'bearer' }))).body.error.message,
      /expired/,
    );
    const wrongKey = await signToken('another-secret-that-is-long-enough-000', { chat: 'c1' });
    await unauthorized(api.request.get(url('c1', '/files')).auth(wrongKey, { type: 'bearer' }));
    const none = new UnsecuredJWT({ chat: 'c1' }).setExpirationTime('1h').encode();
    await unauthorized(api.request.get(url('c1', '/files')).auth(none, { type: 'bearer' }));
    await unauthorized(api.request.get(url('c1', '/files')).query({ token: 'garbage' }));
    const hs512 = await new SignJWT({ chat: 'c1' })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(new TextEncoder().encode(SECRET.repeat(2)));
    await unauthorized(api.request.get(url('c1', '/files')).auth(hs512, { type: 'bearer' }));
    const nothing = await signToken(SECRET, {});
    await unauthorized(api.request.get(url('c1', '/files')).auth(nothing, { type: 'bearer' }));
  });

  it('a chat token opens its chat, by header or ?token=', async () => {
    const token = await signToken(SECRET, { chat: 'c1' });
    const res = await api.request.get(url('c1', '/files')).auth(token, { type: 'bearer' }).expect(200);
    assert.equal(res.body.files.length, 1);
    const download = res.body.files[0].downloadUrl as string;
    assert.equal((await api.request.get(download).query({ token }).expect(200)).text, 'a');
  });

  it('a token for another chat gets the same 404 as an unknown chat', async () => {
    const token = await signToken(SECRET, { chat: 'c1' });
    const other = await api.request.get(url('c2', '/files')).auth(token, { type: 'bearer' }).expect(404);
    const unknownToken = await signToken(SECRET, { chat: 'zzz' });
    const unknown = await api.request.get(url('zzz', '/files')).auth(unknownToken, { type: 'bearer' }).expect(404);
    assert.deepEqual(other.body, unknown.body);
    const c2Files = (await api.store.listChat('c2'))[0]!;
    await api.request
      .get(url('c2', `/files/${c2Files.id}/content`))
      .auth(token, { type: 'bearer' })
      .expect(404);
    await api.request
      .get(url('c1', `/files/${c2Files.id}/content`))
      .auth(token, { type: 'bearer' })
      .expect(404);
  });

  it('a user token (sub) opens the chats that user owns', async () => {
    const alice = await signToken(SECRET, { sub: 'alice' });
    await api.request.get(url('c1', '/files')).auth(alice, { type: 'bearer' }).expect(200);
    await api.request.get(url('c2', '/archive.zip')).auth(alice, { type: 'bearer' }).expect(200);
    const bob = await signToken(SECRET, { sub: 'bob' });
    await api.request.get(url('c1', '/files')).auth(bob, { type: 'bearer' }).expect(404);
  });

  it('health needs no token', async () => {
    await api.request.get('/sidecar/v1/health').expect(200);
  });

  it('refuses a secret shorter than 32 bytes at construction', () => {
    assert.throws(() => createFilesApi({ ...api, ...filesApiParts(api), auth: { secret: 'short' } }), AuthConfigError);
  });
});
