/**
 * The blob store on a folder two processes share (what several sidecars on one volume do):
 * writing the same and different blobs at once loses none and corrupts none (temp file +
 * rename), and retention's removal never takes a blob a writer is reusing.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { Readable } from 'node:stream';
import { BlobStore } from '../../../proxy/storage/blob-store.ts';

const run = promisify(execFile);
const child = path.resolve(import.meta.dirname, 'blob-writer-child.ts');
let base: string;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'shared-blobs-'));
});
after(() => rm(base, { recursive: true, force: true }));

describe('a blob store shared by two processes', () => {
  it('keeps every blob whole when both write the same and different bytes at once', async () => {
    const dataDir = path.join(base, 'store');
    const outputs = await Promise.all(
      ['p1', 'p2'].map((tag) =>
        run(process.execPath, ['--import', 'tsx', child, dataDir, tag], { maxBuffer: 1 << 20 }),
      ),
    );
    const puts = outputs.flatMap((o) => JSON.parse(o.stdout) as Array<{ sha256: string; expected: string }>);
    for (const put of puts) assert.equal(put.sha256, put.expected);
    const blobs = new BlobStore(dataDir);
    const stored = await blobs.list();
    assert.equal(stored.length, new Set(puts.map((p) => p.sha256)).size, '20 shared + 2 × 20 own, none lost');
    for (const blob of stored) {
      assert.equal(
        createHash('sha256')
          .update(await readFile(path.join(blobs.dir, blob.sha256.slice(0, 2), blob.sha256)))
          .digest('hex'),
        blob.sha256,
      );
    }
    assert.deepEqual(await readdir(blobs.tmpDir), [], 'no temp file left');
  });

  it('does not remove a blob another writer touched after the sweep listed it', async () => {
    const blobs = new BlobStore(path.join(base, 'sweep'));
    const old = await blobs.putStream(Readable.from(['old bytes']));
    const file = path.join(blobs.dir, old.sha256.slice(0, 2), old.sha256);
    await utimes(file, new Date(0), new Date(0));
    const cutoff = Date.now() - 60_000;
    // The sweep listed it as old; then a writer stores the same bytes (touching it) before the removal.
    await blobs.putStream(Readable.from(['old bytes']));
    assert.equal(await blobs.removeUnlessTouchedSince(old.sha256, cutoff), false);
    assert.equal(await blobs.has(old.sha256), true);
    await utimes(file, new Date(0), new Date(0));
    assert.equal(await blobs.removeUnlessTouchedSince(old.sha256, cutoff), true);
    assert.equal(await blobs.has(old.sha256), false);
    assert.deepEqual(await readdir(blobs.tmpDir), []);
  });
});
