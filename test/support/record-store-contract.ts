import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RecordDraft, RecordStore } from '../../proxy/artifacts/record-store.ts';

export function fakeRecord(chatId: string, n: number, overrides: Partial<RecordDraft> = {}): RecordDraft {
  return {
    id: `r${chatId.replace(/[^A-Za-z0-9]/g, '')}x${n}`,
    chatId,
    name: `f${n}.csv`,
    path: `out/f${n}.csv`,
    size: n,
    mimeType: 'text/csv',
    format: 'CSV',
    sha256: n.toString(16).padStart(64, '0'),
    createdAt: new Date(n).toISOString(),
    modifiedAt: new Date(n).toISOString(),
    execution: null,
    source: 'between-executions',
    owner: null,
    ...overrides,
  };
}

/** The contract every RecordStore keeps; run over memory and lowdb in test/artifacts, over PostgreSQL in test/storage. */
export function describeRecordStoreContract(name: string, make: () => RecordStore | Promise<RecordStore>): void {
  describe(`${name} contract`, () => {
    it('appends, lists, gets, and knows owners and skipped files', async () => {
      const store = await make();
      assert.equal(await store.hasChat('c1'), false);
      assert.deepEqual(await store.listChat('c1'), []);
      await store.append('c1', [fakeRecord('c1', 1), fakeRecord('c1', 2)]);
      await store.append('c2', [fakeRecord('c2', 3)]);
      assert.equal(await store.hasChat('c1'), true);
      assert.deepEqual((await store.listChat('c1')).map((r) => r.size), [1, 2]);
      assert.equal((await store.get('c1', 'rc1x2'))?.size, 2);
      assert.equal(await store.get('c2', 'rc1x2'), undefined, 'ids are looked up within their chat');
      assert.deepEqual((await store.listChatIds()).sort(), ['c1', 'c2']);
      assert.deepEqual(await store.referencedShas(), new Set([1, 2, 3].map((n) => n.toString(16).padStart(64, '0'))));
      assert.equal(await store.getOwner('c1'), null);
      await store.setOwner('c1', 'alice');
      assert.equal(await store.getOwner('c1'), 'alice');
      await store.setSkipped('c1', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
      assert.equal((await store.listSkipped('c1'))[0]?.reason, 'too-large');
      await assert.rejects(store.listChat('../etc'), { code: 'ERR_INVALID_CHAT_ID' });
      await store.close();
    });

    it('versions drafts itself, leaves out a draft equal to its path\'s latest, and numbers events', async () => {
      const store = await make();
      assert.deepEqual(await store.listChat('fresh'), [], 'listChat needs no hasChat first');
      assert.equal(await store.hasChat('fresh'), false, 'and caches nothing for an unknown chat');
      assert.equal(await store.lastEventSeq('v'), 0);
      const same = { path: 'a.csv', name: 'a.csv' };
      const first = await store.append('v', [fakeRecord('v', 1, same), fakeRecord('v', 2, { ...same, id: 'rv2' })]);
      assert.deepEqual(first.map((r) => r.version), [1, 2], 'two versions of one path in one append');
      const repeat = await store.append('v', [fakeRecord('v', 2, { ...same, id: 'rv2b' })]);
      assert.deepEqual(repeat, [], 'the same bytes as the latest: nothing appended');
      const back = await store.append('v', [fakeRecord('v', 1, { ...same, id: 'rv1b' }), fakeRecord('v', 3)]);
      assert.deepEqual(back.map((r) => [r.path, r.version]), [['a.csv', 3], ['out/f3.csv', 1]], 'older bytes again are a new version');
      assert.deepEqual((await store.listChat('v')).map((r) => r.version), [1, 2, 3, 1]);
      await store.setSkipped('v', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }], [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
      const events = await store.eventsAfter('v', 0);
      assert.deepEqual(events.map((e) => [e.seq, e.type]), [[1, 'file'], [2, 'file'], [3, 'file'], [4, 'file'], [5, 'skipped']]);
      const [firstEvent] = events;
      assert.equal(firstEvent?.type === 'file' && firstEvent.recordId, first[0]!.id);
      assert.deepEqual((await store.eventsAfter('v', 3)).map((e) => e.seq), [4, 5]);
      assert.deepEqual((await store.eventsAfter('v', 1, 2)).map((e) => e.seq), [2, 3]);
      assert.equal(await store.lastEventSeq('v'), 5);
      assert.deepEqual(await store.eventsAfter('other', 0), []);
      await store.close();
    });

    it('gives concurrent appends to one chat distinct versions, and each change once', async () => {
      const store = await make();
      const drafts = Array.from({ length: 20 }, (_, n) => fakeRecord('race', n, { path: 'same.csv', name: 'same.csv', id: `race${n}` }));
      // Every change appended twice at once, as two sidecars scanning the same change would.
      const results = await Promise.all(drafts.flatMap((d) => [store.append('race', [d]), store.append('race', [{ ...d, id: `${d.id}twin` }])]));
      const versions = (await store.listChat('race')).map((r) => r.version);
      assert.deepEqual(versions, Array.from({ length: versions.length }, (_, i) => i + 1), 'versions 1..n, no gap, no duplicate');
      assert.equal(results.flat().length, versions.length, 'append reports exactly what it stored');
      await store.close();
    });
  });
}
