/**
 * Scenario 5: the lowdb record store (per chat, a snapshot and a log of changes since) holding
 * 100k records across 1k chats, against the same operations on a small store (1 chat of 100
 * records), in this process; then recording into, and compacting, one chat of 100k records.
 */
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FileRecord } from '../proxy/storage/file-record.ts';
import { LowdbChat } from '../proxy/storage/lowdb-chat.ts';
import { LowdbRecordStore } from '../proxy/storage/lowdb-record-store.ts';
import { emptyChat } from '../proxy/storage/chat-data.ts';
import { summarizeFiles } from '../proxy/api/file-summary.ts';
import { medianRow, type ResultRow, type ScenarioResult } from './results-table.ts';
import { alternate, timed } from './stats.ts';

let counter = 0;
function record(chatId: string, i: number): FileRecord {
  const name = `file-${i}.csv`;
  const at = new Date(Date.UTC(2025, 0, 1, 0, 0, i % 60)).toISOString();
  return {
    id: `r${(counter++).toString(36)}`,
    chatId,
    name,
    path: `out/${name}`,
    size: 1000 + i,
    mimeType: 'text/csv',
    format: 'CSV',
    sha256: (counter * 2654435761).toString(16).padStart(64, '0').slice(-64),
    createdAt: at,
    modifiedAt: at,
    version: 1,
    execution: { kernelId: 'k'.repeat(36), msgId: 'm'.repeat(36) },
    source: 'execution',
    owner: 'user-1',
  };
}

/** Writes each chat's snapshot directly (the one-file-per-chat format LowdbRecordStore reads as it is), fast. */
async function seed(dataDir: string, chats: number, perChat: number): Promise<string[]> {
  const dir = path.join(dataDir, 'records');
  await mkdir(dir, { recursive: true });
  const ids: string[] = [];
  for (let c = 0; c < chats; c++) {
    const chatId = `chat-${String(c).padStart(4, '0')}`;
    ids.push(chatId);
    const records = Array.from({ length: perChat }, (_, i) => record(chatId, i));
    await writeFile(
      path.join(dir, `${chatId}.json`),
      JSON.stringify({ ...emptyChat(chatId), owner: 'user-1', records }),
    );
  }
  return ids;
}

export async function benchRecordStore(quick: boolean): Promise<ScenarioResult> {
  const root = await mkdtemp(path.join(tmpdir(), 'gf-bench-store-'));
  const bigDir = path.join(root, 'big');
  const smallDir = path.join(root, 'small');
  const chats = 1000;
  const perChat = 100;
  const runs = quick ? 20 : 60;
  try {
    const t0 = performance.now();
    const bigChats = await seed(bigDir, chats, perChat);
    const smallChats = await seed(smallDir, 1, perChat);
    const seedS = (performance.now() - t0) / 1000;
    const rows: ResultRow[] = [];
    const row = (
      metric: string,
      samples: { a: number[]; b: number[] },
      goal: string,
      pass: (s: number, d: number) => boolean | null,
    ): void => {
      rows.push(medianRow('5 record store', metric, samples, goal, pass));
    };
    let pick = 0;
    const someBigChat = () => bigChats[(pick++ * 7919) % bigChats.length]!;

    // Start-up: construct + first list of one chat (a fresh store each time).
    row(
      `start-up: construct + first list (${runs} runs)`,
      await alternate(
        runs,
        3,
        () => timed(async () => (await new LowdbRecordStore(smallDir).listChat(smallChats[0]!)).length),
        () => timed(async () => (await new LowdbRecordStore(bigDir).listChat(someBigChat())).length),
      ),
      '≤ 1.5× small',
      (s, d) => s <= 1.5 * d,
    );

    // Listing one chat: the store call and the summaries the files API sends.
    const small = new LowdbRecordStore(smallDir);
    const big = new LowdbRecordStore(bigDir);
    for (const chatId of bigChats) await big.listChat(chatId); // every chat cached: the long-running case
    const list = (store: LowdbRecordStore, chatId: () => string) => () =>
      timed(async () => summarizeFiles(await store.listChat(chatId())));
    row(
      `list one chat (100 files) + summaries, warm (${runs} runs)`,
      await alternate(
        runs,
        5,
        list(small, () => smallChats[0]!),
        list(big, someBigChat),
      ),
      '< 10 ms',
      (s) => s < 10,
    );
    const coldBig = new LowdbRecordStore(bigDir);
    const coldSmall = () => new LowdbRecordStore(smallDir);
    row(
      `list one chat (100 files) + summaries, first touch (${runs} runs)`,
      await alternate(
        runs,
        3,
        () => timed(async () => summarizeFiles(await coldSmall().listChat(smallChats[0]!))),
        list(coldBig, () => bigChats[pick++ % bigChats.length]!),
      ),
      '< 10 ms',
      (s) => s < 10,
    );

    // Recording one file: must not grow with the whole store. Same chat size (100 + what the runs add) on both sides.
    let n = 0;
    const append = (store: LowdbRecordStore, chatId: string) => () =>
      timed(() => store.append(chatId, [record(chatId, 100 + n++)]));
    row(
      `record one file into a 100-record chat (${runs} runs)`,
      await alternate(runs, 3, append(small, smallChats[0]!), append(big, bigChats[0]!)),
      '≤ 1.25× small',
      (s, d) => s <= 1.25 * d,
    );
    await small.close();
    await big.close();

    // Recording into one very large chat (scenario 3's 100k-file workspace): one log line, whatever its size.
    const hugeDir = path.join(root, 'huge');
    const hugeLabel = quick ? '10k' : '100k';
    const [hugeChat] = await seed(hugeDir, 1, quick ? 10_000 : 100_000);
    const huge = new LowdbRecordStore(hugeDir);
    await huge.listChat(hugeChat!);
    row(
      `record one file into a ${hugeLabel}-record chat (${runs} runs)`,
      await alternate(runs, 3, append(small, smallChats[0]!), append(huge, hugeChat!)),
      '< 5 ms',
      (s) => s < 5,
    );
    await huge.close();
    const hugeFiles = LowdbChat.files(huge.dir, hugeChat!);
    const bytesPerAppend = (await stat(hugeFiles.log)).size / (runs + 3);

    // What that costs in the end: folding the log into the snapshot, once the log holds half the snapshot's bytes.
    const compactRuns = quick ? 2 : 3;
    const smallChat = await LowdbChat.open(small.dir, smallChats[0]!);
    const hugeChatFiles = await LowdbChat.open(huge.dir, hugeChat!);
    const stall = monitorEventLoopDelay({ resolution: 5 });
    const compactions = await alternate(
      compactRuns,
      0,
      () => timed(() => smallChat.compact()),
      async () => {
        stall.enable();
        try {
          return await timed(() => hugeChatFiles.compact());
        } finally {
          stall.disable();
        }
      },
    );
    const snapshotBytes = (await stat(hugeFiles.snapshot)).size;
    row(
      `fold the log of a ${hugeLabel}-record chat into its snapshot (${compactRuns} runs)`,
      compactions,
      'report',
      () => null,
    );
    rows.at(-1)!.detail =
      `${(snapshotBytes / 1024 / 1024).toFixed(1)} MB snapshot, written a slice at a time; longest event-loop stall during it ${(stall.max / 1e6).toFixed(1)} ms; ` +
      `due once per ~${Math.round(snapshotBytes / 2 / bytesPerAppend).toLocaleString('en-US')} one-file appends at this size`;
    return {
      rows,
      notes: [
        `In-process, no sidecar. "Direct" is the baseline: the same operation on a small store (1 chat of 100 records); "sidecar" is a store of 100k records across 1k chats (100 each, ${seedS.toFixed(1)} s to write). Records are realistic in size (ids, sha256, ISO times, execution refs).`,
        'Start-up opens a fresh LowdbRecordStore and lists one chat (reads that chat\'s files only). "Warm" lists a chat already loaded; "first touch" a chat not yet loaded by that store. Chats are seeded as snapshots in the one-file-per-chat format. An append writes one line to the chat\'s log (`{chatId}.jsonl`, fdatasynced), so it costs the same in a 100-record and a 100k-record chat. The log is folded into the snapshot (lowdb, temp file + fsync + rename) once it holds half the snapshot\'s bytes: the last row is that cost, paid once per that many appends; the appends that fill the log do not wait for it, the next write to that chat does.',
      ],
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
