import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../proxy/storage/blob-store.ts';
import { fakeDisk } from '../support/recorder-fixture.ts';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('blob store', () => {
  let base: string;
  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'blobs-test-'));
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('stores by sha256 under blobs/ab/<sha>, once per content', async () => {
    const blobs = new BlobStore(path.join(base, 'a'));
    const file = path.join(base, 'one.txt');
    await writeFile(file, 'hello');
    const first = await blobs.put(file);
    assert.deepEqual(first, { sha256: sha('hello'), size: 5, created: true });
    assert.equal(blobs.pathFor(first.sha256), path.join(base, 'a', 'blobs', first.sha256.slice(0, 2), first.sha256));
    const second = await blobs.putStream(Readable.from([Buffer.from('hel'), Buffer.from('lo')]));
    assert.deepEqual(second, { sha256: sha('hello'), size: 5, created: false });
    assert.equal((await blobs.list()).length, 1);
    assert.deepEqual(await readdir(blobs.tmpDir), []);
    assert.equal(await text(await blobs.open(first.sha256)), 'hello');
    assert.equal(await text(await blobs.open(first.sha256, { start: 1, end: 3 })), 'ell');
    assert.equal(await blobs.has(first.sha256), true);
    assert.equal(await blobs.remove(first.sha256), true);
    assert.equal(await blobs.has(first.sha256), false);
    await assert.rejects(blobs.open(first.sha256), { code: 'ERR_BLOB_NOT_FOUND' });
    assert.throws(() => blobs.pathFor('../../etc/passwd'), { code: 'ERR_INVALID_SHA' });
  });

  it('refuses a symlink source', async () => {
    const blobs = new BlobStore(path.join(base, 'b'));
    const { symlink } = await import('node:fs/promises');
    await symlink('/etc/passwd', path.join(base, 'link.txt'));
    await assert.rejects(blobs.put(path.join(base, 'link.txt')), { code: 'ERR_BLOB_SOURCE' });
  });

  it('on ENOSPC removes the temp file and throws ERR_BLOB_NO_SPACE', async () => {
    const blobs = new BlobStore(path.join(base, 'c'), { fs: fakeDisk(100_000).fs });
    const big = Readable.from(
      (function* () {
        for (let i = 0; i < 10; i++) yield Buffer.alloc(64 * 1024, i);
      })(),
    );
    await assert.rejects(blobs.putStream(big), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_BLOB_NO_SPACE');
      assert.match(error.message, /No space left/);
      return true;
    });
    assert.deepEqual(await readdir(blobs.tmpDir), []);
    assert.deepEqual(await blobs.list(), []);
  });

  it('stops at maxBytes and removes the temp file', async () => {
    const blobs = new BlobStore(path.join(base, 'd'));
    await assert.rejects(blobs.putStream(Readable.from([Buffer.alloc(10), Buffer.alloc(10)]), { maxBytes: 15 }), {
      code: 'ERR_BLOB_TOO_LARGE',
    });
    assert.deepEqual(await readdir(blobs.tmpDir), []);
  });

  it('removes stale temp files', async () => {
    const blobs = new BlobStore(path.join(base, 'e'));
    await blobs.putStream(Readable.from(['x']));
    await writeFile(path.join(blobs.tmpDir, 'crashed.part'), 'partial');
    assert.equal(await blobs.removeStaleTemp(60_000), 0);
    assert.equal(await blobs.removeStaleTemp(60_000, Date.now() + 120_000), 1);
  });
});
