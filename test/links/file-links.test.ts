/**
 * Links' capability tokens against the real files API: one file version, nothing else;
 * expiry; revocation; links pinned to a version.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { signToken } from '../support/tokens.ts';
import { FileLinks, linkBaseFor } from '../../proxy/links/file-links.ts';
import { seed, SECRET, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

describe('file links', () => {
  let api: ApiFixture;
  let links: FileLinks;
  const base = () => new URL(`${api.origin}/`);
  beforeEach(async () => {
    api = await startApi({ auth: { secret: SECRET } });
    links = new FileLinks({ secret: SECRET, ttlSeconds: 3600 });
    await seed(api, 'c1', { 'a.csv': 'version 1', 'b.csv': 'other' });
    await seed(api, 'c2', { 'c.csv': 'c' });
  });
  afterEach(() => api.close());

  const record = async (chatId: string, path: string, version = 1) =>
    (await api.store.listChat(chatId)).find((r) => r.path === path && r.version === version)!;
  const tokenOf = (link: string) => new URL(link).searchParams.get('token')!;

  it('opens its one file version with nothing but the link, and nothing else', async () => {
    const a = await record('c1', 'a.csv');
    const link = await links.urlFor(a, base());
    assert.ok(link.startsWith(`${api.origin}/sidecar/v1/chats/c1/files/${a.id}/content?token=`));
    const res = await fetch(link);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'version 1');

    const token = tokenOf(link);
    const b = await record('c1', 'b.csv');
    const c = await record('c2', 'c.csv');
    const refused = async (path: string, status: number, code: string, method = 'GET') => {
      const r = await fetch(`${api.origin}${path}?token=${token}`, { method });
      assert.equal(r.status, status, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, code, path);
    };
    await refused(url('c1', `/files/${b.id}/content`), 403, 'ERR_TOKEN_SCOPE');
    await refused(url('c2', `/files/${c.id}/content`), 404, 'ERR_CHAT_NOT_FOUND');
    await refused(url('c1', '/files'), 403, 'ERR_TOKEN_SCOPE');
    await refused(url('c1', '/events'), 403, 'ERR_TOKEN_SCOPE');
    await refused(url('c1', '/archive.zip'), 403, 'ERR_TOKEN_SCOPE');
    await refused(url('c1', '/uploads/x.csv'), 403, 'ERR_TOKEN_SCOPE', 'PUT');
    await refused(url('c1', '/links/revoke'), 403, 'ERR_TOKEN_SCOPE', 'POST');
  });

  it('is pinned to its version: after a rewrite the old link still downloads version 1', async () => {
    const v1 = await record('c1', 'a.csv');
    const oldLink = await links.urlFor(v1, base());
    await seed(api, 'c1', { 'a.csv': 'version 2, longer' });
    const v2 = await record('c1', 'a.csv', 2);
    assert.equal(await (await fetch(oldLink)).text(), 'version 1');
    assert.equal(await (await fetch(await links.urlFor(v2, base()))).text(), 'version 2, longer');
    // The old link cannot be pointed at the new version.
    const swapped = oldLink.replace(v1.id, v2.id);
    assert.equal((await fetch(swapped)).status, 403);
  });

  it('expires after --link-ttl; 0 never expires', async () => {
    const a = await record('c1', 'a.csv');
    const past = new FileLinks({ secret: SECRET, ttlSeconds: 60, now: () => Date.now() - 120_000 });
    const expired = await fetch(await past.urlFor(a, base()));
    assert.equal(expired.status, 401);
    assert.match(((await expired.json()) as { error: { message: string } }).error.message, /expired/);
    const forever = new FileLinks({ secret: SECRET, ttlSeconds: null, now: () => Date.now() - 10 * 365 * 86_400_000 });
    assert.equal((await fetch(await forever.urlFor(a, base()))).status, 200);
  });

  it('revocation (chat or owner token) refuses every link issued before it, and none after', async () => {
    const a = await record('c1', 'a.csv');
    const before = await links.urlFor(a, base());
    const otherChat = await links.urlFor(await record('c2', 'c.csv'), base());
    const noAuth = await fetch(`${api.origin}${url('c1', '/links/revoke')}`, { method: 'POST' });
    assert.equal(noAuth.status, 401);
    const owner = await signToken(SECRET, { sub: 'alice' });
    const revoked = await fetch(`${api.origin}${url('c1', '/links/revoke')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner}` },
    });
    assert.equal(revoked.status, 200);
    assert.match(((await revoked.json()) as { linksRevokedAt: string }).linksRevokedAt, /^\d{4}-/);
    const refused = await fetch(before);
    assert.equal(refused.status, 401);
    assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'ERR_UNAUTHORIZED');
    assert.equal((await fetch(otherChat)).status, 200, 'other chats keep their links');
    const later = new FileLinks({ secret: SECRET, ttlSeconds: 3600, now: () => Date.now() + 5 });
    assert.equal((await fetch(await later.urlFor(a, base()))).status, 200, 'a link issued after still works');
    // A chat token is not a link: revocation leaves it alone.
    const chatToken = await signToken(SECRET, { chat: 'c1' });
    assert.equal(
      (await fetch(`${api.origin}${url('c1', '/files')}`, { headers: { authorization: `Bearer ${chatToken}` } }))
        .status,
      200,
    );
  });

  it('a token with an unknown scope grants nothing', async () => {
    const { SignJWT } = await import('jose');
    const odd = await new SignJWT({ chat: 'c1', scope: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    assert.equal((await fetch(`${api.origin}${url('c1', '/files')}?token=${odd}`)).status, 401);
  });
});

describe('link bases', () => {
  it('public URL first, else the Host the client used, else the listening address', () => {
    const fallback = new URL('http://127.0.0.1:8890/');
    assert.equal(
      linkBaseFor(new URL('https://files.example.com/x/'), 'internal:8890', fallback).href,
      'https://files.example.com/x/',
    );
    assert.equal(linkBaseFor(null, 'sidecar.local:8890', fallback).href, 'http://sidecar.local:8890/');
    assert.equal(linkBaseFor(null, '[::1]:8890', fallback).href, 'http://[::1]:8890/');
    assert.equal(linkBaseFor(null, 'evil.com/"><script>', fallback).href, fallback.href);
    assert.equal(linkBaseFor(null, undefined, fallback).href, fallback.href);
  });

  it('without a secret, links are plain', async () => {
    const plain = new FileLinks({ secret: null, ttlSeconds: 3600 });
    assert.equal(
      await plain.urlFor({ chatId: 'c1', id: 'abc' }, new URL('http://h/')),
      'http://h/sidecar/v1/chats/c1/files/abc/content',
    );
  });
});
