/**
 * Child process for crash.test.ts: records files into a lowdb store as fast as it can, in
 * several chats at once, until it is killed. Prints one line per recorded batch. A third
 * argument sets the store's compactAfterBytes (small: the chats' logs are compacted often).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ArtifactRecorder } from '../../proxy/artifacts/artifact-recorder.ts';
import { quietLogger } from '../../proxy/logger.ts';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';
import { openStores } from '../../proxy/storage/open-stores.ts';
import { Workspaces } from '../../proxy/chats/workspaces.ts';
import { RECORDER_DEFAULTS } from '../support/recorder-fixture.ts';

const [dataDir, workspaceRoot, compactAfterBytes] = process.argv.slice(2) as [string, string, string?];
const workspaces = new Workspaces(workspaceRoot);
const stores = await openStores({ dataDir, databaseUrl: null, databasePoolSize: 1 }, quietLogger);
const { blobs, events } = stores;
const store = compactAfterBytes
  ? new LowdbRecordStore(dataDir, { compactAfterBytes: Number(compactAfterBytes) })
  : stores.store;
const recorder = new ArtifactRecorder({ store, blobs, events, workspaces, ...RECORDER_DEFAULTS });

async function burst(chatId: string): Promise<void> {
  const dir = await workspaces.ensure(chatId);
  for (let i = 0; ; i++) {
    await mkdir(path.join(dir, 'out'), { recursive: true });
    await writeFile(path.join(dir, 'out', `f${i % 50}.csv`), `${chatId},${i},${'x'.repeat(i % 4096)}\n`);
    const { recorded } = await recorder.scan(chatId, { source: 'between-executions' });
    process.stdout.write(`${recorded.length}\n`);
  }
}

await Promise.all(['c0', 'c1', 'c2', 'c3', 'c4'].map((chatId) => burst(chatId)));
