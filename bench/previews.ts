/**
 * Scenario 8: previews of a 10,000-row pandas + openpyxl workbook through the sidecar (first
 * 100 rows shown): the first preview (rendered on a worker), the same preview from the cache,
 * and the sidecar's RSS during 10 concurrent first previews of 10 different workbooks, each in a
 * chat of its own (a chat may have only a few renders waiting: `chatQueue`). The
 * baseline ("direct") is the same render run in this process, without HTTP, worker or cache.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FileSummary } from '../contract/files-api.ts';
import { DEFAULT_PREVIEW_LIMITS } from '../proxy/previews/preview-limits.ts';
import { runRenderJob } from '../proxy/previews/render-job.ts';
import { runPython, WORKBOOK_PY } from '../test/previews/python-files.ts';
import { MB, rssBytes, sampleRss, type BenchBed } from './bench-bed.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { summarize, timed } from './stats.ts';

const CHAT = 'bench-previews';
/** Workbook i's chat: one chat each, as a chat may have only a few renders waiting (chatQueue). */
const chatOf = (i: number) => (i === 0 ? CHAT : `${CHAT}-${i}`);
const CONCURRENT = 10;

interface ChatFile {
  chat: string;
  file: FileSummary;
}

async function upload(bench: BenchBed, chat: string, file: string, name: string): Promise<ChatFile> {
  const res = await fetch(`${bench.sidecarUrl}sidecar/v1/chats/${chat}/uploads/${name}`, {
    method: 'PUT',
    body: await readFile(file),
  });
  if (res.status !== 201) throw new Error(`upload ${name}: HTTP ${res.status}`);
  return { chat, file: (await res.json()) as FileSummary };
}

async function preview(bench: BenchBed, { chat, file }: ChatFile): Promise<void> {
  const res = await fetch(`${bench.sidecarUrl}sidecar/v1/chats/${chat}/files/${file.id}/preview`);
  if (res.status !== 200) throw new Error(`preview ${file.name}: HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
}

export async function benchPreviews(bench: BenchBed): Promise<ScenarioResult> {
  // Eleven different workbooks (a cached render would hide the cost): one per folder, each with its own first row.
  const files: ChatFile[] = [];
  for (let i = 0; i <= CONCURRENT; i++) {
    const dir = path.join(bench.scratch, `wb${i}`);
    await runPython(
      `import os; os.makedirs(${JSON.stringify(dir)}, exist_ok=True)\n${WORKBOOK_PY(dir).replace('"id": range(1, n + 1)', `"id": range(${i * 100_000 + 1}, ${i * 100_000} + n + 1)`)}`,
    );
    files.push(await upload(bench, chatOf(i), path.join(dir, 'report.xlsx'), `report-${i}.xlsx`));
  }
  await bench.restartSidecar();
  const pid = bench.sidecar.pid!;

  const direct = await timed(() =>
    runRenderJob({
      task: 'preview',
      file: {
        path: path.join(bench.dataDir, 'blobs', files[0]!.file.sha256.slice(0, 2), files[0]!.file.sha256),
        label: 'report.xlsx',
      },
      kind: { render: 'workbook', format: 'xlsx' },
      limits: DEFAULT_PREVIEW_LIMITS,
    }),
  );
  const first = await timed(() => preview(bench, files[0]!));
  const cached: number[] = [];
  for (let i = 0; i < 30; i++) cached.push(await timed(() => preview(bench, files[0]!)));
  const shard = path.join(bench.dataDir, 'previews', files[0]!.file.sha256.slice(0, 2));
  const entry = path.join(
    shard,
    (await readdir(shard)).find((name) => name.startsWith(files[0]!.file.sha256))!,
  );
  const directCached: number[] = [];
  for (let i = 0; i < 30; i++) directCached.push(await timed(() => readFile(entry, 'utf8')));

  const before = await rssBytes(pid);
  const rss = sampleRss(pid, 10);
  const concurrent = await timed(() => Promise.all(files.slice(1).map((f) => preview(bench, f))));
  const { peak } = await rss.stop();
  const growthMb = (peak - before) / MB;

  const row = (
    metric: string,
    unit: string,
    d: number[],
    s: number[],
    goal: string,
    pass: boolean | null,
  ): ResultRow => {
    const dd = summarize(d);
    const ss = summarize(s);
    return { scenario: '8 previews', metric, unit, direct: dd, sidecar: ss, ratio: ss.median / dd.median, goal, pass };
  };
  return {
    rows: [
      row('first preview, 10,000-row workbook', 'ms', [direct], [first], '< 500 ms', first < 500),
      row('cached preview (same bytes)', 'ms', directCached, cached, '< 10 ms', summarize(cached).median < 10),
      {
        ...row('peak RSS growth, 10 concurrent first previews', 'MB', [0], [growthMb], '< 150 MB', growthMb < 150),
        detail: `${CONCURRENT} renders in ${concurrent.toFixed(0)} ms, ${DEFAULT_PREVIEW_LIMITS.concurrency} at a time`,
      },
    ],
    notes: [
      'Direct: the same render (our streaming xlsx reader over the zip guard) in the bench process, no HTTP, no worker start, no cache; for the cached row, reading a file from the cache folder.',
      `Each render runs on a fresh worker thread (started, then terminated); at most ${DEFAULT_PREVIEW_LIMITS.concurrency} at once, the rest queue. The 10 concurrent previews are of 10 chats, one workbook each: one chat may run ${DEFAULT_PREVIEW_LIMITS.chatConcurrency} and have ${DEFAULT_PREVIEW_LIMITS.chatQueue} waiting, and past that gets 503 ERR_PREVIEW_BUSY.`,
    ],
  };
}
