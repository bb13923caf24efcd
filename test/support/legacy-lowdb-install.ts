import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FileRecord } from '../../proxy/storage/file-record.ts';
import { fakeRecord, outboxFor } from './record-store-contract.ts';

const stored = (chatId: string, n: number, overrides: Partial<FileRecord> = {}): FileRecord => ({
  ...fakeRecord(chatId, n),
  version: 1,
  ...overrides,
});

/**
 * A lowdb install as the one-file-per-chat store left it (`{dataDir}/records/{chatId}.json`,
 * the whole chat in one compact JSON object): chat `oldest` in the first format (no events, no
 * link revocations, no outbox), chat `recent` with all of them.
 */
export async function writeLegacyInstall(dataDir: string): Promise<void> {
  const dir = path.join(dataDir, 'records');
  await mkdir(dir, { recursive: true });
  // The first format: no events, no link revocations, no outbox.
  const oldest = {
    format: 1,
    chatId: 'oldest',
    owner: 'bob',
    records: [stored('oldest', 1, { path: 'a.csv', name: 'a.csv' }), stored('oldest', 2)],
    skipped: [{ path: 'big.zip', size: 9, reason: 'too-large', at: 'then' }],
  };
  const [delivery] = outboxFor(70)('recent', [stored('recent', 3)]);
  const recent = {
    format: 1,
    chatId: 'recent',
    owner: null,
    records: [stored('recent', 3)],
    skipped: [],
    linksRevokedAt: 1234,
    events: [{ seq: 1, type: 'file', recordId: 'rrecentx3', path: 'out/f3.csv' }],
    outbox: [delivery],
  };
  await writeFile(path.join(dir, 'oldest.json'), JSON.stringify(oldest));
  await writeFile(path.join(dir, 'recent.json'), JSON.stringify(recent));
}
