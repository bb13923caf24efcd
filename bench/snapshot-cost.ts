/**
 * Scenario 3: what the before/after workspace snapshots add to one execution. The chat's
 * workspace holds 1k, 10k or 100k tracked `.txt` files, and the execution changes one file;
 * the baseline is the same execution directly at the gateway (writing outside any workspace).
 * Then: hashing grows with changed bytes only (a 100 MB file left alone vs rewritten).
 */
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { ChangeJournal } from '../proxy/workspace/change-journal.ts';
import path from 'node:path';
import type { FileRecord } from '../proxy/storage/file-record.ts';
import { emptyChat } from '../proxy/storage/chat-data.ts';
import { createTrackingPolicy } from '../proxy/workspace/tracking-policy.ts';
import { snapshotWorkspace } from '../test/support/workspace-snapshot.ts';
import { WorkspaceWalker } from '../proxy/workspace/workspace-walker.ts';
import { MB, startKernel, type BenchBed } from './bench-bed.ts';
import type { ResultRow, ScenarioResult } from './results-table.ts';
import { alternate, signedMs, summarize, timed } from './stats.ts';
import type { RawKernelClient } from '../test/support/raw-kernel-client.ts';
import { defaultOf } from '../proxy/options.ts';

const FILES_PER_FOLDER = 1000;

/** Writes `count` small tracked files fast, and returns records for them as if recorded earlier. */
function fillWorkspace(dir: string, chatId: string, count: number): FileRecord[] {
  const records: FileRecord[] = [];
  const now = new Date().toISOString();
  for (let i = 0; i < count; i++) {
    const folder = `bulk/d${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, '0')}`;
    if (i % FILES_PER_FOLDER === 0) mkdirSync(path.join(dir, folder), { recursive: true });
    const rel = `${folder}/f${String(i % FILES_PER_FOLDER).padStart(4, '0')}.txt`;
    const abs = path.join(dir, rel);
    writeFileSync(abs, `file ${i}\n`);
    const stats = lstatSync(abs);
    records.push({
      id: `seed${i.toString(36)}`,
      chatId,
      name: path.posix.basename(rel),
      path: rel,
      size: stats.size,
      mimeType: 'text/plain',
      format: 'Text',
      sha256: i.toString(16).padStart(64, '0'),
      createdAt: now,
      modifiedAt: new Date(Math.trunc(stats.mtimeMs)).toISOString(),
      version: 1,
      execution: null,
      source: 'execution',
      owner: null,
    });
  }
  return records;
}

async function run(client: RawKernelClient, code: string): Promise<number> {
  return timed(async () => {
    const result = await client.execute(code, { timeoutMs: 120_000 });
    client.received.length = 0;
    if (result.reply?.content.status !== 'ok')
      throw new Error(`execution failed: ${JSON.stringify(result.reply?.content).slice(0, 300)}`);
  });
}

/** What the operating system alone takes to stat every file of a tree: find(1). */
async function statEveryFile(dir: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const find = spawn('find', [dir, '-type', 'f', '-printf', '%s %T@ %i\\n'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    find.on('error', reject);
    find.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`find exited with ${code}`))));
  });
}

const writeSmall = (target: string) => `open(${JSON.stringify(target)}, 'w').write(str(__import__('time').time_ns()))`;

export async function benchSnapshotCost(bench: BenchBed): Promise<ScenarioResult> {
  const sizes = bench.quick ? [1000, 10_000] : [1000, 10_000, 100_000];
  const goals: Record<number, number | null> = { 1000: null, 10_000: 20, 100_000: 200 };
  const rows: ResultRow[] = [];
  const notes: string[] = [
    "Each workspace is filled with small .txt files (1,000 per folder) by a Node loop, and the chat's record snapshot is written (in the one-file-per-chat format) as if those files had been recorded earlier, before the sidecar first loads the chat; so each timed execution finds one changed file (the one it wrote) among N known ones. The first scan of an unrecorded workspace (copying every file into the blob store) is not timed.",
    'Direct: the same code on a kernel started at the gateway, writing to a folder outside the workspaces. Added = sidecar median − direct median.',
  ];
  const direct = await startKernel(bench, 'direct');
  const directClient = await direct.connect();
  const policy = createTrackingPolicy();
  const walker = new WorkspaceWalker();
  try {
    for (const size of sizes) {
      const chatId = `bench-snap-${size}`;
      const dir = path.join(bench.workspaceRoot, chatId);
      const t0 = performance.now();
      const records = fillWorkspace(dir, chatId, size);
      await mkdir(path.join(bench.dataDir, 'records'), { recursive: true });
      await writeFile(
        path.join(bench.dataDir, 'records', `${chatId}.json`),
        JSON.stringify({ ...emptyChat(chatId), records }),
      );
      const fillS = (performance.now() - t0) / 1000;
      const walks: number[] = [];
      const finds: number[] = [];
      for (let i = 0; i < 5; i++) {
        walks.push(await timed(() => snapshotWorkspace(dir, { policy, realRoot: bench.workspaceRoot, walker })));
        finds.push(await timed(() => statEveryFile(dir)));
      }

      // What the sidecar's scan itself costs now: a watched workspace, one file touched, in-process.
      const journal = new ChangeJournal(policy, { auditIntervalMs: defaultOf('workspaceAuditMs') });
      const watchedScans: number[] = [];
      try {
        const realDir = await realpath(dir);
        await journal.plan(chatId, realDir); // attaches the watches (and would walk), untimed
        for (let i = 0; i < 5; i++) {
          writeFileSync(path.join(dir, 'bulk/d000/f0000.txt'), `touched ${i}\n`);
          watchedScans.push(await timed(() => journal.plan(chatId, realDir)));
        }
      } finally {
        await journal.close();
      }

      const kernel = await startKernel(bench, 'sidecar', chatId);
      const client = await kernel.connect();
      try {
        const runs = bench.quick ? 5 : size >= 100_000 ? 10 : 20;
        const samples = await alternate(
          runs,
          2,
          () => run(directClient, writeSmall(path.join(bench.scratch, 'changed.txt'))),
          () => run(client, writeSmall('/mnt/data/changed.txt')),
        );
        const d = summarize(samples.a);
        const s = summarize(samples.b);
        const added = s.median - d.median;
        const goal = goals[size] ?? null;
        const floor = summarize(finds).median;
        rows.push({
          scenario: '3 snapshot cost',
          metric: `execution changing 1 file, ${size.toLocaleString('en-US')} files in workspace, ${runs} runs`,
          unit: 'ms',
          direct: d,
          sidecar: s,
          ratio: s.median / d.median,
          goal: goal === null ? 'report added' : `added ≤ ${goal} ms`,
          pass: goal === null ? null : added <= goal,
          detail: `${signedMs(added, 1)}; floor, one find -printf: ${floor.toFixed(1)} ms; watched scan alone: ${summarize(watchedScans).median.toFixed(2)} ms`,
        });
        if (size === 10_000) {
          // One file rewritten over and over while the execution runs: many events, one path.
          const churn = (target: string) =>
            `import time\nfor i in range(300):\n    open(${JSON.stringify(target)}, 'w').write(str(time.time_ns()))\n    time.sleep(0.0001)`;
          const churnSamples = await alternate(
            runs,
            2,
            () => run(directClient, churn(path.join(bench.scratch, 'churn.txt'))),
            () => run(client, churn('/mnt/data/churn.txt')),
          );
          const cd = summarize(churnSamples.a);
          const cs = summarize(churnSamples.b);
          rows.push({
            scenario: '3 snapshot cost',
            metric: `execution rewriting 1 file 300 times, 10,000 files in workspace, ${runs} runs`,
            unit: 'ms',
            direct: cd,
            sidecar: cs,
            ratio: cs.median / cd.median,
            goal: 'report added',
            pass: null,
            detail: signedMs(cs.median - cd.median, 1),
          });
        }
        notes.push(
          `${size.toLocaleString('en-US')} files: created in ${fillS.toFixed(1)} s; one walk alone (snapshotWorkspace() on a worker thread, warm cache) takes ${summarize(walks).median.toFixed(1)} ms median, and \`find -printf '%s %T@ %i'\` over the same tree (one lstat per file, the floor) ${summarize(finds).median.toFixed(1)} ms; with watched workspaces (the default) an execution walks only when the journal cannot vouch for the events (see NOTES.md), else it stats the touched paths: \`ChangeJournal.plan\` alone, one file touched, takes ${summarize(watchedScans).median.toFixed(2)} ms (barrier included); the chat's snapshot holds ${size.toLocaleString('en-US')} records (${(JSON.stringify(records).length / MB).toFixed(1)} MB of JSON); each append adds one line to the chat's log.`,
        );
      } finally {
        await client.close();
        await kernel.shutdown();
      }
    }

    // Hashing grows with changed bytes only.
    const chatId = 'bench-hash';
    const kernel = await startKernel(bench, 'sidecar', chatId);
    const client = await kernel.connect();
    try {
      const setup =
        "import time\nbig = bytearray(100 * 1024 * 1024)\ndef rewrite(target):\n    big[:20] = str(time.time_ns()).encode().ljust(20)\n    with open(target, 'wb') as f: f.write(big)";
      for (const c of [client, directClient]) await run(c, setup);
      // Recorded once, untimed.
      await run(client, "rewrite('/mnt/data/big.txt')");
      const runs = bench.quick ? 3 : 6;
      const unchanged = await alternate(
        runs,
        1,
        () => run(directClient, writeSmall(path.join(bench.scratch, 'small.txt'))),
        () => run(client, writeSmall('/mnt/data/small.txt')),
      );
      const changed = await alternate(
        runs,
        1,
        () => run(directClient, `rewrite(${JSON.stringify(path.join(bench.scratch, 'big.txt'))})`),
        () => run(client, "rewrite('/mnt/data/big.txt')"),
      );
      for (const [label, samples] of [
        ['100 MB file unchanged, small file changed', unchanged],
        ['100 MB file rewritten (new bytes)', changed],
      ] as const) {
        const d = summarize(samples.a);
        const s = summarize(samples.b);
        rows.push({
          scenario: '3 snapshot cost',
          metric: `${label}, ${runs} runs`,
          unit: 'ms',
          direct: d,
          sidecar: s,
          ratio: s.median / d.median,
          goal: 'report added',
          pass: null,
          detail: signedMs(s.median - d.median, 1),
        });
      }
      notes.push(
        'Hashing: a workspace with one 100 MB .txt file (recorded once, untimed). Leaving it alone costs what a small workspace costs; rewriting it adds the sha256 + copy into the blob store (+ fsync) of 100 MB.',
      );
    } finally {
      await client.close();
      await kernel.shutdown();
    }
  } finally {
    await walker.close();
    await directClient.close();
    await direct.shutdown();
  }
  return { rows, notes };
}
