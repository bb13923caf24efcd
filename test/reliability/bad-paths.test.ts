/**
 * Chat ids, kernel ids, file ids and upload paths that try to leave a workspace: every one is
 * refused with a JSON error (or, for the HTTP parser's own refusals, a plain 400), and nothing is
 * created outside the workspace root. Symlinks a kernel plants are never recorded or served.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, symlink, writeFile, lstat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileListResponse } from '../../contract/files-api.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { refused, reportAfter } from './reliability-counter.ts';
import { listTree, rawRequest, rawSocketRequest, rawUpgrade } from './reliability-helpers.ts';

reportAfter('bad-paths');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
const OUTSIDE_SECRET = 'outside secret: never copied, never served\n';
const VICTIM_SECRET = 'victim,secret\n1,2\n';

let bed: TestBed;
let proxy: RunningSidecar;
let outsideDir: string;
let kernelId: string;
let victimKernelId: string;
let before_: { outside: string[]; bed: string[] };
const clients: RawKernelClient[] = [];

const sha256 = (bytes: string | Buffer) => createHash('sha256').update(bytes).digest('hex');
const tokenFor = (chat: string) => signToken(SECRET, { chat });
const ws = (url: string) => url.replace(/^http/, 'ws');

/** bed.dir minus what the sidecar and Jupyter may write: the workspaces and the store. */
const outsideWorkspaces = () => listTree(bed.dir, (rel) => rel === 'workspaces' || rel === 'store');

async function createKernel(chat: string): Promise<string> {
  const res = await fetch(`${proxy.url}chats/${chat}/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function connect(chat: string, id: string): Promise<RawKernelClient> {
  const client = await RawKernelClient.connect(
    `${ws(proxy.url)}chats/${chat}/api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'legacy',
  );
  clients.push(client);
  return client;
}

async function kernelCount(): Promise<number> {
  const res = await fetch(`${bed.jupyter.url}api/kernels?token=${bed.jupyter.token}`);
  return ((await res.json()) as unknown[]).length;
}

/** A refusal with the sidecar's JSON error body, and one of the expected codes. */
function assertRefused(res: { status: number; body: Buffer | string }, codes: string[], what: string): void {
  assert.ok(
    res.status >= 400 && res.status < 500,
    `${what}: expected a 4xx, got ${res.status} ${res.body.toString().slice(0, 200)}`,
  );
  const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
  assert.ok(codes.includes(body.error.code), `${what}: code ${body.error.code} not in ${codes.join(', ')}`);
  assert.ok(body.error.message.length > 10, `${what}: a message that says what is wrong`);
  refused();
}

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
  outsideDir = path.join(bed.dir, 'outside');
  await mkdir(outsideDir);
  await writeFile(path.join(outsideDir, 'secret.txt'), OUTSIDE_SECRET);
  // A chat with a recorded file, so "alpha" has something to steal and the files API knows it.
  victimKernelId = await createKernel('victim');
  const victim = await connect('victim', victimKernelId);
  await victim.execute(`open('/mnt/data/secret.csv', 'w').write(${JSON.stringify(VICTIM_SECRET)})`);
  kernelId = await createKernel('alpha');
  const alpha = await connect('alpha', kernelId);
  await alpha.execute("open('/mnt/data/ok.txt', 'w').write('fine')");
  before_ = { outside: await listTree(outsideDir), bed: await outsideWorkspaces() };
});

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await proxy?.stop();
  await bed?.stop();
});

/**
 * Chat ids as URL path segments, sent raw: traversal, separators, NUL, percent-encoded and
 * double-encoded forms, overlong UTF-8, too long, and names that only look harmless.
 */
const BAD_CHAT_SEGMENTS = [
  '..',
  '.',
  '%2e%2e',
  '%2E%2E',
  '.%2e',
  '%2e%2e%2f%2e%2e%2fetc',
  '..%2f..%2fetc',
  '%2f',
  '%2fetc%2fpasswd',
  'a%2fb',
  'a%5cb',
  'a\\b',
  '%5c..%5c',
  'a%00b',
  '%00',
  '%252e%252e',
  '%252f',
  '%25%32%65%25%32%65',
  '%c0%ae%c0%ae',
  '%c0%af',
  '%e0%80%ae',
  '%ff',
  'x'.repeat(129),
  `a${'%41'.repeat(128)}`,
  '-dash',
  '.hidden',
  'a%20b',
  'a%0d%0aX-Injected:%201',
  '%e2%80%aeabc',
  'caf%c3%a9',
];

/** Chat ids as header or JSON values. */
const BAD_CHAT_VALUES = [
  '..',
  '.',
  '../etc',
  '../../tmp',
  'a/b',
  '/etc/passwd',
  'a\\b',
  '%2e%2e',
  '%2f',
  'x'.repeat(129),
  '.hidden',
  '-x',
  'a b',
  'a:b',
  'a*',
];
const BAD_CHAT_JSON_ONLY = ['a\u0000b', 'a\nb', 'a\r\nb', 'café', '日本', '\u202eabc', '..\u0000'];

describe('chat ids in the /chats/{id}/ prefix', () => {
  test('REST: every bad id is refused before the gateway is asked', async () => {
    const kernelsBefore = await kernelCount();
    for (const segment of BAD_CHAT_SEGMENTS) {
      for (const [method, rest] of [
        ['POST', 'api/kernels'],
        ['GET', 'api/kernels'],
        ['GET', `api/kernels/${kernelId}`],
        ['GET', 'api/contents/'],
      ] as const) {
        const res = await rawRequest(proxy.url, method, `/chats/${segment}/${rest}?token=${bed.jupyter.token}`);
        assertRefused(res, ['ERR_INVALID_CHAT_ID'], `${method} /chats/${segment}/${rest}`);
      }
    }
    // The empty id: `/chats//api/kernels`.
    assertRefused(
      await rawRequest(proxy.url, 'POST', `/chats//api/kernels?token=${bed.jupyter.token}`),
      ['ERR_INVALID_CHAT_ID'],
      'empty chat id',
    );
    assert.equal(await kernelCount(), kernelsBefore, 'no kernel was created for a bad chat id');
  });

  test('WebSocket: every bad id in the prefix is refused at the handshake', async () => {
    const open = proxy.sidecar.connections();
    for (const segment of BAD_CHAT_SEGMENTS) {
      const res = await rawUpgrade(
        proxy.url,
        `/chats/${segment}/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
      );
      assertRefused(res, ['ERR_INVALID_CHAT_ID'], `upgrade /chats/${segment}/`);
    }
    assert.equal(proxy.sidecar.connections(), open, 'no connection was opened');
  });

  test('WebSocket: bad kernel ids in the channels path are refused', async () => {
    for (const id of ['%2e%2e%2f%2e%2e', '..%2f..%2fapi', 'a%2fb', 'a%00b', '%c0%ae', 'x'.repeat(65), 'a.b', 'a%20b']) {
      const res = await rawUpgrade(proxy.url, `/chats/alpha/api/kernels/${id}/channels?token=${bed.jupyter.token}`);
      assertRefused(res, ['ERR_INVALID_KERNEL_ID', 'ERR_BAD_REQUEST'], `kernel id ${id}`);
    }
    // `..` and `%2e%2e` as the whole segment are resolved by URL parsing: `/api/kernels/../channels`
    // is then no channels path, and goes to the gateway as `/api/channels`, which refuses it.
    for (const id of ['..', '%2e%2e']) {
      const res = await rawUpgrade(proxy.url, `/chats/alpha/api/kernels/${id}/channels?token=${bed.jupyter.token}`);
      assert.equal(res.status, 404, `kernel id ${id}`);
      refused();
    }
  });

  test('what the HTTP parser refuses itself: raw NUL, CR and LF in the path or the X-Chat-Id header', async () => {
    const requests = [
      `GET /chats/a\u0000b/api/kernels HTTP/1.1\r\nHost: x\r\n\r\n`,
      `GET /chats/a\rb/api/kernels HTTP/1.1\r\nHost: x\r\n\r\n`,
      `POST /api/kernels HTTP/1.1\r\nHost: x\r\nX-Chat-Id: a\u0000b\r\nContent-Length: 0\r\n\r\n`,
      `POST /api/kernels HTTP/1.1\r\nHost: x\r\nX-Chat-Id: a\rb\r\nContent-Length: 0\r\n\r\n`,
    ];
    for (const text of requests) {
      const status = await rawSocketRequest(proxy.url, Buffer.from(text, 'latin1'));
      assert.match(status, /^HTTP\/1\.1 400/, JSON.stringify(text));
      refused();
    }
    const health = await fetch(`${proxy.url}sidecar/v1/health`);
    assert.equal(health.status, 200);
  });
});

describe('chat ids in X-Chat-Id and env.KERNEL_CHAT_ID', () => {
  test('X-Chat-Id on kernel creation and on the channels handshake', async () => {
    const kernelsBefore = await kernelCount();
    for (const value of BAD_CHAT_VALUES) {
      const res = await rawRequest(proxy.url, 'POST', `/api/kernels?token=${bed.jupyter.token}`, {
        headers: { 'x-chat-id': value },
      });
      assertRefused(res, ['ERR_INVALID_CHAT_ID'], `X-Chat-Id ${value}`);
      const up = await rawUpgrade(proxy.url, `/api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`, {
        'x-chat-id': value,
      });
      assertRefused(up, ['ERR_INVALID_CHAT_ID'], `upgrade X-Chat-Id ${value}`);
    }
    assert.equal(await kernelCount(), kernelsBefore);
  });

  test('env.KERNEL_CHAT_ID in the kernel creation body', async () => {
    const kernelsBefore = await kernelCount();
    for (const value of [...BAD_CHAT_VALUES, ...BAD_CHAT_JSON_ONLY]) {
      const body = JSON.stringify({ name: 'python3', env: { KERNEL_CHAT_ID: value } });
      const res = await rawRequest(proxy.url, 'POST', `/api/kernels?token=${bed.jupyter.token}`, {
        headers: { 'content-type': 'application/json' },
        body,
      });
      assertRefused(res, ['ERR_INVALID_CHAT_ID'], `KERNEL_CHAT_ID ${JSON.stringify(value)}`);
    }
    assert.equal(await kernelCount(), kernelsBefore);
  });
});

describe('the files API', () => {
  test('bad chat ids in every route', async () => {
    const token = await tokenFor('alpha');
    const headers = { authorization: `Bearer ${token}` };
    for (const segment of BAD_CHAT_SEGMENTS) {
      for (const [method, rest] of [
        ['GET', 'files'],
        ['GET', 'files/AAAA/content'],
        ['GET', 'archive.zip'],
        ['GET', 'events'],
        ['PUT', 'uploads/x.txt'],
      ] as const) {
        const res = await rawRequest(proxy.url, method, `/sidecar/v1/chats/${segment}/${rest}`, {
          headers,
          body: method === 'PUT' ? 'pwned' : undefined,
        });
        assertRefused(
          res,
          ['ERR_INVALID_CHAT_ID', 'ERR_BAD_REQUEST', 'ERR_NOT_FOUND'],
          `${method} files API chat ${segment}/${rest}`,
        );
      }
    }
  });

  test('bad file ids', async () => {
    const headers = { authorization: `Bearer ${await tokenFor('alpha')}` };
    for (const id of [
      '..',
      '.',
      '%2e%2e',
      'a%2fb',
      '..%2f..%2fetc%2fpasswd',
      'a%5cb',
      'a%00b',
      '%c0%ae',
      'x'.repeat(65),
      'a.b',
      'a%20b',
      '%252e',
    ]) {
      const res = await rawRequest(proxy.url, 'GET', `/sidecar/v1/chats/alpha/files/${id}/content`, { headers });
      assertRefused(res, ['ERR_INVALID_FILE_ID', 'ERR_BAD_REQUEST'], `file id ${id}`);
    }
    // A well-formed id of another chat's record is just not there.
    const victimList = (await (
      await fetch(`${proxy.url}sidecar/v1/chats/victim/files`, {
        headers: { authorization: `Bearer ${await tokenFor('victim')}` },
      })
    ).json()) as FileListResponse;
    const victimId = victimList.files[0]!.id;
    const res = await rawRequest(proxy.url, 'GET', `/sidecar/v1/chats/alpha/files/${victimId}/content`, { headers });
    assertRefused(res, ['ERR_FILE_NOT_FOUND'], "another chat's file id");
  });

  test('upload paths outside the workspace, and through symlinks out of it', async () => {
    const alphaDir = path.join(bed.workspaceRoot, 'alpha');
    await symlink(outsideDir, path.join(alphaDir, 'link-out'));
    await symlink(path.join(bed.workspaceRoot, 'victim'), path.join(alphaDir, 'link-victim'));
    await symlink('/etc', path.join(alphaDir, 'link-etc'));
    const headers = { authorization: `Bearer ${await tokenFor('alpha')}` };
    const bad = [
      '../escape.txt',
      '../../escape.txt',
      '..%2fescape.txt',
      '%2e%2e/escape.txt',
      '%2e%2e%2f%2e%2e%2fescape.txt',
      '%2fetc%2fescape.txt',
      '%2ftmp%2fescape.txt',
      'a%5c..%5c..%5cescape.txt',
      'a%00.txt',
      'a%0d%0aescape.txt',
      'sub/./escape.txt',
      'sub//escape.txt',
      'sub/../../escape.txt',
      '%c0%ae%c0%ae/escape.txt',
      `${'n'.repeat(256)}.txt`,
      `${'d/'.repeat(520)}escape.txt`,
      '.hidden.txt',
      'escape.part',
      '.sidecar-upload-escape.txt',
      'link-out/escape.txt',
      'link-out/secret.txt',
      'link-victim/escape.txt',
      'link-victim/secret.csv',
      'link-etc/escape.txt',
    ];
    for (const p of bad) {
      const res = await rawRequest(proxy.url, 'PUT', `/sidecar/v1/chats/alpha/uploads/${p}`, {
        headers,
        body: 'pwned',
      });
      assertRefused(
        res,
        ['ERR_INVALID_PATH', 'ERR_PATH_OUTSIDE_WORKSPACE', 'ERR_BAD_REQUEST', 'ERR_NOT_FOUND'],
        `upload ${p.slice(0, 60)}`,
      );
    }
    // Double-encoded: decoded once, it is a file literally named `%2e%2e%2fdouble.txt`, in the workspace.
    const double = await rawRequest(proxy.url, 'PUT', '/sidecar/v1/chats/alpha/uploads/%252e%252e%252fdouble.txt', {
      headers,
      body: 'literal',
    });
    assert.equal(double.status, 201, double.body.toString());
    assert.equal(await readFile(path.join(alphaDir, '%2e%2e%2fdouble.txt'), 'utf8'), 'literal');
    refused();
    // A file symlink is replaced by the upload, never written through.
    await symlink(path.join(outsideDir, 'secret.txt'), path.join(alphaDir, 'file-link.txt'));
    const res = await rawRequest(proxy.url, 'PUT', '/sidecar/v1/chats/alpha/uploads/file-link.txt', {
      headers,
      body: 'replaced',
    });
    assert.equal(res.status, 201, res.body.toString());
    assert.ok((await lstat(path.join(alphaDir, 'file-link.txt'))).isFile());
    assert.equal(await readFile(path.join(outsideDir, 'secret.txt'), 'utf8'), OUTSIDE_SECRET);
    refused();
  });
});

describe('symlinks a kernel plants in its workspace', () => {
  test('are never recorded, never served, never zipped', async () => {
    const client = clients[1]!;
    const victimDir = path.join(bed.workspaceRoot, 'victim');
    const links: Array<[string, string]> = [
      ['/etc/passwd', 'passwd.txt'],
      [path.join(outsideDir, 'secret.txt'), 'outside.txt'],
      [path.join(victimDir, 'secret.csv'), 'stolen.csv'],
      [victimDir, 'victim-dir'],
      ['/etc', 'etc-dir'],
      [outsideDir, 'outside-dir'],
    ];
    const code = [
      'import os',
      ...links.map(([target, name]) => `os.symlink(${JSON.stringify(target)}, '/mnt/data/${name}')`),
      "open('/mnt/data/real.txt', 'w').write('real')",
    ].join('\n');
    const run = await client.execute(code);
    assert.equal(run.reply?.content.status, 'ok', JSON.stringify(run.reply?.content));
    await client.execute('1 + 1'); // one more execution: one more scan

    const headers = { authorization: `Bearer ${await tokenFor('alpha')}` };
    const list = (await (
      await fetch(`${proxy.url}sidecar/v1/chats/alpha/files`, { headers })
    ).json()) as FileListResponse;
    const paths = list.files.map((f) => f.path).sort();
    assert.ok(paths.includes('real.txt'), 'the real file is recorded');
    for (const [, name] of links) {
      assert.ok(
        !paths.some((p) => p === name || p.startsWith(`${name}/`)),
        `${name} must not be recorded (${paths.join(', ')})`,
      );
      refused();
    }
    const forbidden = new Set([sha256(await readFile('/etc/passwd')), sha256(OUTSIDE_SECRET), sha256(VICTIM_SECRET)]);
    for (const record of await proxy.sidecar.store.listChat('alpha'))
      assert.ok(!forbidden.has(record.sha256), `${record.path} holds bytes from outside`);
    const zip = await rawRequest(proxy.url, 'GET', '/sidecar/v1/chats/alpha/archive.zip', { headers });
    assert.equal(zip.status, 200);
    for (const [, name] of links) assert.ok(!zip.body.includes(Buffer.from(name)), `${name} in the zip`);
    assert.ok(!zip.body.includes(Buffer.from('victim,secret')));
  });

  test("a chat workspace that is itself a symlink to another chat's is not scanned or listed", async () => {
    // Planted by a kernel of another chat before chat "evil" was ever used.
    await symlink(path.join(bed.workspaceRoot, 'victim'), path.join(bed.workspaceRoot, 'evil'));
    const evilKernel = await createKernel('evil');
    const evil = await connect('evil', evilKernel);
    await evil.execute("open('/mnt/data/evil.csv', 'w').write('x')");
    const headers = { authorization: `Bearer ${await tokenFor('evil')}` };
    const res = await rawRequest(proxy.url, 'GET', '/sidecar/v1/chats/evil/files', { headers });
    assert.equal(res.status, 200, res.body.toString());
    assert.deepEqual((res.json() as FileListResponse).files, [], "the victim's files are not listed as evil's");
    refused();
    const upload = await rawRequest(proxy.url, 'PUT', '/sidecar/v1/chats/evil/uploads/up.txt', { headers, body: 'x' });
    assertRefused(
      upload,
      ['ERR_PATH_OUTSIDE_WORKSPACE', 'ERR_WORKSPACE_OUTSIDE_ROOT'],
      'upload into a symlinked workspace',
    );
  });
});

describe('after all of it', () => {
  test('nothing was created outside the workspace root, and the other chats are untouched', async () => {
    assert.deepEqual(await listTree(outsideDir), before_.outside);
    assert.deepEqual(await outsideWorkspaces(), before_.bed);
    const top = (await listTree(bed.workspaceRoot, (rel) => rel.includes('/'))).map((e) => e.replace(/\/$/, ''));
    assert.deepEqual(
      top.filter((e) => !e.startsWith('.jupyter-runtime')),
      ['alpha', 'evil -> ' + path.join(bed.workspaceRoot, 'victim'), 'victim'].sort(),
    );
    const victim = await listTree(path.join(bed.workspaceRoot, 'victim'));
    assert.ok(
      !victim.some((e) => e.includes('escape') || e.includes('double') || e.includes('up.txt')),
      victim.join(', '),
    );
    const everything = await listTree(bed.dir);
    assert.ok(!everything.some((e) => e.includes('escape')), 'no escape.txt anywhere');
    assert.equal(await readFile(path.join(outsideDir, 'secret.txt'), 'utf8'), OUTSIDE_SECRET);
  });
});
