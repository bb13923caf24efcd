/**
 * The gateway's own auth passes through the sidecar untouched, in the three forms real
 * clients use, and a gateway with a base_url sub-path works.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';

describe('token auth and a base_url sub-path', () => {
  let bed: TestBed;
  let proxy: RunningSidecar;
  before(async () => {
    bed = await startTestBed({ baseUrl: '/jupyter/' });
    proxy = await startSidecar(bed);
  });
  after(async () => {
    await proxy?.stop();
    await bed?.stop();
  });

  test('?token= query (Open WebUI) and Authorization: token header both work; no token is refused', async () => {
    const base = `${proxy.url}chats/auth/jupyter/`;
    const byQuery = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
    assert.equal(byQuery.status, 201);
    const { id } = (await byQuery.json()) as { id: string };
    const byHeader = await fetch(`${base}api/kernels/${id}`, {
      headers: { authorization: `token ${bed.jupyter.token}` },
    });
    assert.equal(byHeader.status, 200);
    assert.equal(((await byHeader.json()) as { id: string }).id, id);
    assert.equal((await fetch(`${base}api/kernels`)).status, 403);

    const wsBase = base.replace(/^http/, 'ws');
    const client = await RawKernelClient.connect(`${wsBase}api/kernels/${id}/channels`, 'v1', {
      authorization: `token ${bed.jupyter.token}`,
    });
    assert.equal((await client.execute("print('/mnt/data')")).stream, '/mnt/data\n');
    await client.close();
    // The gateway's refusal reaches the client as the same status.
    await assert.rejects(
      RawKernelClient.connect(`${wsBase}api/kernels/${id}/channels?token=wrong`, 'legacy'),
      (e: { status?: number }) => e.status === 403,
    );
    await assert.rejects(
      RawKernelClient.connect(
        `${wsBase}api/kernels/00000000-0000-0000-0000-000000000000/channels?token=${bed.jupyter.token}`,
        'legacy',
      ),
      (e: { status?: number }) => e.status === 404,
    );
  });

  test('a browser same-origin to the sidecar is not rejected by the gateway origin check', async () => {
    const origin = proxy.url.replace(/\/$/, '');
    const res = await fetch(`${proxy.url}jupyter/api/kernels?token=${bed.jupyter.token}`, { headers: { origin } });
    assert.equal(res.status, 200);
    const created = await fetch(`${proxy.url}jupyter/api/kernels?token=${bed.jupyter.token}`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json' },
      body: '{}',
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const client = await RawKernelClient.connect(
      `${proxy.url.replace(/^http/, 'ws')}jupyter/api/kernels/${id}/channels?token=${bed.jupyter.token}`,
      'legacy',
      { origin },
    );
    await client.close();
  });
});

describe('password login with the _xsrf cookie flow', () => {
  let bed: TestBed;
  let proxy: RunningSidecar;
  before(async () => {
    bed = await startTestBed({ token: '', password: 'sesame' });
    proxy = await startSidecar(bed);
  });
  after(async () => {
    await proxy?.stop();
    await bed?.stop();
  });

  test('log in through the sidecar, then use kernels with cookies and X-XSRFToken', async () => {
    const jar = new Map<string, string>();
    const remember = (res: Response) => {
      for (const cookie of res.headers.getSetCookie()) {
        const [pair] = cookie.split(';');
        const [name, ...value] = pair!.split('=');
        jar.set(name!.trim(), value.join('='));
      }
    };
    const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');

    const page = await fetch(`${proxy.url}login`);
    assert.equal(page.status, 200);
    remember(page);
    const xsrf = jar.get('_xsrf');
    assert.ok(xsrf, 'the gateway set its _xsrf cookie through the sidecar');

    const login = await fetch(`${proxy.url}login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: cookieHeader() },
      body: new URLSearchParams({ _xsrf: xsrf!, password: 'sesame' }),
    });
    assert.equal(login.status, 302);
    remember(login);

    assert.equal((await fetch(`${proxy.url}api/kernels`)).status, 403, 'not logged in without the cookie');
    assert.equal((await fetch(`${proxy.url}api/kernels`, { headers: { cookie: cookieHeader() } })).status, 200);
    // Cookie auth is where Jupyter checks Origin: same-origin to the sidecar passes, a foreign one stays foreign.
    const sameOrigin = proxy.url.replace(/\/$/, '');
    assert.equal(
      (await fetch(`${proxy.url}api/kernels`, { headers: { cookie: cookieHeader(), origin: sameOrigin } })).status,
      200,
    );
    assert.notEqual(
      (await fetch(`${proxy.url}api/kernels`, { headers: { cookie: cookieHeader(), origin: 'http://evil.example' } }))
        .status,
      200,
    );
    const created = await fetch(`${proxy.url}chats/pw/api/kernels`, {
      method: 'POST',
      headers: { cookie: cookieHeader(), 'x-xsrftoken': xsrf! },
    });
    assert.equal(created.status, 201);
    const { id } = (await created.json()) as { id: string };
    const client = await RawKernelClient.connect(
      `${proxy.url.replace(/^http/, 'ws')}chats/pw/api/kernels/${id}/channels`,
      'legacy',
      { cookie: cookieHeader() },
    );
    assert.equal((await client.execute('import os; print(os.getcwd())')).stream, '/mnt/data\n');
    await client.close();
  });
});
