import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createHostAllowList } from '../../proxy/allowed-hosts.ts';
import { tokenTimeProblem } from '../../proxy/api/auth.ts';
import { type OptionsError, resolveOptions } from '../../proxy/options.ts';

test('the Host allow-list: loopback names, --public-url host, --allowed-hosts; nothing else', () => {
  const hosts = createHostAllowList({
    publicUrl: new URL('https://Files.Example.com/app/'),
    allowedHosts: ['sidecar', 'sidecar.internal:8890', '[fd00::1]'],
  });
  const table: Array<[string | undefined, boolean]> = [
    ['localhost', true],
    ['localhost:8890', true],
    ['LOCALHOST.:1', true],
    ['127.0.0.1:9', true],
    ['[::1]:8890', true],
    ['files.example.com', true],
    ['files.example.com:443', true],
    ['sidecar:80', true],
    ['sidecar.internal:8890', true],
    ['sidecar.internal:8891', false],
    ['[fd00::1]:5', true],
    ['evil.example', false],
    ['localhost.evil.example', false],
    ['127.0.0.1.nip.io', false],
    ['127.0.0.2', false],
    ['evil.example@localhost', false],
    ['localhost:8890/x', false],
    ['', false],
    [undefined, false],
  ];
  for (const [host, allowed] of table) assert.equal(hosts.allows(host), allowed, String(host));
});

test('token times: exp required, no future iat, bounded lifetime (30 s of clock skew)', () => {
  const now = 1_000_000;
  const table: Array<[Record<string, unknown>, boolean]> = [
    [{ exp: now + 3600 }, true],
    [{ iat: now, exp: now + 86_400 }, true],
    [{ iat: now - 100, exp: now + 86_400 - 100 }, true],
    [{ iat: now + 20, exp: now + 3600 }, true],
    [{}, false],
    [{ iat: now }, false],
    [{ iat: now + 60, exp: now + 3600 }, false],
    [{ iat: 'now', exp: now + 3600 }, false],
    [{ iat: now, exp: now + 86_400 + 31 }, false],
    [{ exp: now + 10 * 86_400 }, false],
  ];
  for (const [payload, ok] of table)
    assert.equal(tokenTimeProblem(payload, now, 86_400) === null, ok, JSON.stringify(payload));
});

test('the new options: defaults, and coded errors with an example', () => {
  const base = { 'gateway-url': 'http://127.0.0.1:8888' };
  const defaults = resolveOptions(base, {});
  assert.equal(defaults.maxFrameBytes, 32 * 1024 * 1024);
  assert.equal(defaults.maxInFlightBytes, 256 * 1024 * 1024);
  assert.equal(defaults.tokenMaxLifetimeS, 86_400);
  assert.equal(defaults.publicUrl, null);
  assert.deepEqual(defaults.allowedHosts, []);
  const set = resolveOptions(
    { ...base, 'allowed-hosts': 'A.example, b:81', 'max-frame-mb': '100' },
    { PUBLIC_URL: 'https://x.example/' },
  );
  assert.deepEqual(set.allowedHosts, ['a.example', 'b:81']);
  assert.equal(set.publicUrl?.host, 'x.example');
  assert.equal(set.maxFrameBytes, 100 * 1024 * 1024);
  assert.throws(
    () => resolveOptions({ ...base, 'allowed-hosts': 'http://x/' }, {}),
    (e: OptionsError) => e.code === 'ERR_OPTIONS_ALLOWED_HOSTS' && /Example/.test(e.message),
  );
  assert.throws(
    () => resolveOptions({ ...base, 'public-url': 'not a url' }, {}),
    (e: OptionsError) => e.code === 'ERR_OPTIONS_URL',
  );
  assert.throws(
    () => resolveOptions({ ...base, 'public-url': 'ftp://x/' }, {}),
    (e: OptionsError) => e.code === 'ERR_OPTIONS_URL',
  );
  assert.throws(
    () => resolveOptions({ ...base, 'max-frame-mb': '0' }, {}),
    (e: OptionsError) => e.code === 'ERR_OPTIONS_NUMBER',
  );
});

test('--allowed-hosts takes exactly the Host values the allow-list matches (one pattern)', () => {
  for (const [entry, header] of [
    ['my_service', 'my_service:8890'],
    ['sidecar.internal:8890', 'sidecar.internal:8890'],
    ['[fd00::1]', '[fd00::1]:1'],
    ['trailing.dot.', 'trailing.dot'],
  ] as const) {
    const options = resolveOptions({ 'gateway-url': 'http://127.0.0.1:8888', 'allowed-hosts': entry }, {});
    assert.ok(createHostAllowList({ publicUrl: null, allowedHosts: options.allowedHosts }).allows(header), entry);
  }
  for (const entry of ['evil.example/x', 'user@host', 'host:port', 'a b'])
    assert.throws(
      () => resolveOptions({ 'gateway-url': 'http://127.0.0.1:8888', 'allowed-hosts': entry }, {}),
      (error: OptionsError) => error.code === 'ERR_OPTIONS_ALLOWED_HOSTS',
      entry,
    );
});
