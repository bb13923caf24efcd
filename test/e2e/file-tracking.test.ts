/**
 * Files written by code that runs through the sidecar, in a real Jupyter Server: recorded,
 * versioned, listed and downloadable byte for byte, for that chat only.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FileListResponse, FileSummary } from '../../contract/files-api.ts';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';
import { signToken } from '../support/tokens.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';

const SECRET = 'test-secret-that-is-at-least-32-bytes-long!';
let bed: TestBed;
let proxy: RunningSidecar;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
});
after(async () => {
  await proxy?.stop();
  await bed?.stop();
});

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const tokenFor = (chat: string) => signToken(SECRET, { chat });

async function openChat(chat: string, format: 'legacy' | 'v1' = 'legacy'): Promise<RawKernelClient> {
  const base = `${proxy.url}chats/${chat}/`;
  const res = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  const { id } = (await res.json()) as { id: string };
  return RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    format,
  );
}

async function listFiles(chat: string, token?: string): Promise<{ status: number; body: FileListResponse }> {
  const res = await fetch(`${proxy.url}sidecar/v1/chats/${chat}/files`, {
    headers: { authorization: `Bearer ${token ?? (await tokenFor(chat))}` },
  });
  return { status: res.status, body: (await res.json()) as FileListResponse };
}

async function download(
  chat: string,
  file: { downloadUrl: string },
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(new URL(file.downloadUrl, proxy.url), {
    headers: { authorization: `Bearer ${await tokenFor(chat)}`, ...headers },
  });
}

const byPath = (files: FileSummary[], p: string) => files.find((f) => f.path === p);

describe('files written through the sidecar', () => {
  test('Excel, CSV, PDF and PNG (in a subfolder) are listed with the right facts and download byte-identical', async () => {
    const chat = 'reports';
    const client = await openChat(chat);
    const run = await client.execute(
      [
        'import pandas as pd, matplotlib, os',
        "matplotlib.use('Agg')",
        'import matplotlib.pyplot as plt',
        'from reportlab.pdfgen import canvas',
        "df = pd.DataFrame({'region': ['north', 'south'], 'sales': [120, 80]})",
        "df.to_excel('/mnt/data/report.xlsx', index=False)",
        "df.to_csv('/mnt/data/report.csv', index=False)",
        "c = canvas.Canvas('/mnt/data/summary.pdf'); c.drawString(72, 720, 'Sales summary'); c.save()",
        "os.makedirs('/mnt/data/charts', exist_ok=True)",
        "plt.plot([1, 2, 3]); plt.savefig('/mnt/data/charts/sales.png')",
        "open('/mnt/data/.hidden.csv', 'w').write('x')",
      ].join('\n'),
    );
    assert.equal(run.reply?.content.status, 'ok', JSON.stringify(run.reply?.content));
    // The reply arrives only once the files are recorded: no waiting needed.
    const { status, body } = await listFiles(chat);
    assert.equal(status, 200);
    assert.deepEqual(body.files.map((f) => f.path).sort(), [
      'charts/sales.png',
      'report.csv',
      'report.xlsx',
      'summary.pdf',
    ]);
    const expected: Record<string, string> = {
      'report.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'report.csv': 'text/csv',
      'summary.pdf': 'application/pdf',
      'charts/sales.png': 'image/png',
    };
    for (const [p, mime] of Object.entries(expected)) {
      const file = byPath(body.files, p)!;
      const onDisk = await readFile(path.join(bed.workspaceRoot, chat, p));
      assert.equal(file.name, path.posix.basename(p));
      assert.equal(file.mimeType, mime);
      assert.equal(file.size, onDisk.length);
      assert.equal(file.sha256, sha256(onDisk));
      assert.equal(file.version, 1);
      assert.equal(file.execution?.msgId, run.reply?.parent_header.msg_id);
      const res = await download(chat, file);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type')?.split(';')[0], mime);
      assert.match(
        res.headers.get('content-disposition') ?? '',
        new RegExp(`attachment; filename="${file.name.replace('.', '\\.')}"`),
      );
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), onDisk);
    }
    await client.close();
  });

  test('regenerating gives version 2 with both downloadable; an unchanged file is not re-recorded', async () => {
    const chat = 'versions';
    const client = await openChat(chat, 'v1');
    await client.execute(
      "open('/mnt/data/report.txt', 'w').write('first')\nopen('/mnt/data/keep.txt', 'w').write('same')",
    );
    await client.execute("open('/mnt/data/report.txt', 'w').write('second, longer')");
    await client.execute("open('/mnt/data/keep.txt', 'w').write('same')"); // same bytes, new mtime
    const { body } = await listFiles(chat);
    const report = byPath(body.files, 'report.txt')!;
    assert.equal(report.version, 2);
    assert.deepEqual(
      report.versions.map((v) => v.version),
      [2, 1],
    );
    assert.equal(await (await download(chat, report.versions[0]!)).text(), 'second, longer');
    assert.equal(await (await download(chat, report.versions[1]!)).text(), 'first');
    assert.equal(byPath(body.files, 'keep.txt')!.versions.length, 1);
    await client.close();
  });

  test('a file written by a silent execution is found by the next one', async () => {
    const chat = 'silent';
    const client = await openChat(chat);
    await client.execute("open('/mnt/data/quiet.csv', 'w').write('a\\n1\\n')", { silent: true });
    assert.equal((await listFiles(chat)).body.files.length, 0);
    await client.execute('1 + 1');
    const quiet = byPath((await listFiles(chat)).body.files, 'quiet.csv');
    assert.equal(quiet?.source, 'between-executions');
    await client.close();
  });

  test('tokens: another chat gets 404, a bad token 401; Range gives 206', async () => {
    const chat = 'private';
    const client = await openChat(chat);
    await client.execute("open('/mnt/data/data.json', 'w').write('0123456789')");
    const { body } = await listFiles(chat);
    const file = byPath(body.files, 'data.json')!;
    assert.equal((await listFiles(chat, await tokenFor('someone-else'))).status, 404);
    const other = await fetch(new URL(file.downloadUrl, proxy.url), {
      headers: { authorization: `Bearer ${await tokenFor('someone-else')}` },
    });
    assert.equal(other.status, 404);
    assert.equal((await listFiles(chat, 'not-a-token')).status, 401);
    assert.equal((await fetch(`${proxy.url}sidecar/v1/chats/${chat}/files`)).status, 401);
    const ranged = await download(chat, file, { range: 'bytes=2-5' });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), '2345');
    await client.close();
  });

  test('the event stream announces a new file', async () => {
    const chat = 'live';
    const client = await openChat(chat);
    const token = await tokenFor(chat);
    let connected!: () => void;
    const subscribed = new Promise<void>((resolve) => (connected = resolve));
    const event = new Promise<string>((resolve, reject) => {
      const req = http.get(`${proxy.url}sidecar/v1/chats/${chat}/events?token=${token}`, (res) => {
        assert.equal(res.headers['content-type']?.split(';')[0], 'text/event-stream');
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          // The sidecar subscribes in the same turn as it writes this comment.
          if (buffer.includes(': connected')) connected();
          const match = /event: file\ndata: (.*)\n/.exec(buffer);
          if (match) {
            resolve(match[1]!);
            req.destroy();
          }
        });
      });
      req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
      setTimeout(() => reject(new Error('no file event')), 20_000).unref();
    });
    await subscribed;
    await client.execute("open('/mnt/data/fresh.md', 'w').write('# hi')");
    const summary = JSON.parse(await event) as FileSummary;
    assert.equal(summary.path, 'fresh.md');
    await client.close();
  });

  test('a sidecar restart keeps every record', async () => {
    const chat = 'durable';
    const client = await openChat(chat);
    await client.execute("open('/mnt/data/a.txt', 'w').write('a')");
    await client.close();
    const before = (await listFiles(chat)).body.files;
    await proxy.stop();
    proxy = await startSidecar(bed, { port: String(new URL(proxy.url).port) }, {}, { FILES_API_SECRET: SECRET });
    const afterRestart = (await listFiles(chat)).body.files;
    assert.deepEqual(afterRestart, before);
  });
});

describe('killing the sidecar during a burst of writes', () => {
  test('leaves a valid store where every record has its bytes', async () => {
    const dataDir = path.join(bed.dir, 'kill-store');
    const script = `
      import { startSidecar } from ${JSON.stringify(path.resolve('test/support/harness.ts'))};
      import { RawKernelClient } from ${JSON.stringify(path.resolve('test/support/raw-kernel-client.ts'))};
      const bed = { dir: ${JSON.stringify(bed.dir)}, workspaceRoot: ${JSON.stringify(bed.workspaceRoot)}, jupyter: { url: ${JSON.stringify(bed.jupyter.url)}, token: ${JSON.stringify(bed.jupyter.token)} } };
      const proxy = await startSidecar(bed, { 'data-dir': ${JSON.stringify(dataDir)} });
      const base = proxy.url + 'chats/burst/';
      const { id } = await (await fetch(base + 'api/kernels?token=' + bed.jupyter.token, { method: 'POST' })).json();
      const client = await RawKernelClient.connect(base.replace('http', 'ws') + 'api/kernels/' + id + '/channels?token=' + bed.jupyter.token, 'legacy');
      for (let i = 0; ; i++) {
        await client.execute("import os\\nfor j in range(5): open(f'/mnt/data/f{j}.txt', 'w').write(os.urandom(2000).hex())");
        if (i === 2) process.stdout.write('ready\\n');
      }
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`burst child exited early (${code})`)));
    });
    child.kill('SIGKILL'); // at once: three executions are recorded and the fourth is under way
    await new Promise((r) => child.once('exit', r));

    const records = await new LowdbRecordStore(dataDir).listChat('burst');
    assert.ok(records.length >= 15, `expected at least 15 records, got ${records.length}`);
    const blobs = new Set<string>();
    for (const dir of await readdir(path.join(dataDir, 'blobs'))) {
      for (const name of await readdir(path.join(dataDir, 'blobs', dir))) blobs.add(name);
    }
    for (const record of records) assert.ok(blobs.has(record.sha256), `blob ${record.sha256} missing`);
    // A sidecar started on the same store reads it, and finds what changed while it was down.
    const again = await startSidecar(bed, { 'data-dir': dataDir }, {}, { FILES_API_SECRET: SECRET });
    const res = await fetch(`${again.url}sidecar/v1/chats/burst/files`, {
      headers: { authorization: `Bearer ${await tokenFor('burst')}` },
    });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as FileListResponse).files.length, 5);
    await again.stop();
  });
});
