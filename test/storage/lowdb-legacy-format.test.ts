/**
 * Chat files as earlier sidecars wrote them (`{dataDir}/records/{chatId}.json`, the whole chat
 * in one JSON object) are read as they are, appended to, and still read after a restart.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';
import { writeLegacyInstall } from '../support/legacy-lowdb-install.ts';
import { fakeRecord } from '../support/record-store-contract.ts';

let base: string;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'lowdb-legacy-'));
});
after(() => rm(base, { recursive: true, force: true }));

describe('lowdb chat files in the one-file-per-chat format', () => {
  it('are read, appended to, and read again after a restart', async () => {
    const dataDir = path.join(base, 'install');
    await writeLegacyInstall(dataDir);
    const before = await readFile(path.join(dataDir, 'records', 'oldest.json'), 'utf8');

    const store = new LowdbRecordStore(dataDir);
    assert.deepEqual((await store.listChatIds()).sort(), ['oldest', 'recent']);
    assert.equal(await store.hasChat('oldest'), true);
    assert.deepEqual(
      (await store.listChat('oldest')).map((r) => [r.path, r.version]),
      [
        ['a.csv', 1],
        ['out/f2.csv', 1],
      ],
    );
    assert.equal(await store.getOwner('oldest'), 'bob');
    assert.equal((await store.listSkipped('oldest'))[0]?.path, 'big.zip');
    assert.equal(await store.lastEventSeq('oldest'), 0, 'a file without events has none');
    assert.equal(await store.getLinksRevokedAt('oldest'), null);
    assert.equal(await store.getLinksRevokedAt('recent'), 1234);
    assert.deepEqual(
      (await store.listOutbox()).map((e) => e.id),
      ['d-rrecentx3'],
    );
    assert.deepEqual(await store.referencedShas(), new Set([1, 2, 3].map((n) => n.toString(16).padStart(64, '0'))));

    const [v2] = await store.append('oldest', [fakeRecord('oldest', 5, { path: 'a.csv', name: 'a.csv' })]);
    assert.equal(v2?.version, 2, 'versions go on from the records in the file');
    await store.append('recent', [fakeRecord('recent', 6)]);
    assert.equal(await store.lastEventSeq('recent'), 2, 'event seqs go on from the file');
    await store.close();

    const restarted = new LowdbRecordStore(dataDir);
    assert.deepEqual(
      (await restarted.listChat('oldest')).map((r) => [r.path, r.version]),
      [
        ['a.csv', 1],
        ['out/f2.csv', 1],
        ['a.csv', 2],
      ],
    );
    assert.equal(await restarted.getOwner('oldest'), 'bob');
    assert.deepEqual(
      (await restarted.eventsAfter('recent', 0)).map((e) => e.seq),
      [1, 2],
    );
    assert.deepEqual(
      (await restarted.listOutbox()).map((e) => e.id),
      ['d-rrecentx3'],
    );
    await restarted.close();
    const after = JSON.parse(await readFile(path.join(dataDir, 'records', 'oldest.json'), 'utf8'));
    assert.deepEqual(
      after.records.slice(0, 2),
      JSON.parse(before).records,
      'the file is still in its format and holds what it held',
    );
  });
});
