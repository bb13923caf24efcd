/**
 * The lowdb store's files: each chat's snapshot (`{chatId}.json`) and its log of changes since
 * (`{chatId}.jsonl`). A torn last line, a corrupt line, compaction, a crash between compaction's
 * two steps, and writes that fail half way, on real files.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ChatData } from '../../proxy/storage/chat-data.ts';
import type { ChatLogFile, OpenChatLog } from '../../proxy/storage/chat-log.ts';
import { LowdbRecordStore, type LowdbRecordStoreOptions } from '../../proxy/storage/lowdb-record-store.ts';
import type { Logger } from '../../proxy/logger.ts';
import { fakeRecord, outboxFor } from '../support/record-store-contract.ts';

let base: string;
before(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'lowdb-log-'));
});
after(() => rm(base, { recursive: true, force: true }));

let dirs = 0;
function freshDir(): string {
  return path.join(base, `d${++dirs}`);
}

function warningsLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { info() {}, error() {}, warn: (line: string) => warnings.push(line), warnings };
}

const files = (dataDir: string, chatId: string) => ({
  snapshot: path.join(dataDir, 'records', `${chatId}.json`),
  log: path.join(dataDir, 'records', `${chatId}.jsonl`),
});

/** Appends `count` files to `chatId`, one append each, numbered from `from`. */
async function record(store: LowdbRecordStore, chatId: string, from: number, count: number): Promise<void> {
  for (let n = from; n < from + count; n++) await store.append(chatId, [fakeRecord(chatId, n)]);
}

const paths = async (store: LowdbRecordStore, chatId: string) =>
  (await store.listChat(chatId)).map((r) => `${r.path}@${r.version}`);

describe('lowdb chat log', () => {
  it('drops a torn last line with a warning and keeps every change before it', async () => {
    const dataDir = freshDir();
    const first = new LowdbRecordStore(dataDir);
    await record(first, 'c', 1, 3);
    await first.close();
    const { log } = files(dataDir, 'c');
    const whole = (await stat(log)).size;
    // What a write cut short leaves: the start of a line, no newline.
    await writeFile(log, '{"n":4,"op":"append","records":[{"id":"half', { flag: 'a' });

    const logger = warningsLogger();
    const second = new LowdbRecordStore(dataDir, { logger });
    assert.deepEqual(await paths(second, 'c'), ['out/f1.csv@1', 'out/f2.csv@1', 'out/f3.csv@1']);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /c\.jsonl: dropped a torn last line \(\d+ bytes/);
    assert.equal((await stat(log)).size, whole, 'cut back to its whole lines');
    await record(second, 'c', 4, 1);
    await second.close();

    const third = new LowdbRecordStore(dataDir, { logger });
    assert.deepEqual(await paths(third, 'c'), ['out/f1.csv@1', 'out/f2.csv@1', 'out/f3.csv@1', 'out/f4.csv@1']);
    assert.equal(await third.lastEventSeq('c'), 4);
    assert.equal(logger.warnings.length, 1, 'the next append started on a clean line');
  });

  it('removes a log that holds nothing but a torn line', async () => {
    const dataDir = freshDir();
    await mkdir(path.join(dataDir, 'records'), { recursive: true });
    await writeFile(files(dataDir, 'only').log, '{"n":1,"op":"own');
    const logger = warningsLogger();
    const store = new LowdbRecordStore(dataDir, { logger });
    assert.deepEqual(await store.listChat('only'), []);
    assert.equal(logger.warnings.length, 1);
    assert.equal(await stat(files(dataDir, 'only').log).catch((error) => error.code), 'ENOENT');
    assert.equal(await store.hasChat('only'), false);
  });

  it('drops a last line that does not parse (zeros after a power cut), and refuses a bad line in the middle', async () => {
    const dataDir = freshDir();
    const store = new LowdbRecordStore(dataDir);
    await record(store, 'z', 1, 2);
    await record(store, 'm', 1, 2);
    await store.close();
    await writeFile(files(dataDir, 'z').log, '\0\0\0\0\n', { flag: 'a' });
    const text = await readFile(files(dataDir, 'm').log, 'utf8');
    const [line1, line2] = text.split('\n');
    await writeFile(files(dataDir, 'm').log, `${line1}\n{"n":2,"op":"append"\n${line2}\n`);

    const logger = warningsLogger();
    const reopened = new LowdbRecordStore(dataDir, { logger });
    assert.deepEqual(await paths(reopened, 'z'), ['out/f1.csv@1', 'out/f2.csv@1']);
    assert.equal(logger.warnings.length, 1);
    await assert.rejects(reopened.listChat('m'), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'ERR_RECORD_STORE_CORRUPT');
      assert.match(error.message, /m\.jsonl: line 2 \(byte \d+\) is not a change/);
      return true;
    });
    await assert.rejects(reopened.referencedShas(), { code: 'ERR_RECORD_STORE_CORRUPT' });
    assert.equal(await readFile(files(dataDir, 'm').log, 'utf8'), `${line1}\n{"n":2,"op":"append"\n${line2}\n`);
  });

  it('folds the log into the snapshot once it has grown, and reads the same chat back', async () => {
    const dataDir = freshDir();
    const options: LowdbRecordStoreOptions = { compactAfterBytes: 4096 };
    const store = new LowdbRecordStore(dataDir, options);
    await store.claimOwner('k', 'alice');
    await store.append('k', [fakeRecord('k', 1)], outboxFor(5));
    await record(store, 'k', 2, 40);
    await store.setSkipped('k', [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'now' }]);
    await store.close();
    const { snapshot, log } = files(dataDir, 'k');
    const onDisk = JSON.parse(await readFile(snapshot, 'utf8')) as ChatData;
    assert.ok(onDisk.records.length >= 8, `${onDisk.records.length} records folded into the snapshot`);
    assert.equal(onDisk.owner, 'alice', 'in the format earlier versions read');
    const logged = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    assert.ok(
      logged.every((line) => JSON.parse(line).n > onDisk.logThrough!),
      'the log holds only changes after the snapshot',
    );
    assert.equal(onDisk.logThrough! + logged.length, 43, 'owner, 41 appends, skipped: each change in one place');

    const reopened = new LowdbRecordStore(dataDir, options);
    assert.equal((await reopened.listChat('k')).length, 41);
    assert.deepEqual(
      (await reopened.eventsAfter('k', 0)).map((e) => e.seq),
      Array.from({ length: 41 }, (_, i) => i + 1),
    );
    assert.equal(await reopened.getOwner('k'), 'alice');
    assert.equal((await reopened.listSkipped('k')).length, 1);
    assert.deepEqual(
      (await reopened.listOutbox()).map((e) => e.id),
      ['d-rkx1'],
    );
  });

  it('replays nothing twice after a crash between the snapshot rename and the log truncation', async () => {
    const dataDir = freshDir();
    const same = { path: 'same.csv', name: 'same.csv' };
    const writer = new LowdbRecordStore(dataDir);
    for (let n = 1; n <= 20; n++) await writer.append('x', [fakeRecord('x', n, same)]);
    await writer.close();
    const { snapshot, log } = files(dataDir, 'x');
    const logOf20 = await readFile(log, 'utf8');
    // A store that compacts at once: the 21st change folds all 21 into the snapshot and empties the log.
    const compacting = new LowdbRecordStore(dataDir, { compactAfterBytes: 1 });
    await compacting.append('x', [fakeRecord('x', 21, same)]);
    await compacting.close();
    assert.equal((JSON.parse(await readFile(snapshot, 'utf8')) as ChatData).logThrough, 21);
    assert.equal((await stat(log)).size, 0);
    // As if the truncation never reached the disk: lines the snapshot already holds.
    await writeFile(log, logOf20);

    const reopened = new LowdbRecordStore(dataDir);
    const expected = Array.from({ length: 21 }, (_, i) => `same.csv@${i + 1}`);
    assert.deepEqual(await paths(reopened, 'x'), expected, 'the stale lines are skipped');
    assert.equal(await reopened.lastEventSeq('x'), 21);
    const [next] = await reopened.append('x', [fakeRecord('x', 22, same)]);
    assert.equal(next?.version, 22);
    await reopened.close();
    assert.deepEqual(
      await paths(new LowdbRecordStore(dataDir), 'x'),
      [...expected, 'same.csv@22'],
      'and the next change, numbered after them, is replayed',
    );
  });

  it('keeps the log as the record when a compaction fails, and compacts again later', async () => {
    const dataDir = freshDir();
    const logger = warningsLogger();
    const store = new LowdbRecordStore(dataDir, { compactAfterBytes: 2048, logger });
    await record(store, 'f', 1, 1);
    // The snapshot's name is taken by a folder: the compaction's rename fails.
    await mkdir(files(dataDir, 'f').snapshot);
    await record(store, 'f', 2, 10);
    await store.close();
    assert.ok(logger.warnings.length >= 1);
    assert.match(logger.warnings[0]!, /compacting the log of chat f failed, its log stays the record/);
    await rm(files(dataDir, 'f').snapshot, { recursive: true });
    assert.equal((await new LowdbRecordStore(dataDir).listChat('f')).length, 11);

    await record(store, 'f', 12, 30);
    await store.close();
    assert.equal((await stat(files(dataDir, 'f').snapshot)).isFile(), true, 'compacted once it could');
    assert.equal((await new LowdbRecordStore(dataDir).listChat('f')).length, 41);
  });
});

/** Opens the real log, but its writes put half their bytes on disk and then fail as a full disk does. */
function failingLog(plan: { failWrites: number; failTruncate?: boolean }): OpenChatLog {
  return async (file) => {
    const real = await open(file, 'a');
    const handle: ChatLogFile = {
      async write(buffer, offset, length) {
        if (plan.failWrites <= 0) return real.write(buffer, offset, length);
        plan.failWrites--;
        await real.write(buffer, offset, Math.floor(length / 2));
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      },
      datasync: () => real.datasync(),
      async truncate(size) {
        if (plan.failTruncate) throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
        await real.truncate(size);
      },
      close: () => real.close(),
    };
    return handle;
  };
}

describe('lowdb chat log, writes that fail', () => {
  it('cuts a half-written line back off, so the next append and a reopen agree', async () => {
    const dataDir = freshDir();
    const plan = { failWrites: 0 };
    const store = new LowdbRecordStore(dataDir, { openLog: failingLog(plan) });
    await record(store, 'w', 1, 2);
    const size = (await stat(files(dataDir, 'w').log)).size;
    plan.failWrites = 1;
    await assert.rejects(store.append('w', [fakeRecord('w', 3)]), { code: 'ENOSPC' });
    assert.equal((await stat(files(dataDir, 'w').log)).size, size);
    assert.deepEqual(await paths(store, 'w'), ['out/f1.csv@1', 'out/f2.csv@1'], 'nothing of it in memory');
    await record(store, 'w', 4, 1);
    await store.close();
    const logger = warningsLogger();
    assert.deepEqual(await paths(new LowdbRecordStore(dataDir, { logger }), 'w'), [
      'out/f1.csv@1',
      'out/f2.csv@1',
      'out/f4.csv@1',
    ]);
    assert.deepEqual(logger.warnings, []);
  });

  it('leaves no file behind when the first write of a chat fails', async () => {
    const dataDir = freshDir();
    const plan = { failWrites: 1 };
    const store = new LowdbRecordStore(dataDir, { openLog: failingLog(plan) });
    await assert.rejects(store.claimOwner('new', 'alice'), { code: 'ENOSPC' });
    assert.equal(await stat(files(dataDir, 'new').log).catch((error) => error.code), 'ENOENT');
    assert.equal(await store.hasChat('new'), false);
    assert.deepEqual(await store.listChatIds(), []);
    assert.equal(await store.claimOwner('new', 'alice'), 'alice');
  });

  it('loads the chat again from disk when even the cut fails', async () => {
    const dataDir = freshDir();
    const plan = { failWrites: 0, failTruncate: false };
    const logger = warningsLogger();
    const store = new LowdbRecordStore(dataDir, { openLog: failingLog(plan), logger });
    await record(store, 'b', 1, 2);
    plan.failWrites = 1;
    plan.failTruncate = true;
    const failing = store.append('b', [fakeRecord('b', 3)]);
    const queued = store.append('b', [fakeRecord('b', 4)]);
    await assert.rejects(failing, { code: 'ERR_RECORD_LOG_ROLLBACK' });
    // Queued behind the failure: runs on the chat as loaded again, where the torn half line is dropped.
    await queued;
    assert.deepEqual(await paths(store, 'b'), ['out/f1.csv@1', 'out/f2.csv@1', 'out/f4.csv@1']);
    assert.equal(logger.warnings.length, 1);
    assert.match(logger.warnings[0]!, /torn last line/);
    await store.close();
    assert.deepEqual(await paths(new LowdbRecordStore(dataDir), 'b'), ['out/f1.csv@1', 'out/f2.csv@1', 'out/f4.csv@1']);
  });
});
