/**
 * The disk fills up while a file is being copied into the blob store. The error says so, no
 * half-written blob or temp file is left, no record points at bytes that are not there, and the
 * file is recorded by the next scan once there is room again.
 *
 * createSidecar builds its BlobStore itself, with no seam for the file system. So the disk is
 * filled two ways: at the recorder level through the BlobStore's `fs` seam (always), and for a
 * whole sidecar with a real, tiny tmpfs mounted on its blob folder (only where the test may
 * mount: root with CAP_SYS_ADMIN; skipped elsewhere).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { signToken } from '../support/tokens.ts';
import { RECORDER_DEFAULTS } from '../support/recorder-fixture.ts';
import { filesApiParts } from '../support/api-fixture.ts';
import type { FileListResponse } from '../../contract/files-api.ts';
import { createFilesApi } from '../../proxy/api/files-routes.ts';
import { ArtifactRecorder } from '../../proxy/artifacts/artifact-recorder.ts';
import type { BlobFs, BlobStore } from '../../proxy/storage/blob-store.ts';
import { openStores, type OpenedStores } from '../../proxy/storage/open-stores.ts';
import type { RecordStore } from '../../proxy/storage/record-store.ts';
import { quietLogger } from '../../proxy/logger.ts';
import { Workspaces } from '../../proxy/chats/workspaces.ts';
import { startSidecar, startTestBed, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { lost, reportAfter, survived } from './reliability-counter.ts';
import { listTree, rawRequest } from './reliability-helpers.ts';

reportAfter('disk-full');

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), {
    code: 'ENOSPC',
    errno: -28,
    syscall: 'write',
  });
}

/**
 * A blob-store file system with `room` bytes left: writes into temp files succeed until the room
 * is used up, the write that crosses it stores what fits and then fails with ENOSPC, like a
 * real disk filling up mid-copy.
 */
function fillingFs(state: { room: number }): Partial<BlobFs> {
  return {
    async open(file, flags, mode) {
      const handle = await fsp.open(file, flags, mode);
      if (flags !== 'wx') return handle;
      return new Proxy(handle, {
        get(target, prop) {
          if (prop === 'write') {
            return async (buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset) => {
              if (state.room <= 0) throw enospc();
              const fits = Math.min(length, state.room);
              const { bytesWritten } = await target.write(buffer, offset, fits);
              state.room -= bytesWritten;
              return { bytesWritten, buffer };
            };
          }
          const value = Reflect.get(target, prop, target) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      }) as FileHandle;
    },
  };
}

/** Every blob file (not temp files) and every temp file under the blob folder. */
async function blobFiles(blobDir: string): Promise<{ blobs: string[]; temps: string[] }> {
  const all = await listTree(blobDir);
  return {
    blobs: all.filter((e) => /^[0-9a-f]{2}\/[0-9a-f]{64} /.test(e)).map((e) => e.split(/[/ ]/)[1]!),
    temps: all.filter((e) => e.startsWith('tmp/') && !e.endsWith('/')),
  };
}

describe('recorder level: the BlobStore fs seam fills the disk mid-copy', () => {
  let base: string;
  let stores: OpenedStores;
  let store: RecordStore;
  let blobs: BlobStore;
  let recorder: ArtifactRecorder;
  let workspaces: Workspaces;
  const disk = { room: 10_000 };
  const errors: string[] = [];

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'gf-diskfull-'));
    const dataDir = path.join(base, 'data');
    workspaces = new Workspaces(path.join(base, 'workspaces'));
    stores = await openStores(
      { dataDir, databaseUrl: null, databasePoolSize: 1, blobFs: fillingFs(disk) },
      quietLogger,
    );
    ({ store, blobs } = stores);
    const log = (...args: unknown[]) => errors.push(args.map(String).join(' '));
    recorder = new ArtifactRecorder({
      store,
      blobs,
      events: stores.events,
      workspaces,
      logger: { info() {}, warn: log, error: log },
      ...RECORDER_DEFAULTS,
    });
  });
  after(async () => {
    await stores.close();
    await rm(base, { recursive: true, force: true });
  });

  test('a scan: the file that does not fit is reported, not recorded, and leaves nothing behind', async () => {
    const dir = await workspaces.ensure('chat');
    const small = 's'.repeat(2_000);
    const big = Buffer.alloc(300_000, 'b');
    await writeFile(path.join(dir, 'small.txt'), small);
    await writeFile(path.join(dir, 'big.csv'), big);

    const result = await recorder.scan('chat', { source: 'between-executions' });
    assert.deepEqual(
      result.recorded.map((r) => r.path),
      ['small.txt'],
    );
    assert.deepEqual(
      result.skipped.map((s) => [s.path, s.reason]),
      [['big.csv', 'copy-failed']],
    );
    assert.ok(
      errors.some((e) => e.includes('big.csv') && e.includes('ERR_BLOB_NO_SPACE') && /no space left/i.test(e)),
      errors.join('\n'),
    );
    const files = await blobFiles(blobs.dir);
    assert.deepEqual(files.temps, [], 'no temp file left');
    assert.deepEqual(files.blobs, [sha256(small)], 'only complete blobs');
    const records = await store.listChat('chat');
    for (const record of records) assert.ok(await blobs.has(record.sha256));
    assert.ok(!records.some((r) => r.path === 'big.csv'), 'no record without bytes');
    survived();
  });

  test('an upload while the disk is full: 507 with a clear error, nothing written into the workspace', async () => {
    const app = express();
    app.use(
      '/sidecar/v1',
      createFilesApi({
        store,
        blobs,
        recorder,
        workspaces,
        ...filesApiParts({ blobs, dataDir: path.join(base, 'data') }),
      }),
    );
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      const res = await rawRequest(url, 'PUT', '/sidecar/v1/chats/chat/uploads/uploaded.csv', {
        body: Buffer.alloc(50_000, 'u'),
      });
      assert.equal(res.status, 507, res.body.toString());
      assert.deepEqual(res.json(), {
        error: { code: 'ERR_BLOB_NO_SPACE', message: 'The sidecar has no disk space left.' },
      });
      assert.deepEqual((await blobFiles(blobs.dir)).temps, []);
      assert.deepEqual((await readdir(workspaces.pathFor('chat'))).sort(), ['big.csv', 'small.txt']);
      assert.ok(!(await store.listChat('chat')).some((r) => r.path === 'uploaded.csv'));
      survived();
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('once there is room, the next scan records the file', async () => {
    disk.room = Infinity;
    const result = await recorder.scan('chat', {
      source: 'execution',
      execution: { kernelId: 'k', msgId: 'm', owner: null },
    });
    assert.deepEqual(
      result.recorded.map((r) => r.path),
      ['big.csv'],
    );
    const record = result.recorded[0]!;
    assert.equal(record.sha256, sha256(Buffer.alloc(300_000, 'b')));
    assert.equal(sha256(await readFile(blobs.pathFor(record.sha256))), record.sha256);
    assert.deepEqual(await store.listSkipped('chat'), []);
    assert.deepEqual((await blobFiles(blobs.dir)).temps, []);
    const records = await store.listChat('chat');
    let missing = 0;
    for (const r of records) if (!(await blobs.has(r.sha256))) missing++;
    lost(missing + (records.some((r) => r.path === 'big.csv') ? 0 : 1));
    assert.equal(missing, 0);
    survived();
  });
});

/** Mount a tmpfs of `size` on `dir`; false where this process may not mount. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('a whole sidecar whose blob folder is a tiny tmpfs', () => {
  let bed: TestBed;
  let blobDir: string;
  let mounted = false;

  before(async () => {
    bed = await startTestBed();
    blobDir = path.join(bed.dir, 'store', 'blobs');
    await mkdir(blobDir, { recursive: true });
    mounted = mountTmpfs(blobDir, '256k');
  });
  after(async () => {
    if (mounted) execFileSync('umount', [blobDir]);
    await bed?.stop();
  });

  test('a real ENOSPC: reported as skipped, nothing half-written, recorded once the disk has room', async (t) => {
    if (!mounted) return t.skip('cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
    const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
    const proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
    const headers = { authorization: `Bearer ${await signToken(SECRET, { chat: 'full' })}` };
    try {
      const base = `${proxy.url}chats/full/`;
      const { id } = (await (
        await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' })
      ).json()) as { id: string };
      const client = await RawKernelClient.connect(
        `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
        'legacy',
      );
      const run = await client.execute(
        "open('/mnt/data/big.csv', 'w').write('x' * 600_000)\nopen('/mnt/data/small.csv', 'w').write('a,b\\n')",
      );
      assert.equal(run.reply?.content.status, 'ok');
      let list = (await (
        await fetch(`${proxy.url}sidecar/v1/chats/full/files`, { headers })
      ).json()) as FileListResponse;
      assert.deepEqual(
        list.files.map((f) => f.path),
        ['small.csv'],
      );
      assert.deepEqual(
        list.skipped.map((s) => [s.path, s.reason]),
        [['big.csv', 'copy-failed']],
      );
      const files = await blobFiles(blobDir);
      assert.deepEqual(files.temps, [], 'no temp file left on the full disk');
      assert.deepEqual(files.blobs, [sha256('a,b\n')]);
      survived();

      execFileSync('mount', ['-o', 'remount,size=4m', blobDir]);
      await client.execute('1 + 1');
      list = (await (await fetch(`${proxy.url}sidecar/v1/chats/full/files`, { headers })).json()) as FileListResponse;
      const big = list.files.find((f) => f.path === 'big.csv');
      if (!big) lost(1);
      assert.ok(big, 'recorded once there is room');
      assert.deepEqual(list.skipped, []);
      const download = await rawRequest(proxy.url, 'GET', big.downloadUrl, { headers });
      assert.equal(download.body.length, 600_000);
      assert.equal(sha256(download.body), big.sha256);
      await client.close();
      survived();
    } finally {
      await proxy.stop();
    }
  });
});
