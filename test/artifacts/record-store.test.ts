import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FileRecord } from '../../proxy/artifacts/file-record.ts';
import { LowdbRecordStore } from '../../proxy/artifacts/lowdb-record-store.ts';
import { MemoryRecordStore } from '../../proxy/artifacts/memory-record-store.ts';
import type { RecordStore } from '../../proxy/artifacts/record-store.ts';

function fakeRecord(chatId: string, n: number, overrides: Partial<FileRecord> = {}): FileRecord {
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
    version: 1,
    execution: null,
    source: 'between-executions',
    owner: null,
    ...overrides,
  };
}

let base: string;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'records-test-'));
});
after(() => rm(base, { recursive: true, force: true }));

const implementations: Array<[string, () => RecordStore]> = [
  ['MemoryRecordStore', () => new MemoryRecordStore()],
  ['LowdbRecordStore', () => new LowdbRecordStore(path.join(base, `db-${Math.random().toString(36).slice(2)}`))],
];

for (const [name, make] of implementations) {
  describe(`${name} contract`, () => {
    it('appends, lists, gets, and knows owners and skipped files', async () => {
      const store = make();
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
      assert.equal(await store.claimOwner('c1', 'alice'), 'alice');
      assert.equal(await store.claimOwner('c1', 'mallory'), 'alice', 'the first owner stays');
      assert.equal(await store.getOwner('c1'), 'alice');
      await store.setSkipped('c1', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
      assert.equal((await store.listSkipped('c1'))[0]?.reason, 'too-large');
      await assert.rejects(store.listChat('../etc'), { code: 'ERR_INVALID_CHAT_ID' });
      await store.close();
    });

    it('keeps webhook outbox entries with their records, updates and removes them', async () => {
      const store = make();
      const entry = (id: string, chatId: string) => ({ id, chatId, recordId: `r${id}`, createdAt: 'now', attempts: 0, nextAttemptAt: 0, state: 'pending' as const, lastError: null });
      await store.append('c1', [fakeRecord('c1', 1)], [entry('d1', 'c1'), entry('d2', 'c1')]);
      await store.append('c2', [fakeRecord('c2', 2)], [entry('d3', 'c2')]);
      await store.append('c3', [fakeRecord('c3', 3)]);
      assert.deepEqual((await store.listOutbox()).map((e) => e.id).sort(), ['d1', 'd2', 'd3']);
      await store.updateOutbox('c1', 'd1', null);
      await store.updateOutbox('c1', 'd2', { ...entry('d2', 'c1'), attempts: 3, state: 'failed', lastError: 'HTTP 500' });
      await store.updateOutbox('c1', 'nope', null);
      const left = await store.listOutbox();
      assert.deepEqual(left.map((e) => [e.id, e.state, e.attempts]).sort(), [['d2', 'failed', 3], ['d3', 'pending', 0]]);
      await store.close();
    });

    it('keeps when a chat\'s links were revoked, and never moves it back', async () => {
      const store = make();
      assert.equal(await store.getLinksRevokedAt('c1'), null);
      await store.revokeLinks('c1', 2000);
      await store.revokeLinks('c1', 1000);
      assert.equal(await store.getLinksRevokedAt('c1'), 2000);
      assert.equal(await store.hasChat('c1'), true);
      assert.equal(await store.getLinksRevokedAt('c2'), null);
      await store.close();
    });
  });
}

describe('LowdbRecordStore on disk', () => {
  it('keeps one JSON file per chat and survives a restart', async () => {
    const dataDir = path.join(base, 'restart');
    const first = new LowdbRecordStore(dataDir);
    await first.append('chat-a', [fakeRecord('chat-a', 1)]);
    await first.claimOwner('chat-a', 'bob');
    await Promise.all([1, 2, 3].map((n) => first.append('chat-b', [fakeRecord('chat-b', 10 + n)])));
    await first.close();
    assert.deepEqual((await readdir(path.join(dataDir, 'records'))).filter((n) => !n.startsWith('.')).sort(), ['chat-a.json', 'chat-b.json']);
    const onDisk = JSON.parse(await readFile(path.join(dataDir, 'records', 'chat-b.json'), 'utf8'));
    assert.equal(onDisk.records.length, 3, 'concurrent appends to one chat are all kept');

    const second = new LowdbRecordStore(dataDir);
    assert.equal(await second.getOwner('chat-a'), 'bob');
    assert.equal((await second.listChat('chat-b')).length, 3);
    assert.equal(await second.hasChat('chat-c'), false);
  });

  it('lists one chat quickly among many', async () => {
    const dataDir = path.join(base, 'many');
    const writer = new LowdbRecordStore(dataDir);
    await Promise.all(
      Array.from({ length: 200 }, (_, c) =>
        writer.append(`chat${c}`, Array.from({ length: 100 }, (_, n) => fakeRecord(`chat${c}`, n))),
      ),
    );
    const reader = new LowdbRecordStore(dataDir);
    assert.equal((await reader.listChat('chat150')).length, 100);
    assert.equal(reader.cachedChats, 1, 'reads only that chat');
    await reader.append('chat150', [fakeRecord('chat150', 1000)]);
    assert.equal(reader.cachedChats, 1, 'writes only that chat');
  });

  it('keeps at most maxCachedChats in memory and loses no write to eviction', async () => {
    const dataDir = path.join(base, 'bounded');
    const store = new LowdbRecordStore(dataDir, { maxCachedChats: 3 });
    const chats = Array.from({ length: 12 }, (_, c) => `chat${c}`);
    // Rounds of appends to every chat at once, interleaved with reads that push others out.
    for (let round = 0; round < 5; round++) {
      await Promise.all(
        chats.flatMap((chatId, c) => [
          store.append(chatId, [fakeRecord(chatId, round * 100 + c)]),
          store.listChat(chats[(c + 5) % chats.length]!),
        ]),
      );
      assert.ok(store.cachedChats <= 3, `${store.cachedChats} chats cached after round ${round}`);
    }
    await store.close();
    const fresh = new LowdbRecordStore(dataDir);
    for (const chatId of chats) assert.equal((await fresh.listChat(chatId)).length, 5, `${chatId} kept every append`);
  });
});
