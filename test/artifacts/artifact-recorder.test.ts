import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, symlink, unlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { afterEach, describe, it } from 'node:test';
import { createFixture, execution, fakeDisk, type Fixture } from '../support/recorder-fixture.ts';
import { defaultOf } from '../../proxy/options.ts';

const UPLOAD = { maxBytes: defaultOf('uploadMaxBytes') };

describe('artifact recorder', () => {
  let fx: Fixture;
  afterEach(() => fx.cleanup());

  it('records new files at execution end, attributed to the execution', async () => {
    fx = await createFixture();
    await fx.recorder.executionStarted('c1', execution('m1', 'alice'));
    await fx.write('c1', 'out/report.xlsx', 'xlsx bytes');
    await fx.write('c1', 'script.py', 'not tracked');
    await fx.recorder.executionEnded('c1', execution('m1', 'alice'), 'completed');
    const [record, ...rest] = await fx.store.listChat('c1');
    assert.equal(rest.length, 0);
    assert.equal(record!.path, 'out/report.xlsx');
    assert.equal(record!.name, 'report.xlsx');
    assert.equal(record!.format, 'Excel workbook');
    assert.equal(record!.version, 1);
    assert.equal(record!.source, 'execution');
    assert.deepEqual(record!.execution, { kernelId: 'k1', msgId: 'm1' });
    assert.equal(record!.owner, 'alice');
    assert.equal(await text(await fx.blobs.open(record!.sha256)), 'xlsx bytes');
    assert.equal(await fx.store.getOwner('c1'), 'alice');
  });

  it('records a regenerated file as v2, keeps v1, and does not re-record unchanged or touched files', async () => {
    fx = await createFixture();
    await fx.write('c1', 'data.csv', 'a\n1\n');
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m2') });
    const file = await fx.write('c1', 'data.csv', 'a\n1\n'); // same bytes, new mtime
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m3') });
    assert.equal((await fx.store.listChat('c1')).length, 1);
    await fx.write('c1', 'data.csv', 'a\n2\n');
    const { recorded } = await fx.recorder.scan('c1', { source: 'execution', execution: execution('m4') });
    assert.equal(recorded[0]?.version, 2);
    const [v1, v2] = await fx.store.listChat('c1');
    assert.equal(await text(await fx.blobs.open(v1!.sha256)), 'a\n1\n');
    assert.equal(await text(await fx.blobs.open(v2!.sha256)), 'a\n2\n');
    // Back to the v1 bytes: a new version (v3), but the blob is shared.
    await writeFile(file, 'a\n1\n');
    await utimes(file, new Date(Date.UTC(2030, 0, 1)), new Date(Date.UTC(2030, 0, 1)));
    const again = await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.equal(again.recorded[0]?.version, 3);
    assert.equal(again.recorded[0]?.sha256, v1!.sha256);
    assert.equal((await fx.blobs.list()).length, 2, 'same bytes are stored once');
  });

  it('keeps known state for a bounded number of chats, and a dropped state loses nothing', async () => {
    fx = await createFixture({ maxCachedChats: 2 });
    const chats = ['c0', 'c1', 'c2', 'c3', 'c4'];
    for (const chatId of chats) {
      await fx.write(chatId, 'kept.csv', `${chatId} unchanged`);
      await fx.write(chatId, 'report.csv', `${chatId} v1`);
      await fx.recorder.scan(chatId, { source: 'execution', execution: execution(`${chatId}-m1`) });
    }
    assert.ok(fx.recorder.cachedChats <= 2, `${fx.recorder.cachedChats} chat states in memory`);
    // c0's state was dropped: rebuilt from the store, an unchanged file is not recorded again, a changed one is v2.
    await fx.write('c0', 'report.csv', 'c0 v2');
    const { recorded } = await fx.recorder.scan('c0', { source: 'execution', execution: execution('c0-m2') });
    assert.deepEqual(
      recorded.map((r) => [r.path, r.version]),
      [['report.csv', 2]],
    );
    for (const chatId of chats) assert.equal((await fx.store.listChat(chatId)).length, chatId === 'c0' ? 3 : 2);
  });

  it('dedups blobs across paths and chats', async () => {
    fx = await createFixture();
    await fx.write('c1', 'a.txt', 'same');
    await fx.write('c1', 'b.txt', 'same');
    await fx.write('c2', 'c.txt', 'same');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    await fx.recorder.scan('c2', { source: 'between-executions' });
    assert.equal((await fx.store.listChat('c1')).length + (await fx.store.listChat('c2')).length, 3);
    assert.equal((await fx.blobs.list()).length, 1);
  });

  it('after a restart: unchanged files are not re-recorded, files changed while down are found', async () => {
    fx = await createFixture();
    await fx.write('c1', 'keep.csv', 'keep');
    await fx.write('c1', 'edit.csv', 'before');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    await fx.store.close();
    await fx.write('c1', 'edit.csv', 'after!');
    await fx.write('c1', 'new.json', '{}');
    const restarted = await fx.restart();
    await restarted.recorder.executionStarted('c1', execution('m9'));
    const records = await restarted.store.listChat('c1');
    assert.deepEqual(records.map((r) => `${r.path}@${r.version}:${r.source}`).sort(), [
      'edit.csv@1:between-executions',
      'edit.csv@2:between-executions',
      'keep.csv@1:between-executions',
      'new.json@1:between-executions',
    ]);
  });

  it('two concurrent scans of one chat neither lose nor double-count files', async () => {
    fx = await createFixture();
    for (let i = 0; i < 30; i++) await fx.write('c1', `f${i}.txt`, `file ${i}`);
    const [a, b] = await Promise.all([
      fx.recorder.executionEnded('c1', { kernelId: 'k1', msgId: 'a', owner: null }, 'completed'),
      fx.recorder.executionEnded('c1', { kernelId: 'k2', msgId: 'b', owner: null }, 'completed'),
    ]);
    // Each returns what its own scan recorded (the file card's content): together, every file once.
    assert.equal(a!.recorded.length + b!.recorded.length, 30);
    const records = await fx.store.listChat('c1');
    assert.equal(records.length, 30);
    assert.equal(new Set(records.map((r) => r.path)).size, 30);
    assert.ok(records.every((r) => r.version === 1));
  });

  it('never records symlinks: to /etc/passwd, to another chat, through a symlinked folder', async () => {
    fx = await createFixture();
    await fx.write('c2', 'secret.csv', 'other chat');
    const dir = await fx.workspaces.ensure('c1');
    await symlink('/etc/passwd', path.join(dir, 'passwd.txt'));
    await symlink(path.join(fx.workspaces.pathFor('c2'), 'secret.csv'), path.join(dir, 'stolen.csv'));
    await symlink(fx.workspaces.pathFor('c2'), path.join(dir, 'c2-folder'));
    await fx.write('c1', 'real.csv', 'mine');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.deepEqual(
      (await fx.store.listChat('c1')).map((r) => r.path),
      ['real.csv'],
    );
  });

  it('skips hidden files and reports too-large files once', async () => {
    fx = await createFixture({ policy: { maxFileBytes: 10 } });
    let signals = 0;
    fx.recorder.events.on('c1', () => signals++);
    await fx.write('c1', '.ipynb_checkpoints/x-checkpoint.csv', 'x');
    await fx.write('c1', '.hidden.csv', 'x');
    await fx.write('c1', '~$lock.xlsx', 'x');
    await fx.write('c1', 'big.csv', '0123456789ABC');
    await fx.write('c1', 'ok.csv', 'fine');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.deepEqual(
      (await fx.store.listChat('c1')).map((r) => r.path),
      ['ok.csv'],
    );
    const events = await fx.store.eventsAfter('c1', 0);
    assert.deepEqual(
      events
        .map((e) => (e.type === 'file' ? `file:${e.path}` : `skipped:${e.skipped.path}:${e.skipped.reason}`))
        .sort(),
      ['file:ok.csv', 'skipped:big.csv:too-large'],
    );
    assert.deepEqual(
      events.map((e) => e.seq),
      [1, 2],
    );
    assert.ok(signals >= 1, 'subscribers are told');
    const [skipped] = await fx.store.listSkipped('c1');
    assert.equal(skipped?.size, 13);
    // Shrunk below the limit: recorded, and no longer skipped.
    await fx.write('c1', 'big.csv', 'small');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.deepEqual(await fx.store.listSkipped('c1'), []);
    assert.equal((await fx.store.listChat('c1')).length, 2);
  });

  it('enforces the per-chat quota', async () => {
    fx = await createFixture({ policy: { quotaBytes: 10 } });
    await fx.write('c1', 'a.txt', '123456');
    await fx.write('c1', 'b.txt', '123456');
    const { recorded, skipped } = await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.equal(recorded.length, 1);
    assert.deepEqual(
      skipped.map((s) => s.reason),
      ['quota-exceeded'],
    );
  });

  it('on ENOSPC: no record, no temp file, reported copy-failed, retried once space is back', async () => {
    const disk = fakeDisk(0);
    fx = await createFixture({ blobFs: disk.fs });
    await fx.write('c1', 'report.pdf', 'pdf bytes');
    const first = await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.deepEqual(first.recorded, []);
    assert.deepEqual(
      first.skipped.map((s) => s.reason),
      ['copy-failed'],
    );
    assert.deepEqual(await fx.store.listChat('c1'), []);
    assert.deepEqual(await readdir(fx.blobs.tmpDir), []);
    assert.deepEqual(await fx.blobs.list(), []);
    disk.freeBytes = Number.POSITIVE_INFINITY;
    const second = await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.equal(second.recorded.length, 1);
    assert.deepEqual(await fx.store.listSkipped('c1'), []);
  });

  it('records uploads into the workspace with source upload', async () => {
    fx = await createFixture();
    const record = await fx.recorder.recordUpload('c1', 'in/data.csv', Readable.from(['x,y\n']), 'carol', UPLOAD);
    assert.equal(record.source, 'upload');
    assert.equal(record.owner, 'carol');
    assert.equal(record.path, 'in/data.csv');
    // A following scan does not record the uploaded file again.
    assert.deepEqual((await fx.recorder.scan('c1', { source: 'between-executions' })).recorded, []);
    await assert.rejects(fx.recorder.recordUpload('c1', '../x.csv', Readable.from(['x']), null, UPLOAD), {
      code: 'ERR_INVALID_PATH',
    });
    await assert.rejects(fx.recorder.recordUpload('c1', '.env', Readable.from(['x']), null, UPLOAD), {
      code: 'ERR_INVALID_PATH',
    });
    await assert.rejects(
      fx.recorder.recordUpload('c1', 'big.csv', Readable.from(['0123456789']), null, { maxBytes: 5 }),
      {
        code: 'ERR_UPLOAD_TOO_LARGE',
      },
    );
    await mkdir(path.join(fx.base, 'outside'));
    await symlink(path.join(fx.base, 'outside'), path.join(fx.workspaces.pathFor('c1'), 'escape'));
    await assert.rejects(fx.recorder.recordUpload('c1', 'escape/x.csv', Readable.from(['x']), null, UPLOAD), {
      code: 'ERR_PATH_OUTSIDE_WORKSPACE',
    });
    assert.deepEqual(await readdir(path.join(fx.base, 'outside')), []);
  });

  it('a file changed during the copy: the record matches the stored bytes, the next scan records the rest', async () => {
    let source = '';
    let changed = false;
    fx = await createFixture({
      blobFs: {
        async open(file, flags, mode) {
          const handle = await open(file, flags, mode);
          if (flags !== 'wx') return handle;
          const write = handle.write.bind(handle) as (
            b: Uint8Array,
            o?: number,
            l?: number,
          ) => Promise<{ bytesWritten: number }>;
          return Object.assign(handle, {
            async write(buffer: Uint8Array, offset?: number, length?: number) {
              if (!changed) {
                changed = true;
                // The kernel rewrites the start of the file after the copy read past it.
                await writeFile(source, 'YYYY', { flag: 'r+' });
              }
              return write(buffer, offset, length);
            },
          });
        },
      },
    });
    source = await fx.write('c1', 'log.txt', 'x'.repeat(200_000));
    const first = await fx.recorder.scan('c1', { source: 'between-executions' });
    const [record] = first.recorded;
    const stored = await readFile(fx.blobs.pathFor(record!.sha256));
    assert.equal(createHash('sha256').update(stored).digest('hex'), record!.sha256);
    assert.equal(stored.byteLength, record!.size);
    const second = await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.equal(second.recorded[0]?.version, 2);
    assert.equal((await readFile(fx.blobs.pathFor(second.recorded[0]!.sha256), 'utf8')).slice(0, 5), 'YYYYx');
  });

  it('a file deleted from the workspace stays recorded', async () => {
    fx = await createFixture();
    const file = await fx.write('c1', 'gone.txt', 'bye');
    await fx.recorder.scan('c1', { source: 'between-executions' });
    await unlink(file);
    await fx.recorder.scan('c1', { source: 'between-executions' });
    assert.equal((await fx.store.listChat('c1')).length, 1);
  });

  it('executionEnded never rejects, even for a bad chat id', async () => {
    fx = await createFixture();
    await fx.recorder.executionEnded('../bad', execution(), 'completed');
    await fx.recorder.executionStarted('../bad', execution());
  });
});
