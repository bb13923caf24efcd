import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';
import { describeRecordStoreContract, fakeRecord } from '../support/record-store-contract.ts';

let base: string;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'records-test-'));
});
after(() => rm(base, { recursive: true, force: true }));

describeRecordStoreContract(
  'LowdbRecordStore',
  () => new LowdbRecordStore(path.join(base, `db-${Math.random().toString(36).slice(2)}`)),
  (closed) => new LowdbRecordStore(path.dirname((closed as LowdbRecordStore).dir)),
);

describe('LowdbRecordStore on disk', () => {
  it("keeps each chat's changes in a log of its own and survives a restart", async () => {
    const dataDir = path.join(base, 'restart');
    const first = new LowdbRecordStore(dataDir);
    await first.append('chat-a', [fakeRecord('chat-a', 1)]);
    await first.claimOwner('chat-a', 'bob');
    await Promise.all([1, 2, 3].map((n) => first.append('chat-b', [fakeRecord('chat-b', 10 + n)])));
    await first.close();
    assert.deepEqual((await readdir(path.join(dataDir, 'records'))).filter((n) => !n.startsWith('.')).sort(), [
      'chat-a.jsonl',
      'chat-b.jsonl',
    ]);
    const lines = (await readFile(path.join(dataDir, 'records', 'chat-b.jsonl'), 'utf8')).split('\n');
    assert.deepEqual(
      lines.map((line) => (line ? JSON.parse(line).records.length : 0)),
      [1, 1, 1, 0],
      'concurrent appends to one chat are all kept, one line each',
    );

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
        writer.append(
          `chat${c}`,
          Array.from({ length: 100 }, (_, n) => fakeRecord(`chat${c}`, n)),
        ),
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
