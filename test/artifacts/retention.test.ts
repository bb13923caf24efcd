import assert from 'node:assert/strict';
import { utimes, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { Retention } from '../../proxy/artifacts/retention.ts';
import { PreviewCache } from '../../proxy/previews/preview-cache.ts';
import { createFixture, type Fixture } from '../support/recorder-fixture.ts';

const HOUR = 60 * 60 * 1000;

describe('retention', () => {
  let fx: Fixture;
  afterEach(() => fx.cleanup());

  const retention = (options = {}, now = () => Date.now() + 2 * HOUR, blobCaches: PreviewCache[] = []) =>
    new Retention(
      { store: fx.store, blobs: fx.blobs, recorder: fx.recorder, workspaces: fx.workspaces, now, blobCaches },
      options,
    );

  it('removes blobs no record points to, after the grace period only', async () => {
    fx = await createFixture();
    await fx.write('c1', 'kept.csv', 'kept');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    const orphan = await fx.blobs.putStream(Readable.from(['orphan: blob stored, record never written']));
    assert.equal(
      (await retention({}, () => Date.now()).sweep()).blobsRemoved,
      0,
      'just written: within the grace period',
    );
    const result = await retention().sweep();
    assert.equal(result.blobsRemoved, 1);
    assert.equal(await fx.blobs.has(orphan.sha256), false);
    const [record] = await fx.store.listChat('c1');
    assert.equal(await fx.blobs.has(record!.sha256), true);
  });

  it('cached previews and diffs of collected blobs go with them; those of kept blobs stay', async () => {
    fx = await createFixture();
    await fx.write('c1', 'kept.csv', 'kept');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    const [kept] = await fx.store.listChat('c1');
    const orphan = await fx.blobs.putStream(Readable.from(['orphan: a version whose record is gone']));
    const cache = new PreviewCache(path.join(fx.dataDir, 'previews'));
    const render = async () => ({ text: '{"ok":true,"value":{}}', store: true });
    await cache.getOrRender(kept!.sha256, 'aaaa', render);
    await cache.getOrRender(orphan.sha256, 'aaaa', render);
    // A diff is stored under its newer version, keyed by the older one: it goes when either goes.
    await cache.getOrRender(kept!.sha256, `bbbb-${orphan.sha256}`, render);
    await cache.getOrRender(orphan.sha256, `bbbb-${kept!.sha256}`, render);
    // A temp file a crash left behind, hours old.
    const temp = `${cache.fileFor(kept!.sha256, 'cccc')}.0000.tmp`;
    await writeFile(temp, '{');
    const longAgo = new Date(Date.now() - 2 * HOUR);
    await utimes(temp, longAgo, longAgo);
    const result = await retention({}, undefined, [cache]).sweep();
    assert.equal(result.blobsRemoved, 1);
    assert.equal(result.cachedRemoved, 3);
    const left = (await readdir(path.dirname(cache.fileFor(kept!.sha256, 'x')))).sort();
    assert.deepEqual(left, [path.basename(cache.fileFor(kept!.sha256, 'aaaa'))]);
    assert.deepEqual(await readdir(path.dirname(cache.fileFor(orphan.sha256, 'x'))).catch(() => []), []);
  });

  it('does not collect blobs while a scan is running', async () => {
    fx = await createFixture();
    await fx.blobs.putStream(Readable.from(['orphan']));
    await fx.write('c1', 'a.csv', 'a');
    const scan = fx.recorder.scan('c1', { source: 'between-executions' });
    const result = await retention().sweep();
    await scan;
    assert.equal(result.blobsSwept, false);
    assert.equal((await fx.blobs.list()).length, 2);
  });

  it('deletes old workspace files only when configured, and keeps their records', async () => {
    fx = await createFixture();
    const old = await fx.write('c1', 'old.csv', 'old');
    await fx.write('c1', 'new.csv', 'new');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    const longAgo = new Date(Date.now() - 40 * 24 * HOUR);
    await utimes(old, longAgo, longAgo);
    const now = new Date();
    await utimes(path.join(fx.workspaces.pathFor('c1'), 'new.csv'), now, now);
    assert.equal((await retention().sweep()).workspaceFilesRemoved, 0, 'off by default');
    assert.equal((await retention({ workspaceMaxAgeDays: 30 }, Date.now).sweep()).workspaceFilesRemoved, 1);
    assert.deepEqual(await readdir(fx.workspaces.pathFor('c1')), ['new.csv']);
    assert.equal((await fx.store.listChat('c1')).length, 2);
  });
});
