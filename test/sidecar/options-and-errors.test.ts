import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gatewayFailure } from '../../proxy/gateway/gateway-errors.ts';
import { OPTIONS, OptionsError, parseFlags, resolveOptions } from '../../proxy/options.ts';
import { splitChatPrefix } from '../../proxy/chats/chat-request.ts';
import { InvalidChatIdError } from '../../proxy/chats/chat-id.ts';

test('gateway failures map to statuses', () => {
  const table: [string | undefined, number, string][] = [
    ['ECONNREFUSED', 502, 'ERR_GATEWAY_UNREACHABLE'],
    ['ENOTFOUND', 502, 'ERR_GATEWAY_UNREACHABLE'],
    ['ETIMEDOUT', 504, 'ERR_GATEWAY_TIMEOUT'],
    ['ECONNRESET', 502, 'ERR_GATEWAY_FAILED'],
    ['ERR_SIDECAR_CLOSING', 503, 'ERR_SIDECAR_CLOSING'],
    [undefined, 502, 'ERR_GATEWAY_FAILED'],
  ];
  for (const [code, status, errorCode] of table) {
    assert.deepEqual([gatewayFailure(code).status, gatewayFailure(code).code], [status, errorCode], String(code));
  }
});

test('options: flags over environment, verified with coded errors', () => {
  const options = resolveOptions(
    parseFlags(['--gateway-url', 'http://h:1/jupyter', '--port=9000', '--anonymous-chat', 'shared']),
    { SIDECAR_PORT: '1', FILES_API_SECRET: 's'.repeat(32) },
  );
  assert.equal(options.port, 9000);
  assert.equal(options.gatewayUrl.href, 'http://h:1/jupyter/');
  assert.deepEqual(options.anonymousChat, { kind: 'fixed', chatId: 'shared' });
  assert.equal(options.filesSecret, 's'.repeat(32));
  assert.throws(
    () => resolveOptions({ 'gateway-url': 'http://h' }, { FILES_API_SECRET: 'short' }),
    (e: unknown) => e instanceof OptionsError && e.code === 'ERR_OPTIONS_SECRET_TOO_SHORT',
  );
  const bad: [string[], string][] = [
    [[], 'ERR_OPTIONS_GATEWAY_MISSING'],
    [['--gateway-url', 'nope'], 'ERR_OPTIONS_GATEWAY_URL'],
    [['--gateway-url', 'ftp://h'], 'ERR_OPTIONS_GATEWAY_URL'],
    [['--gateway-url', 'http://h', '--port', 'x'], 'ERR_OPTIONS_NUMBER'],
    [['--gateway-url', 'http://h', '--anonymous-chat', '../x'], 'ERR_OPTIONS_ANONYMOUS_CHAT'],
    [['--gateway-url', 'http://h', '--bogus', '1'], 'ERR_OPTIONS_UNKNOWN'],
    [['--gateway-url', 'http://h', '--kernel-workspace-root', 'rel'], 'ERR_OPTIONS_PATH'],
  ];
  for (const [argv, code] of bad) {
    assert.throws(
      () => resolveOptions(parseFlags(argv), {}),
      (e: unknown) => e instanceof OptionsError && e.code === code,
      argv.join(' '),
    );
  }
});

test('chat prefix: valid ids pass, escapes are refused', () => {
  assert.deepEqual(splitChatPrefix('/chats/a-1/api/kernels?x=1'), {
    chatId: 'a-1',
    prefix: '/chats/a-1',
    rest: '/api/kernels?x=1',
  });
  assert.equal(splitChatPrefix('/api/kernels'), null);
  for (const bad of [
    '/chats/../api',
    '/chats/%2e%2e/api',
    '/chats/a%2fb/api',
    '/chats/%00/api',
    '/chats//api',
    `/chats/${'a'.repeat(200)}/api`,
    '/chats/%E0%A4%A/api',
  ]) {
    assert.throws(() => splitChatPrefix(bad), InvalidChatIdError, bad);
  }
});

test('FILES_API_SECRET_FILE: read from the file (trailing newline dropped), never with FILES_API_SECRET too', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'secret-file-'));
  try {
    const file = path.join(dir, 'secret');
    await writeFile(file, `${'k'.repeat(40)}\n`);
    assert.equal(
      resolveOptions({ 'gateway-url': 'http://h' }, { FILES_API_SECRET_FILE: file }).filesSecret,
      'k'.repeat(40),
    );
    const code = (c: string) => (e: unknown) => e instanceof OptionsError && e.code === c;
    assert.throws(
      () =>
        resolveOptions(
          { 'gateway-url': 'http://h' },
          { FILES_API_SECRET_FILE: file, FILES_API_SECRET: 's'.repeat(32) },
        ),
      code('ERR_OPTIONS_SECRET_TWICE'),
    );
    assert.throws(
      () => resolveOptions({ 'gateway-url': 'http://h' }, { FILES_API_SECRET_FILE: path.join(dir, 'missing') }),
      code('ERR_OPTIONS_SECRET_FILE'),
    );
    await writeFile(file, 'short\n');
    assert.throws(
      () => resolveOptions({ 'gateway-url': 'http://h' }, { FILES_API_SECRET_FILE: file }),
      code('ERR_OPTIONS_SECRET_TOO_SHORT'),
    );
    // Environment only: there is no flag for it.
    assert.throws(
      () => resolveOptions(parseFlags(['--gateway-url', 'http://h', '--files-api-secret-file', file]), {}),
      code('ERR_OPTIONS_UNKNOWN'),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('scan timeout and hard links: defaults, flags and environment', () => {
  const defaults = resolveOptions({ 'gateway-url': 'http://h' }, {});
  assert.equal(defaults.scanTimeoutMs, 120_000);
  assert.equal(defaults.allowHardLinks, false);
  const set = resolveOptions(
    parseFlags(['--gateway-url', 'http://h', '--scan-timeout-s', '5', '--allow-hard-links']),
    {},
  );
  assert.equal(set.scanTimeoutMs, 5000);
  assert.equal(set.allowHardLinks, true);
  assert.equal(
    resolveOptions({ 'gateway-url': 'http://h' }, { ALLOW_HARD_LINKS: '1', SCAN_TIMEOUT_S: '2' }).scanTimeoutMs,
    2000,
  );
});

test('options: workspaces are watched by default, audited every 10 minutes; both can be changed', () => {
  const defaults = resolveOptions(parseFlags(['--gateway-url', 'http://h']), {});
  assert.equal(defaults.watchWorkspaces, true);
  assert.equal(defaults.workspaceAuditMs, 600_000);
  const set = resolveOptions(
    parseFlags(['--gateway-url', 'http://h', '--no-watch-workspaces', '--workspace-audit-min', '0.5']),
    {},
  );
  assert.equal(set.watchWorkspaces, false);
  assert.equal(set.workspaceAuditMs, 30_000);
  assert.equal(
    resolveOptions(parseFlags(['--gateway-url', 'http://h']), { WATCH_WORKSPACES: 'off' }).watchWorkspaces,
    false,
  );
});

test('every secret setting can come from a file: WEBHOOK_SECRET_FILE and DATABASE_URL_FILE too', async () => {
  const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = await mkdtemp(path.join(tmpdir(), 'secret-file-'));
  try {
    const at = (name: string) => path.join(dir, name);
    await writeFile(at('webhook'), 'whsec-from-file\n');
    await writeFile(at('database'), 'postgres://sidecar:pw@db:5432/sidecar\n');
    await writeFile(at('not-a-url'), 'mysql://db\n');
    const flags = { 'gateway-url': 'http://h', 'webhook-url': 'http://hook.example/' };
    const options = resolveOptions(flags, {
      WEBHOOK_SECRET_FILE: at('webhook'),
      DATABASE_URL_FILE: at('database'),
    });
    assert.equal(options.webhookSecret, 'whsec-from-file');
    assert.equal(options.databaseUrl, 'postgres://sidecar:pw@db:5432/sidecar');
    const code = (c: string) => (e: unknown) => e instanceof OptionsError && e.code === c;
    assert.throws(
      () => resolveOptions(flags, { WEBHOOK_SECRET_FILE: at('webhook'), WEBHOOK_SECRET: 'x' }),
      code('ERR_OPTIONS_SECRET_TWICE'),
    );
    assert.throws(
      () => resolveOptions(flags, { WEBHOOK_SECRET: 'x', DATABASE_URL_FILE: at('not-a-url') }),
      code('ERR_OPTIONS_DATABASE_URL'),
    );
    assert.throws(() => resolveOptions(flags, {}), code('ERR_OPTIONS_WEBHOOK_SECRET'));
    // Every option named like a secret has its _FILE twin.
    const variables = new Set(Object.values(OPTIONS).map((o) => o.env));
    for (const name of [
      'FILES_API_SECRET',
      'METRICS_TOKEN',
      'WEBHOOK_SECRET',
      'DATABASE_URL',
      'MCP_API_KEY',
      'GATEWAY_TOKEN',
    ])
      assert.ok(variables.has(`${name}_FILE`), `${name}_FILE`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('kernel transfer: a reply or listing must fit in one frame, an upload chunk in one Jupyter message', () => {
  const ok = resolveOptions(parseFlags(['--gateway-url', 'http://h', '--transfer-request-mb', '31']), {});
  assert.equal(ok.transfer.bytesPerRequest, 31 * 1024 * 1024);
  assert.equal(ok.transfer.requestsInFlight, null, 'unset: the transport’s default');
  const bad: string[][] = [
    ['--transfer-request-mb', '32'],
    ['--transfer-listing-mb', '40'],
    ['--max-frame-mb', '4'],
    ['--transfer-chunk-kb', '9000'],
  ];
  for (const argv of bad)
    assert.throws(
      () => resolveOptions(parseFlags(['--gateway-url', 'http://h', ...argv]), {}),
      (e: unknown) =>
        e instanceof OptionsError && e.code === 'ERR_OPTIONS_TRANSFER' && /Example: --transfer/.test(e.message),
      argv.join(' '),
    );
});
