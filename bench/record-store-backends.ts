/**
 * Scenario 10: the record store's two backends side by side, each holding 100k records across
 * 1k chats plus one chat of 100k records. "Direct" is lowdb (per chat, a snapshot and a log), "sidecar"
 * is PostgreSQL (a throwaway local cluster, fsync off, as the tests start it). In-process.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { summarizeFiles } from '../proxy/api/file-summary.ts';
import type { RecordDraft } from '../proxy/storage/record-store.ts';
import { quietLogger } from '../proxy/logger.ts';
import { openStores, type OpenedStores } from '../proxy/storage/open-stores.ts';
import { startTestPostgres } from '../test/support/postgres.ts';
import { medianRow, type ResultRow, type ScenarioResult } from './results-table.ts';
import { alternate, timed } from './stats.ts';

let counter = 0;
function draft(chatId: string, i: number): RecordDraft {
  const name = `file-${i}.csv`;
  const at = new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString();
  counter++;
  return {
    id: `r${counter.toString(36)}`,
    chatId,
    name,
    path: `out/${name}`,
    size: 1000 + i,
    mimeType: 'text/csv',
    format: 'CSV',
    sha256: (counter * 2654435761).toString(16).padStart(64, '0').slice(-64),
    createdAt: at,
    modifiedAt: at,
    execution: { kernelId: 'k'.repeat(36), msgId: 'm'.repeat(36) },
    source: 'execution',
    owner: 'user-1',
  };
}

async function seed(stores: OpenedStores, chats: number, perChat: number, hugeChat: number): Promise<string[]> {
  const ids = Array.from({ length: chats }, (_, c) => `chat-${String(c).padStart(4, '0')}`);
  for (let c = 0; c < chats; c += 8) {
    await Promise.all(
      ids.slice(c, c + 8).map((id) =>
        stores.store.append(
          id,
          Array.from({ length: perChat }, (_, i) => draft(id, i)),
        ),
      ),
    );
  }
  for (let i = 0; i < hugeChat; i += 2000) {
    await stores.store.append(
      'huge',
      Array.from({ length: Math.min(2000, hugeChat - i) }, (_, j) => draft('huge', i + j)),
    );
  }
  return ids;
}

export async function benchRecordStoreBackends(quick: boolean): Promise<ScenarioResult> {
  const root = await mkdtemp(path.join(tmpdir(), 'gf-bench-backends-'));
  const cluster = await startTestPostgres();
  const chats = quick ? 200 : 1000;
  const perChat = 100;
  const hugeChat = quick ? 10_000 : 100_000;
  const runs = quick ? 20 : 60;
  const options = (name: string, databaseUrl: string | null) => ({
    dataDir: path.join(root, name),
    databaseUrl,
    databasePoolSize: 4,
  });
  const pgUrl = await cluster.createDatabase('bench');
  try {
    const lowdb = await openStores(options('lowdb', null), quietLogger);
    const postgres = await openStores(options('pg', pgUrl), quietLogger);
    const t0 = performance.now();
    const ids = await seed(lowdb, chats, perChat, hugeChat);
    const lowdbSeedS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await seed(postgres, chats, perChat, hugeChat);
    const pgSeedS = (performance.now() - t1) / 1000;
    await lowdb.close();
    const rows: ResultRow[] = [];
    const row = (
      metric: string,
      samples: { a: number[]; b: number[] },
      goal: string,
      pass: (s: number, d: number) => boolean | null,
    ) => {
      rows.push(medianRow('11 store backends', metric, samples, goal, pass));
    };
    let pick = 0;
    const someChat = () => ids[(pick++ * 7919) % ids.length]!;
    const label = `${(chats * perChat) / 1000}k records across ${chats} chats`;

    const opened: OpenedStores[] = [];
    row(
      `start-up: open the stores + list one chat, ${label} (${Math.min(runs, 20)} runs)`,
      await alternate(
        Math.min(runs, 20),
        2,
        () =>
          timed(async () => {
            const s = await openStores(options('lowdb', null), quietLogger);
            await s.store.listChat(someChat());
            opened.push(s);
          }),
        () =>
          timed(async () => {
            const s = await openStores(options('pg', pgUrl), quietLogger);
            await s.store.listChat(someChat());
            opened.push(s);
          }),
      ),
      'report',
      () => null,
    );
    for (const s of opened.splice(0)) await s.close();

    const lowdbWarm = await openStores(options('lowdb', null), quietLogger);
    const list = (stores: OpenedStores) => () =>
      timed(async () => summarizeFiles(await stores.store.listChat(someChat())));
    row(
      `list one chat (100 files) + summaries, ${label}, first touch for lowdb (${runs} runs)`,
      await alternate(runs, 5, list(lowdbWarm), list(postgres)),
      '< 10 ms',
      (s, d) => s < 10 && d < 10,
    );
    let n = 0;
    const append = (stores: OpenedStores, chatId: string) => () =>
      timed(() => stores.store.append(chatId, [draft(chatId, hugeChat + n++)]));
    row(
      `record one file into a 100-record chat (${runs} runs)`,
      await alternate(runs, 3, append(lowdbWarm, ids[0]!), append(postgres, ids[0]!)),
      '< 5 ms',
      (s) => s < 5,
    );
    await lowdbWarm.store.listChat('huge');
    const hugeRuns = quick ? 5 : 10;
    row(
      `record one file into a ${hugeChat / 1000}k-record chat (${hugeRuns} runs)`,
      await alternate(hugeRuns, 1, append(lowdbWarm, 'huge'), append(postgres, 'huge')),
      '< 5 ms, flat',
      (s) => s < 5,
    );
    await lowdbWarm.close();
    await postgres.close();
    return {
      rows,
      notes: [
        `Direct = lowdb, sidecar = PostgreSQL 15 (local throwaway cluster on 127.0.0.1, TCP, fsync off as in the tests; a production server with fsync on adds its commit latency to appends). Both hold ${label} plus one chat of ${hugeChat / 1000}k records, written through the RecordStore (lowdb ${lowdbSeedS.toFixed(1)} s, PostgreSQL ${pgSeedS.toFixed(1)} s).`,
        'Start-up opens the stores (PostgreSQL: pool, migration check under its advisory lock, LISTEN connection) and lists one chat. An append is one transaction: per-chat advisory lock, latest versions of the paths, insert of the record and its event.',
      ],
    };
  } finally {
    await cluster.destroy();
    await rm(root, { recursive: true, force: true });
  }
}
