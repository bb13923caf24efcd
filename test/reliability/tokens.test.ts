/**
 * Files-API tokens through a whole sidecar, on every route: missing, expired, not yet valid,
 * wrongly signed, tampered, `alg: none`, HS384/HS512, another chat, another user (the owner is
 * the X-User-Id given at kernel creation). Each is refused, and no token reaches a log line.
 * The gateway is a fake: kernels are only created here, never run.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SignJWT, UnsecuredJWT } from 'jose';
import { signToken } from '../support/tokens.ts';
import type { FileListResponse } from '../../contract/files-api.ts';
import { resolveOptions } from '../../proxy/options.ts';
import { createSidecar, type Sidecar } from '../../proxy/sidecar.ts';
import { startFakeGateway, type FakeGateway } from '../support/fake-gateway.ts';
import { refused, reportAfter } from './reliability-counter.ts';
import { rawRequest } from './reliability-helpers.ts';

reportAfter('tokens');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

let dir: string;
let gateway: FakeGateway;
let sidecar: Sidecar;
let base: string;
const logLines: string[] = [];
const issued: string[] = [];
const fileIds: Record<string, string> = {};

async function createKernel(chat: string, user: string): Promise<void> {
  const res = await rawRequest(base, 'POST', '/api/kernels', {
    headers: { 'x-chat-id': chat, 'x-user-id': user, 'content-type': 'application/json' },
    body: '{"name":"python3"}',
  });
  assert.equal(res.status, 201, res.body.toString());
}

async function upload(chat: string, name: string, body: string): Promise<void> {
  const res = await rawRequest(base, 'PUT', `/sidecar/v1/chats/${chat}/uploads/${name}`, {
    headers: { authorization: `Bearer ${await signToken(SECRET, { chat })}` },
    body,
  });
  assert.equal(res.status, 201, res.body.toString());
}

before(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'gf-tokens-'));
  gateway = await startFakeGateway();
  const options = resolveOptions(
    { 'gateway-url': gateway.url, 'workspace-root': path.join(dir, 'ws'), 'data-dir': path.join(dir, 'store') },
    { FILES_API_SECRET: SECRET },
  );
  options.port = 0;
  const log = (...args: unknown[]) => logLines.push(args.map(String).join(' '));
  sidecar = await createSidecar(options, { logger: { info: log, warn: log, error: log } });
  base = await sidecar.listen();
  await createKernel('alice-chat', 'alice');
  await createKernel('bob-chat', 'bob');
  await upload('alice-chat', 'a.csv', 'alice,data\n');
  await upload('bob-chat', 'b.csv', 'bob,data\n');
  await upload('nobodys-chat', 'n.csv', 'no owner\n');
  for (const chat of ['alice-chat', 'bob-chat']) fileIds[chat] = (await sidecar.store.listChat(chat))[0]!.id;
});

after(async () => {
  await sidecar?.close();
  await gateway?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Every files-API route of alice's chat. */
const routes = () =>
  [
    ['GET', '/sidecar/v1/chats/alice-chat/files'],
    ['GET', `/sidecar/v1/chats/alice-chat/files/${fileIds['alice-chat']}/content`],
    ['GET', '/sidecar/v1/chats/alice-chat/archive.zip'],
    ['GET', '/sidecar/v1/chats/alice-chat/events'],
    ['PUT', '/sidecar/v1/chats/alice-chat/uploads/stolen.csv'],
  ] as const;

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

async function badTokens(): Promise<Array<[string, string | null]>> {
  const sign = (alg: string, claims: Record<string, unknown>, secret = key) =>
    new SignJWT(claims).setProtectedHeader({ alg }).setIssuedAt().setExpirationTime('1h').sign(secret);
  const good = await signToken(SECRET, { chat: 'alice-chat' });
  const [h, , s] = good.split('.');
  return [
    ['missing', null],
    ['empty', ''],
    ['not a JWT', 'not-a-token'],
    [
      'expired',
      await new SignJWT({ chat: 'alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime(now() - 60)
        .sign(key),
    ],
    [
      'not yet valid (nbf)',
      await new SignJWT({ chat: 'alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setNotBefore(now() + 3600)
        .setExpirationTime('2h')
        .sign(key),
    ],
    ['wrong signature', await signToken('another-secret-that-is-also-32-bytes-long!', { chat: 'alice-chat' })],
    ['tampered payload', `${h}.${b64url({ chat: 'alice-chat', sub: 'alice', exp: now() + 3600, admin: true })}.${s}`],
    ['signature cut off', `${h}.${good.split('.')[1]}.`],
    ['alg none', new UnsecuredJWT({ chat: 'alice-chat' }).setExpirationTime('1h').encode()],
    [
      'alg none, uppercase',
      `${b64url({ alg: 'NONE', typ: 'JWT' })}.${b64url({ chat: 'alice-chat', exp: now() + 3600 })}.`,
    ],
    [
      'HS512 with the same secret',
      await sign('HS512', { chat: 'alice-chat' }, new TextEncoder().encode(SECRET.repeat(2))),
    ],
    [
      'HS384 with the same secret',
      await sign('HS384', { chat: 'alice-chat' }, new TextEncoder().encode(SECRET.repeat(2))),
    ],
    ['RS256 header over an HMAC signature', `${b64url({ alg: 'RS256', typ: 'JWT' })}.${good.split('.')[1]}.${s}`],
    ['no chat and no sub', await signToken(SECRET, {})],
    [
      'chat claim not a chat id',
      await new SignJWT({ chat: '../alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(key),
    ],
    [
      'chat claim a number',
      await new SignJWT({ chat: 42 }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(key),
    ],
    // Issue 16, item 9: a token must expire, may not be issued in the future, and may not live long.
    [
      'no exp (never expires)',
      await new SignJWT({ chat: 'alice-chat' }).setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key),
    ],
    [
      'iat in the future',
      await new SignJWT({ chat: 'alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt(now() + 3600)
        .setExpirationTime(now() + 7200)
        .sign(key),
    ],
    [
      'iat a string',
      await new SignJWT({ chat: 'alice-chat', iat: 'yesterday' } as Record<string, unknown>)
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('1h')
        .sign(key),
    ],
    [
      'lives ten years (from iat)',
      await new SignJWT({ chat: 'alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setIssuedAt()
        .setExpirationTime('3650d')
        .sign(key),
    ],
    [
      'lives ten years (no iat)',
      await new SignJWT({ chat: 'alice-chat' })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('3650d')
        .sign(key),
    ],
    [
      'sub token without exp',
      await new SignJWT({}).setSubject('alice').setProtectedHeader({ alg: 'HS256' }).setIssuedAt().sign(key),
    ],
  ];
}

describe('tokens that are not valid get 401 on every route', () => {
  for (const via of ['header', 'query'] as const) {
    test(`in the ${via}`, async () => {
      for (const [name, token] of await badTokens()) {
        if (token !== null) issued.push(token);
        for (const [method, route] of routes()) {
          const headers: Record<string, string> =
            via === 'header' && token !== null ? { authorization: `Bearer ${token}` } : {};
          const url = via === 'query' && token !== null ? `${route}?token=${encodeURIComponent(token)}` : route;
          const res = await rawRequest(base, method, url, { headers, body: method === 'PUT' ? 'stolen' : undefined });
          assert.equal(
            res.status,
            401,
            `${name} (${via}) ${method} ${route}: ${res.status} ${res.body.toString().slice(0, 200)}`,
          );
          const body = res.json() as { error: { code: string; message: string } };
          assert.equal(body.error.code, 'ERR_UNAUTHORIZED');
          assert.match(res.headers['www-authenticate'] ?? '', /^Bearer/, `${name}: WWW-Authenticate`);
          if (name === 'expired') assert.match(body.error.message, /expired/);
          assert.doesNotMatch(res.body.toString(), /\.ts:\d+|at \w+ \(/, 'no stack trace');
          refused();
        }
      }
    });
  }

  test('a header that is not "Bearer <token>" is refused, whatever the query says', async () => {
    const good = await signToken(SECRET, { chat: 'alice-chat' });
    issued.push(good);
    for (const header of [
      `Basic ${Buffer.from('alice:pw').toString('base64')}`,
      `Bearer`,
      `Bearer ${good} extra`,
      `Token ${good}`,
    ]) {
      const res = await rawRequest(base, 'GET', `/sidecar/v1/chats/alice-chat/files?token=${good}`, {
        headers: { authorization: header },
      });
      assert.equal(res.status, 401, header);
      refused();
    }
  });

  test('an oversized token is refused by the HTTP server itself', async () => {
    const huge = 'a'.repeat(100_000);
    // Node answers 431 and closes at once. Whether the client reads that answer or gets a reset
    // first (it is still sending the rest of the header) is a race; Node 24 often resets.
    const outcome = await rawRequest(base, 'GET', '/sidecar/v1/chats/alice-chat/files', {
      headers: { authorization: `Bearer ${huge}` },
    }).then(
      (res) => res.status,
      (error: NodeJS.ErrnoException) => error.code,
    );
    assert.ok(outcome === 431 || outcome === 'ECONNRESET' || outcome === 'EPIPE', `refused, not served: ${outcome}`);
    refused();
    const health = await fetch(`${base}sidecar/v1/health`);
    assert.equal(health.status, 200);
  });
});

describe('valid tokens for someone else get the same 404 as a chat that does not exist', () => {
  test("another chat's token, another user's token, a user token for a chat nobody owns", async () => {
    const tokens: Array<[string, string]> = [
      ['chat token of bob-chat', await signToken(SECRET, { chat: 'bob-chat' })],
      ['user token of bob', await signToken(SECRET, { sub: 'bob' })],
      ['user token of someone unknown', await signToken(SECRET, { sub: 'mallory' })],
    ];
    const unknown = await rawRequest(base, 'GET', '/sidecar/v1/chats/no-such-chat/files', {
      headers: { authorization: `Bearer ${await signToken(SECRET, { chat: 'no-such-chat' })}` },
    });
    assert.equal(unknown.status, 404);
    for (const [name, token] of tokens) {
      issued.push(token);
      for (const [method, route] of routes()) {
        const res = await rawRequest(base, method, route, {
          headers: { authorization: `Bearer ${token}` },
          body: method === 'PUT' ? 'stolen' : undefined,
        });
        assert.equal(res.status, 404, `${name} ${method} ${route}: ${res.body.toString().slice(0, 200)}`);
        if (!route.endsWith('/content'))
          assert.deepEqual(res.json(), unknown.json(), 'nothing tells it apart from a chat that does not exist');
        refused();
      }
      // Bob's record id, asked for under alice's chat with bob's token: still nothing.
      const cross = await rawRequest(base, 'GET', `/sidecar/v1/chats/alice-chat/files/${fileIds['bob-chat']}/content`, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(cross.status, 404);
      refused();
    }
    const alice = await signToken(SECRET, { sub: 'alice' });
    const nobodys = await rawRequest(base, 'GET', '/sidecar/v1/chats/nobodys-chat/files', {
      headers: { authorization: `Bearer ${alice}` },
    });
    assert.equal(nobodys.status, 404, 'a user token does not open a chat without an owner');
    refused();
    assert.deepEqual(
      (await sidecar.store.listChat('alice-chat')).map((r) => r.path),
      ['a.csv'],
      'no upload got through',
    );
  });

  test('the right tokens work (the refusals above are not just a broken API)', async () => {
    for (const token of [await signToken(SECRET, { chat: 'alice-chat' }), await signToken(SECRET, { sub: 'alice' })]) {
      const res = await rawRequest(base, 'GET', '/sidecar/v1/chats/alice-chat/files', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(
        (res.json() as FileListResponse).files.map((f) => f.path),
        ['a.csv'],
      );
      const content = await rawRequest(
        base,
        'GET',
        `/sidecar/v1/chats/alice-chat/files/${fileIds['alice-chat']}/content?token=${token}`,
      );
      assert.equal(content.body.toString(), 'alice,data\n');
    }
  });
});

describe('logs', () => {
  test('no token, of any kind, reaches a log line', async () => {
    // Make the sidecar log: a gateway request that fails, carrying a token in the query.
    await gateway.close();
    const jwt = await signToken(SECRET, { chat: 'alice-chat' });
    issued.push(jwt);
    const res = await rawRequest(base, 'GET', `/chats/alice-chat/api/kernels?token=${jwt}`);
    assert.equal(res.status, 502);
    await rawRequest(base, 'GET', `/sidecar/v1/chats/alice-chat/files/${'x'.repeat(80)}/content?token=${jwt}`);
    assert.ok(logLines.length > 0, 'something was logged');
    for (const token of issued.filter((t) => t.length > 8)) {
      for (const line of logLines) assert.ok(!line.includes(token), `a token in the log: ${line.slice(0, 120)}`);
    }
    assert.ok(!logLines.join('\n').includes(SECRET));
  });
});
