/**
 * Issue 16, item 4: DNS rebinding. A page on evil.example whose name now points at 127.0.0.1 talks
 * to the sidecar with `Host: evil.example`; the sidecar refuses it (403, JSON) before any route,
 * for HTTP and WebSocket upgrades alike, and the demo's settings (the gateway token) go only to
 * the demo page of this origin. Configured names (--public-url, --allowed-hosts) still work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { refused, reportAfter } from './reliability-counter.ts';
import { rawRequest, rawSocketRequest, rawUpgrade } from './reliability-helpers.ts';

reportAfter('host-rebinding');

const TOKEN_MARK = 'the-gateway-token';
let bed: TestBed;
let proxy: RunningSidecar;
let port: string;
let kernelId: string;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(
    bed,
    { demo: 'true', 'public-url': 'https://files.example.com/', 'allowed-hosts': 'sidecar,sidecar.internal:8890' },
    { demoConfig: () => ({ token: TOKEN_MARK }) },
  );
  port = new URL(proxy.url).port;
  const res = await fetch(`${proxy.url}chats/hosts/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  kernelId = ((await res.json()) as { id: string }).id;
});

after(async () => {
  await fetch(`${bed.jupyter.url}api/kernels/${kernelId}?token=${bed.jupyter.token}`, { method: 'DELETE' }).catch(
    () => {},
  );
  await proxy?.stop();
  await bed?.stop();
});

const REBOUND = () => [
  `evil.example:${port}`,
  'evil.example',
  `localhost.evil.example:${port}`,
  `127.0.0.1.nip.io:${port}`,
  `files.example.com.evil.example:${port}`,
  `sidecar.internal:${port}`, // allowed only on port 8890
  `evil.example@127.0.0.1:${port}`,
  `127.0.0.1:${port}/x`,
  `[::1]x:${port}`,
];
const ALLOWED = () => [
  `127.0.0.1:${port}`,
  `localhost:${port}`,
  `LOCALHOST:${port}`,
  `[::1]:${port}`,
  'localhost',
  'files.example.com',
  `files.example.com:${port}`,
  'sidecar',
  'sidecar.internal:8890',
];

describe('a Host the sidecar was not configured for is refused before any route', () => {
  const routes = () => [
    ['GET', '/sidecar/v1/health'],
    ['GET', '/sidecar/v1/chats/hosts/files'],
    ['GET', '/sidecar/widget/generated-files.js'],
    ['GET', '/sidecar/demo/config.json'],
    ['GET', `/api/kernels?token=${bed.jupyter.token}`],
    ['POST', `/chats/hosts/api/kernels?token=${bed.jupyter.token}`],
    ['DELETE', `/api/kernels/${kernelId}?token=${bed.jupyter.token}`],
  ];

  test('HTTP', async () => {
    for (const host of REBOUND()) {
      for (const [method, route] of routes()) {
        const res = await rawRequest(proxy.url, method!, route!, { headers: { host } });
        assert.equal(res.status, 403, `${host} ${method} ${route}: ${res.status}`);
        assert.equal(res.json().error.code, 'ERR_HOST_NOT_ALLOWED');
        assert.doesNotMatch(res.body.toString(), new RegExp(`${TOKEN_MARK}|${bed.jupyter.token}`));
        refused();
      }
    }
    // HTTP/1.0 may leave Host out altogether.
    assert.match(await rawSocketRequest(proxy.url, 'GET /sidecar/v1/health HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 403/);
    refused();
    assert.equal(
      (await fetch(`${bed.jupyter.url}api/kernels/${kernelId}?token=${bed.jupyter.token}`)).status,
      200,
      'the kernel was not deleted',
    );
  });

  test('WebSocket upgrades, kernel channels and others', async () => {
    for (const host of REBOUND()) {
      for (const route of [
        `/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
        `/chats/hosts/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
        `/api/events/subscribe?token=${bed.jupyter.token}`,
      ]) {
        const res = await rawUpgrade(proxy.url, route, { host });
        assert.equal(res.status, 403, `${host} ${route}`);
        assert.equal(JSON.parse(res.body).error.code, 'ERR_HOST_NOT_ALLOWED');
        refused();
      }
    }
  });

  test('loopback names, --public-url and --allowed-hosts are answered', async () => {
    for (const host of ALLOWED()) {
      assert.equal((await rawRequest(proxy.url, 'GET', '/sidecar/v1/health', { headers: { host } })).status, 200, host);
      assert.equal(
        (await rawUpgrade(proxy.url, `/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`, { host })).status,
        101,
        host,
      );
    }
  });
});

describe('the demo settings (the gateway token) go only to the demo page of this origin', () => {
  const page = () => `http://127.0.0.1:${port}/sidecar/demo/`;
  const good = () => ({
    host: `127.0.0.1:${port}`,
    'sec-fetch-site': 'same-origin',
    'sec-fetch-mode': 'cors',
    'sec-fetch-dest': 'empty',
    referer: page(),
  });

  test('what the demo page sends gets the settings', async () => {
    const res = await rawRequest(proxy.url, 'GET', '/sidecar/demo/config.json', { headers: good() });
    assert.equal(res.status, 200);
    assert.equal(res.json().token, TOKEN_MARK);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('anything else gets a 403 without the token', async () => {
    const { 'sec-fetch-site': _site, ...noSite } = good();
    const { referer: _referer, ...noReferer } = good();
    const attempts: Array<[string, Record<string, string>]> = [
      ['no fetch metadata (curl, an old client)', { host: `127.0.0.1:${port}` }],
      ['no Sec-Fetch-Site', noSite],
      ['no Referer', noReferer],
      [
        'cross-site fetch',
        { ...good(), 'sec-fetch-site': 'cross-site', origin: 'https://evil.example', referer: 'https://evil.example/' },
      ],
      [
        'same-site, another port',
        { ...good(), 'sec-fetch-site': 'same-site', referer: 'http://127.0.0.1:1/sidecar/demo/' },
      ],
      ['a navigation', { ...good(), 'sec-fetch-dest': 'document', 'sec-fetch-mode': 'navigate' }],
      ['a script tag', { ...good(), 'sec-fetch-dest': 'script' }],
      ['Referer of another host', { ...good(), referer: `http://localhost:${port}/sidecar/demo/` }],
      ['Origin of another host', { ...good(), origin: 'http://evil.example' }],
      ['Referer outside the demo', { ...good(), referer: `http://127.0.0.1:${port}/api/kernels` }],
      ['Referer not a URL', { ...good(), referer: 'not a url' }],
      [
        'rebound Host with a matching Referer',
        { ...good(), host: `evil.example:${port}`, referer: `http://evil.example:${port}/sidecar/demo/` },
      ],
    ];
    for (const [name, headers] of attempts) {
      const res = await rawRequest(proxy.url, 'GET', '/sidecar/demo/config.json', { headers });
      assert.equal(res.status, 403, name);
      assert.match(res.json().error.code, /^ERR_(DEMO_CONFIG_FORBIDDEN|HOST_NOT_ALLOWED)$/, name);
      assert.doesNotMatch(res.body.toString(), new RegExp(TOKEN_MARK), name);
      refused();
    }
  });
});
