import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { FileListResponse } from '../../contract/files-api.ts';
import { seed, startApi, url, type ApiFixture } from '../support/api-fixture.ts';

/** Collects a binary body (supertest only buffers text and JSON by itself). */
function binary(res: unknown, callback: (error: Error | null, body: Buffer) => void) {
  const stream = res as NodeJS.ReadableStream;
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  stream.on('end', () => callback(null, Buffer.concat(chunks)));
}

describe('files API', () => {
  let api: ApiFixture;
  afterEach(() => api.close());

  it('GET /health reports the sidecar and the gateway', async () => {
    api = await startApi({ gatewayHealth: async () => 'up', auth: { secret: 'x'.repeat(32) } });
    const res = await api.request.get('/sidecar/v1/health').expect(200);
    assert.deepEqual(res.body, { status: 'ok', gateway: 'up', fs: 'ok', database: 'none' });
  });

  it('lists the latest version of each path with every version, newest first', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'out/report.csv': 'v1', 'chart.png': 'png' });
    await api.write('c1', 'out/report.csv', 'v2!');
    await api.recorder.scan('c1', { source: 'between-executions' });
    const res = await api.request.get(url('c1', '/files')).expect(200).expect('Content-Type', /json/);
    const body = res.body as FileListResponse;
    assert.equal(body.chatId, 'c1');
    assert.deepEqual(body.skipped, []);
    const report = body.files.find((f) => f.path === 'out/report.csv')!;
    assert.equal(report.version, 2);
    assert.equal(report.name, 'report.csv');
    assert.equal(report.format, 'CSV');
    assert.equal(report.mimeType, 'text/csv');
    assert.deepEqual(
      report.versions.map((v) => v.version),
      [2, 1],
    );
    assert.equal(report.versions[1]!.source, 'execution');
    assert.match(report.downloadUrl, /^\/sidecar\/v1\/chats\/c1\/files\/[A-Za-z0-9_-]+\/content$/);
    // Both versions download.
    assert.equal((await api.request.get(report.versions[0]!.downloadUrl).expect(200)).text, 'v2!');
    assert.equal((await api.request.get(report.versions[1]!.downloadUrl).expect(200)).text, 'v1');
  });

  it('serves content with type, nosniff, sandbox CSP, disposition, ETag/304 and ranges', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'page.html': '<script>alert(1)</script>', 'data.txt': '0123456789' });
    const { files } = (await api.request.get(url('c1', '/files'))).body as FileListResponse;
    const html = files.find((f) => f.name === 'page.html')!;
    const txt = files.find((f) => f.name === 'data.txt')!;

    const page = await api.request.get(`${html.downloadUrl}?disposition=inline`).expect(200);
    assert.equal(page.headers['content-type'], 'text/html');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    assert.equal(page.headers['content-security-policy'], 'sandbox');
    assert.equal(page.headers['content-disposition'], 'attachment; filename="page.html"', 'HTML is never inline');

    const full = await api.request.get(`${txt.downloadUrl}?disposition=inline`).expect(200);
    assert.equal(full.headers['content-disposition'], 'inline; filename="data.txt"');
    assert.equal(full.headers.etag, `"${txt.sha256}"`);
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(full.headers['content-length'], '10');

    await api.request.get(txt.downloadUrl).set('If-None-Match', `"${txt.sha256}"`).expect(304);
    const part = await api.request.get(txt.downloadUrl).set('Range', 'bytes=2-5').expect(206);
    assert.equal(part.text, '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    const tail = await api.request.get(txt.downloadUrl).set('Range', 'bytes=-3').expect(206);
    assert.equal(tail.text, '789');
    const bad = await api.request.get(txt.downloadUrl).set('Range', 'bytes=10-').expect(416);
    assert.equal(bad.headers['content-range'], 'bytes */10');
    assert.equal(bad.body.error.code, 'ERR_RANGE_NOT_SATISFIABLE');
  });

  it('serves names with quotes, newlines and non-ASCII in a one-line Content-Disposition', async () => {
    api = await startApi();
    const names = ['quo"te.txt', 'new\nline.txt', 'données é 报告.txt'];
    await seed(api, 'c1', Object.fromEntries(names.map((n) => [n, n])));
    const { files } = (await api.request.get(url('c1', '/files'))).body as FileListResponse;
    for (const name of names) {
      const file = files.find((f) => f.name === name)!;
      const res = await api.request.get(file.downloadUrl).expect(200);
      const header = res.headers['content-disposition'] as string;
      assert.doesNotMatch(header, /[\r\n]/);
      const star = /filename\*=UTF-8''([^;]+)/.exec(header);
      assert.equal(star ? decodeURIComponent(star[1]!) : /filename="([^"]*)"/.exec(header)![1], name);
      assert.equal(res.text, name);
    }
  });

  it('zips the current versions, keeping folders', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'out/report.csv': 'old', 'chart.png': Buffer.alloc(2000, 7), 'a/b/notes.md': '# hi' });
    await api.write('c1', 'out/report.csv', 'new');
    await api.recorder.scan('c1', { source: 'between-executions' });
    const res = await api.request.get(url('c1', '/archive.zip')).buffer(true).parse(binary).expect(200);
    assert.equal(res.headers['content-type'], 'application/zip');
    assert.equal(res.headers['content-disposition'], 'attachment; filename="c1-files.zip"');
    const zipFile = path.join(api.base, 'out.zip');
    await writeFile(zipFile, res.body as Buffer);
    const listing = execFileSync('unzip', ['-Z1', zipFile], { encoding: 'utf8' }).trim().split('\n').sort();
    assert.deepEqual(listing, ['a/b/notes.md', 'chart.png', 'out/report.csv']);
    assert.equal(execFileSync('unzip', ['-p', zipFile, 'out/report.csv'], { encoding: 'utf8' }), 'new');
    assert.deepEqual(execFileSync('unzip', ['-p', zipFile, 'chart.png']), Buffer.alloc(2000, 7));
  });

  it('answers bad ids with 400, unknown chats and files with 404, never a stack', async () => {
    api = await startApi();
    await seed(api, 'c1', { 'a.csv': 'a' });
    const badChat = await api.request.get('/sidecar/v1/chats/..%2Fetc/files').expect(400);
    assert.equal(badChat.body.error.code, 'ERR_INVALID_CHAT_ID');
    const badFile = await api.request.get(url('c1', '/files/bad%20id!/content')).expect(400);
    assert.equal(badFile.body.error.code, 'ERR_INVALID_FILE_ID');
    const unknownChat = await api.request.get(url('nobody', '/files')).expect(404);
    assert.deepEqual(unknownChat.body, { error: { code: 'ERR_CHAT_NOT_FOUND', message: 'No such chat.' } });
    await api.request.get(url('nobody', '/archive.zip')).expect(404);
    const unknownFile = await api.request.get(url('c1', '/files/abc/content')).expect(404);
    assert.equal(unknownFile.body.error.code, 'ERR_FILE_NOT_FOUND');
    const noRoute = await api.request.get('/sidecar/v1/nope').expect(404);
    assert.equal(noRoute.body.error.code, 'ERR_NOT_FOUND');
    await api.request.get('/sidecar/v1/chats/c1/files/%E0%A4%A/content').expect(400);
    // A chat whose workspace exists but has no records yet is known: an empty list.
    await api.workspaces.ensure('fresh');
    assert.deepEqual((await api.request.get(url('fresh', '/files')).expect(200)).body.files, []);
  });

  it('serves neither a symlink to /etc/passwd nor one to another chat', async () => {
    api = await startApi();
    const { symlink } = await import('node:fs/promises');
    await seed(api, 'c2', { 'secret.csv': 'other chat' });
    const dir = await api.workspaces.ensure('c1');
    await symlink('/etc/passwd', path.join(dir, 'passwd.txt'));
    await symlink(path.join(api.workspaces.pathFor('c2'), 'secret.csv'), path.join(dir, 'secret.csv'));
    await api.recorder.scan('c1', { source: 'between-executions' });
    const { files } = (await api.request.get(url('c1', '/files')).expect(200)).body as FileListResponse;
    assert.deepEqual(files, []);
    const archive = await api.request.get(url('c1', '/archive.zip')).buffer(true).parse(binary).expect(200);
    assert.doesNotMatch((archive.body as Buffer).toString('latin1'), /root:|other chat/);
  });

  it('reports skipped files in the list', async () => {
    api = await startApi({ policy: { maxFileBytes: 4 } });
    await seed(api, 'c1', { 'big.csv': '123456789', 'ok.csv': 'ok' });
    const body = (await api.request.get(url('c1', '/files')).expect(200)).body as FileListResponse;
    assert.deepEqual(
      body.files.map((f) => f.path),
      ['ok.csv'],
    );
    assert.deepEqual(
      body.skipped.map((s) => [s.path, s.size, s.reason]),
      [['big.csv', 9, 'too-large']],
    );
  });

  it('answers CORS preflights for configured origins and exposes the download headers', async () => {
    api = await startApi({ corsOrigins: ['https://chat.example'] });
    const preflight = await api.request
      .options(url('c1', '/files'))
      .set('Origin', 'https://chat.example')
      .set('Access-Control-Request-Method', 'GET')
      .set('Access-Control-Request-Headers', 'authorization')
      .expect(204);
    assert.equal(preflight.headers['access-control-allow-origin'], 'https://chat.example');
    assert.match(preflight.headers['access-control-allow-headers'] ?? '', /Authorization/);
    await seed(api, 'c1', { 'a.csv': 'a' });
    const res = await api.request.get(url('c1', '/files')).set('Origin', 'https://chat.example').expect(200);
    assert.match(res.headers['access-control-expose-headers'] ?? '', /Content-Disposition/);
    assert.match(res.headers['access-control-expose-headers'] ?? '', /ETag/);
    const other = await api.request.get(url('c1', '/files')).set('Origin', 'https://evil.example').expect(200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
  });
});
