import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileRecord } from '../../proxy/storage/file-record.ts';
import type {
  ChatQuota,
  OutboxEntry,
  OutboxFactory,
  RecordDraft,
  RecordStore,
} from '../../proxy/storage/record-store.ts';

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

/** One pending delivery per record, ids from the record's, due at `at`; `seen` collects what the store offered. */
export function outboxFor(at = 0, seen: FileRecord[][] = []): OutboxFactory {
  return (chatId, records) => {
    seen.push([...records]);
    return records.map((r): OutboxEntry => ({
      id: `d-${r.id}`,
      chatId,
      recordId: r.id,
      createdAt: new Date(at).toISOString(),
      attempts: 0,
      nextAttemptAt: at,
      state: 'pending',
      lastError: null,
    }));
  };
}

/**
 * Opens what a closed store held again, as a restarted sidecar would (memory: the same store,
 * since there is nothing else to open).
 */
export type ReopenStore = (closed: RecordStore) => RecordStore | Promise<RecordStore>;

/** The contract every RecordStore keeps; run over memory and lowdb in test/storage, over PostgreSQL in test/storage/shared. */
export function describeRecordStoreContract(
  name: string,
  make: () => RecordStore | Promise<RecordStore>,
  reopen: ReopenStore,
): void {
  describe(`${name} contract`, () => {
    it('appends, lists, gets, and knows owners and skipped files', async () => {
      const store = await make();
      assert.equal(await store.hasChat('c1'), false);
      assert.deepEqual(await store.listChat('c1'), []);
      await store.append('c1', [fakeRecord('c1', 1), fakeRecord('c1', 2)]);
      await store.append('c2', [fakeRecord('c2', 3)]);
      assert.equal(await store.hasChat('c1'), true);
      assert.deepEqual(
        (await store.listChat('c1')).map((r) => r.size),
        [1, 2],
      );
      assert.equal((await store.get('c1', 'rc1x2'))?.size, 2);
      assert.equal(await store.get('c2', 'rc1x2'), undefined, 'ids are looked up within their chat');
      assert.deepEqual((await store.listChatIds()).sort(), ['c1', 'c2']);
      assert.deepEqual(await store.referencedShas(), new Set([1, 2, 3].map((n) => n.toString(16).padStart(64, '0'))));
      assert.equal(await store.getOwner('c1'), null);
      assert.equal(await store.claimOwner('c1', 'alice'), 'alice');
      assert.equal(await store.claimOwner('c1', 'mallory'), 'alice', 'the first owner stays');
      assert.equal(await store.getOwner('c1'), 'alice');
      await store.setSkipped('c1', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
      assert.equal((await store.listSkipped('c1'))[0]?.reason, 'too-large');
      await assert.rejects(store.listChat('../etc'), { code: 'ERR_INVALID_CHAT_ID' });
      await store.close();
    });

    it("versions drafts itself, leaves out a draft equal to its path's latest, and numbers events", async () => {
      const store = await make();
      assert.deepEqual(await store.listChat('fresh'), [], 'listChat needs no hasChat first');
      assert.equal(await store.get('fresh', 'r1'), undefined, 'nor does get');
      assert.deepEqual(await store.listSkipped('fresh'), [], 'nor does listSkipped');
      assert.equal(await store.hasChat('fresh'), false, 'and caches nothing for an unknown chat');
      assert.equal(await store.lastEventSeq('v'), 0);
      const same = { path: 'a.csv', name: 'a.csv' };
      const first = await store.append('v', [fakeRecord('v', 1, same), fakeRecord('v', 2, { ...same, id: 'rv2' })]);
      assert.deepEqual(
        first.map((r) => r.version),
        [1, 2],
        'two versions of one path in one append',
      );
      const repeat = await store.append('v', [fakeRecord('v', 2, { ...same, id: 'rv2b' })]);
      assert.deepEqual(repeat, [], 'the same bytes as the latest: nothing appended');
      const back = await store.append('v', [fakeRecord('v', 1, { ...same, id: 'rv1b' }), fakeRecord('v', 3)]);
      assert.deepEqual(
        back.map((r) => [r.path, r.version]),
        [
          ['a.csv', 3],
          ['out/f3.csv', 1],
        ],
        'older bytes again are a new version',
      );
      assert.deepEqual(
        (await store.listChat('v')).map((r) => r.version),
        [1, 2, 3, 1],
      );
      await store.setSkipped(
        'v',
        [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }],
        [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }],
      );
      const events = await store.eventsAfter('v', 0);
      assert.deepEqual(
        events.map((e) => [e.seq, e.type]),
        [
          [1, 'file'],
          [2, 'file'],
          [3, 'file'],
          [4, 'file'],
          [5, 'skipped'],
        ],
      );
      const [firstEvent] = events;
      assert.equal(firstEvent?.type === 'file' && firstEvent.recordId, first[0]!.id);
      assert.deepEqual(
        (await store.eventsAfter('v', 3)).map((e) => e.seq),
        [4, 5],
      );
      assert.deepEqual(
        (await store.eventsAfter('v', 1, 2)).map((e) => e.seq),
        [2, 3],
      );
      assert.equal(await store.lastEventSeq('v'), 5);
      assert.deepEqual(await store.eventsAfter('other', 0), []);
      await store.close();
    });

    it('gives concurrent appends to one chat distinct versions, and each change once', async () => {
      const store = await make();
      const drafts = Array.from({ length: 20 }, (_, n) =>
        fakeRecord('race', n, { path: 'same.csv', name: 'same.csv', id: `race${n}` }),
      );
      // Every change appended twice at once, as two sidecars scanning the same change would.
      const results = await Promise.all(
        drafts.flatMap((d) => [store.append('race', [d]), store.append('race', [{ ...d, id: `${d.id}twin` }])]),
      );
      const versions = (await store.listChat('race')).map((r) => r.version);
      assert.deepEqual(
        versions,
        Array.from({ length: versions.length }, (_, i) => i + 1),
        'versions 1..n, no gap, no duplicate',
      );
      assert.equal(results.flat().length, versions.length, 'append reports exactly what it stored');
      await store.close();
    });

    it('keeps a quota given with an append: drafts that would pass it are left out and reported, with the bytes the chat holds', async () => {
      const store = await make();
      assert.equal(await store.usedBytes('q'), 0);
      const settled: Array<[string[], number]> = [];
      const quota = (maxBytes: number): ChatQuota => ({
        maxBytes,
        settle: (overQuota, usedBytes) => settled.push([overQuota.map((d) => d.path), usedBytes]),
      });
      // fakeRecord(chat, n) is n bytes.
      await store.append('q', [fakeRecord('q', 4), fakeRecord('q', 5)], undefined, quota(10));
      // 2 would make 11: left out; 1 makes 10 (the quota is inclusive), in draft order.
      await store.append('q', [fakeRecord('q', 2), fakeRecord('q', 1)], undefined, quota(10));
      // A draft equal to its path's latest costs nothing: left out as unchanged, not as over the quota.
      await store.append('q', [fakeRecord('q', 4)], undefined, quota(10));
      assert.deepEqual(settled, [
        [[], 9],
        [['out/f2.csv'], 10],
        [[], 10],
      ]);
      assert.deepEqual(
        (await store.listChat('q')).map((r) => r.size),
        [4, 5, 1],
      );
      assert.equal(await store.usedBytes('q'), 10);
      // Every version counts, and an append without a quota refuses nothing.
      await store.append('q', [fakeRecord('q', 2), fakeRecord('q', 7, { path: 'out/f4.csv' })]);
      assert.equal(await store.usedBytes('q'), 19);
      await store.close();
    });

    it('keeps a quota across concurrent appends to one chat', async () => {
      const store = await make();
      const settledUsed: number[] = [];
      const quota: ChatQuota = { maxBytes: 50, settle: (_over, used) => settledUsed.push(used) };
      const appended = await Promise.all(
        Array.from({ length: 20 }, (_, n) => store.append('qq', [fakeRecord('qq', 10 + n)], undefined, quota)),
      );
      const sizes = (await store.listChat('qq')).map((r) => r.size);
      assert.ok(sizes.reduce((a, b) => a + b, 0) <= 50, `${sizes.join(' + ')} within the quota`);
      assert.equal(appended.flat().length, sizes.length);
      assert.equal(await store.usedBytes('qq'), Math.max(...settledUsed));
      await store.close();
    });

    it('writes outbox entries for exactly the records it appended, updates and removes them', async () => {
      const store = await make();
      const seen: FileRecord[][] = [];
      const same = { path: 'a.csv', name: 'a.csv' };
      await store.append('c1', [fakeRecord('c1', 1, same), fakeRecord('c1', 2)], outboxFor(0, seen));
      // The same bytes again: nothing appended, so nothing owed and the factory not asked.
      assert.deepEqual(
        await store.append('c1', [fakeRecord('c1', 1, { ...same, id: 'again' })], outboxFor(0, seen)),
        [],
      );
      await store.append('c2', [fakeRecord('c2', 3)], outboxFor(0, seen));
      await store.append('c3', [fakeRecord('c3', 4)]);
      assert.deepEqual(
        seen.map((records) => records.map((r) => [r.id, r.version])),
        [
          [
            ['rc1x1', 1],
            ['rc1x2', 1],
          ],
          [['rc2x3', 1]],
        ],
        'offered the stored, versioned records',
      );
      assert.deepEqual((await store.listOutbox()).map((e) => e.id).sort(), ['d-rc1x1', 'd-rc1x2', 'd-rc2x3']);
      assert.deepEqual(await store.outboxSummary(), { pending: 3, failed: 0, nextAttemptAt: 0 });
      await store.updateOutbox('c1', 'd-rc1x1', null);
      const failed: OutboxEntry = {
        id: 'd-rc1x2',
        chatId: 'c1',
        recordId: 'rc1x2',
        createdAt: new Date(0).toISOString(),
        attempts: 3,
        nextAttemptAt: 50,
        state: 'failed',
        lastError: 'HTTP 500',
      };
      await store.updateOutbox('c1', 'd-rc1x2', failed);
      await store.updateOutbox('c1', 'nope', null);
      const left = await store.listOutbox();
      assert.deepEqual(left.map((e) => [e.id, e.state, e.attempts, e.lastError]).sort(), [
        ['d-rc1x2', 'failed', 3, 'HTTP 500'],
        ['d-rc2x3', 'pending', 0, null],
      ]);
      assert.deepEqual(await store.outboxSummary(), { pending: 1, failed: 1, nextAttemptAt: 0 });
      await store.close();
    });

    it('claims due deliveries once each, leases them, and offers them again when the lease ends', async () => {
      const store = await make();
      await store.append(
        'q',
        Array.from({ length: 6 }, (_, n) => fakeRecord('q', n + 1)),
        outboxFor(100),
      );
      await store.append('later', [fakeRecord('later', 9)], outboxFor(5000));
      assert.deepEqual(await store.claimOutbox(99, 1099, 10), [], 'nothing is due before its time');
      // Two claimers at once (two sidecars' dispatchers) never take the same delivery.
      const [a, b] = await Promise.all([store.claimOutbox(100, 1100, 4), store.claimOutbox(100, 1100, 4)]);
      const ids = [...a!, ...b!].map((e) => e.id);
      assert.equal(ids.length, 6, 'every due delivery claimed');
      assert.equal(new Set(ids).size, 6, 'none claimed twice');
      assert.ok(
        ids.every((id) => id.startsWith('d-rq')),
        'not the one due later',
      );
      assert.deepEqual(await store.claimOutbox(1099, 2099, 10), [], 'leased until 1100');
      assert.equal((await store.outboxSummary()).nextAttemptAt, 1100);
      // Delivered, failed for good, failed for now: none of these comes back at the lease's end.
      const [done, dead, retry] = a!;
      await store.updateOutbox('q', done!.id, null);
      await store.updateOutbox('q', dead!.id, { ...dead!, state: 'failed', attempts: 1, lastError: 'ECONNREFUSED' });
      await store.updateOutbox('q', retry!.id, { ...retry!, attempts: 1, nextAttemptAt: 9000, lastError: 'HTTP 503' });
      const again = await store.claimOutbox(1100, 9999, 10);
      assert.deepEqual(
        again.map((e) => e.id).sort(),
        [...a!.slice(3), ...b!].map((e) => e.id).sort(),
        "a dead claimer's leases run out",
      );
      assert.deepEqual(
        (await store.claimOutbox(5000, 6000, 10)).map((e) => e.chatId),
        ['later'],
      );
      assert.deepEqual(await store.outboxSummary(), { pending: 5, failed: 1, nextAttemptAt: 6000 });
      await store.close();
    });

    it('keeps chat + path + version unique after a reopen, and everything else it held', async () => {
      const store = await make();
      const same = { path: 'a.csv', name: 'a.csv' };
      const skip = { path: 'big.zip', size: 9, reason: 'too-large' as const, at: 'now' };
      await store.append('r', [fakeRecord('r', 1, same), fakeRecord('r', 2, { ...same, id: 'rr2' })], outboxFor(0));
      await store.claimOwner('r', 'alice');
      await store.setSkipped('r', [skip], [skip]);
      await store.revokeLinks('r', 500);
      await store.updateOutbox('r', 'd-rrx1', null);
      await store.close();

      const again = await reopen(store);
      assert.deepEqual(
        await again.append('r', [fakeRecord('r', 2, { ...same, id: 'rr2b' })]),
        [],
        "the latest version's bytes are known after the reopen",
      );
      const next = await again.append('r', [fakeRecord('r', 3, { ...same, id: 'rr3' }), fakeRecord('r', 4)]);
      assert.deepEqual(
        next.map((r) => [r.path, r.version]),
        [
          ['a.csv', 3],
          ['out/f4.csv', 1],
        ],
      );
      const keys = (await again.listChat('r')).map((r) => `${r.path}@${r.version}`);
      assert.deepEqual(keys, ['a.csv@1', 'a.csv@2', 'a.csv@3', 'out/f4.csv@1'], 'no version given twice');
      assert.deepEqual(
        (await again.eventsAfter('r', 0)).map((e) => [e.seq, e.type]),
        [
          [1, 'file'],
          [2, 'file'],
          [3, 'skipped'],
          [4, 'file'],
          [5, 'file'],
        ],
        'event seqs go on where they stopped',
      );
      assert.equal((await again.get('r', 'rr3'))?.version, 3);
      assert.equal(await again.getOwner('r'), 'alice');
      assert.deepEqual(await again.listSkipped('r'), [skip]);
      assert.equal(await again.getLinksRevokedAt('r'), 500);
      assert.deepEqual(
        (await again.listOutbox()).map((e) => e.id),
        ['d-rr2'],
      );
      assert.deepEqual(await again.listChatIds(), ['r']);
      await again.close();
    });

    it("keeps when a chat's links were revoked, and never moves it back", async () => {
      const store = await make();
      assert.equal(await store.getLinksRevokedAt('k1'), null);
      await store.revokeLinks('k1', 2000);
      await store.revokeLinks('k1', 1000);
      assert.equal(await store.getLinksRevokedAt('k1'), 2000);
      assert.equal(await store.hasChat('k1'), true);
      assert.equal(await store.getLinksRevokedAt('k2'), null);
      await store.append('k3', [fakeRecord('k3', 1)]);
      await store.revokeLinks('k3', 3000);
      assert.equal(await store.getLinksRevokedAt('k3'), 3000);
      assert.equal((await store.listChat('k3')).length, 1, 'revoking keeps the records');
      await store.close();
    });
  });
}
