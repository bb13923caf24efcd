/**
 * `npm run bench [-- --quick] [-- --only N[,M]]`: starts a real Jupyter Server and the sidecar on
 * 127.0.0.1, runs each scenario directly and through the sidecar in alternation, prints the
 * table and writes it to BENCHMARKS.md. Not a test: CI does not run it.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { MB, rssBytes, sampleRss, startBenchBed, type BenchBed } from './bench-bed.ts';
import { benchExecuteRoundTrip } from './execute-round-trip.ts';
import { benchOutputHeavy } from './output-heavy.ts';
import { benchSnapshotCost } from './snapshot-cost.ts';
import { benchDownloads } from './downloads.ts';
import { benchRecordStore } from './record-store.ts';
import { benchRecordStoreBackends } from './record-store-backends.ts';
import { benchManyKernels } from './many-kernels.ts';
import { benchWidget } from './widget-render.ts';
import { benchPreviews } from './previews.ts';
import { benchFileCard } from './file-card.ts';
import { benchWidgetMemoryScroll } from './widget-memory-scroll.ts';
import { benchTwoSidecars } from './two-sidecars.ts';
import { benchMcpExecute } from './mcp-execute.ts';
import { benchKernelTransport } from './kernel-transport.ts';
import {
  consoleTable,
  machineDescription,
  writeBenchmarksFile,
  type ResultRow,
  type ScenarioResult,
} from './results-table.ts';

interface Scenario {
  n: number;
  name: string;
  /** Needs the Jupyter Server and the sidecar (the others run in-process or in a browser). */
  needsBed: boolean;
  /** Loads the script-tag bundle (dist/widget), built once before any scenario runs when one needs it. */
  needsWidget?: boolean;
  run(bench: BenchBed | null, quick: boolean): Promise<ScenarioResult>;
}

const SCENARIOS: Scenario[] = [
  { n: 1, name: '1 execute round trip', needsBed: true, run: (b) => benchExecuteRoundTrip(b!) },
  { n: 2, name: '2 output-heavy', needsBed: true, run: (b) => benchOutputHeavy(b!) },
  { n: 3, name: '3 snapshot cost', needsBed: true, run: (b) => benchSnapshotCost(b!) },
  { n: 4, name: '4 downloads', needsBed: true, run: (b) => benchDownloads(b!) },
  { n: 5, name: '5 record store', needsBed: false, run: (_b, quick) => benchRecordStore(quick) },
  { n: 6, name: '6 many kernels', needsBed: true, run: (b) => benchManyKernels(b!) },
  { n: 7, name: '7 widget', needsBed: false, needsWidget: true, run: (_b, quick) => benchWidget(quick) },
  { n: 8, name: '8 previews', needsBed: true, run: (b) => benchPreviews(b!) },
  { n: 9, name: '9 file card', needsBed: false, run: (_b, quick) => benchFileCard(quick) },
  {
    n: 10,
    name: '10 widget load',
    needsBed: false,
    needsWidget: true,
    run: (_b, quick) => benchWidgetMemoryScroll(quick),
  },
  { n: 11, name: '11 store backends', needsBed: false, run: (_b, quick) => benchRecordStoreBackends(quick) },
  { n: 12, name: '12 two sidecars', needsBed: false, run: (_b, quick) => benchTwoSidecars(quick) },
  { n: 13, name: '13 MCP execute_code', needsBed: false, run: (_b, quick) => benchMcpExecute(quick) },
  { n: 14, name: '14 kernel file transport', needsBed: false, run: (_b, quick) => benchKernelTransport(quick) },
];

function parseArgs(argv: readonly string[]): { quick: boolean; only: Set<number> | null } {
  let quick = false;
  let only: Set<number> | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice('--only='.length) : argv[++i];
      only = new Set(
        (value ?? '')
          .split(',')
          .map(Number)
          .filter((n) => Number.isInteger(n) && n > 0),
      );
      if (only.size === 0) throw new Error('--only takes scenario numbers, e.g. --only 3 or --only 1,4');
    } else throw new Error(`Unknown argument ${arg}. Use --quick and/or --only N.`);
  }
  return { quick, only };
}

/** The element as it ships (`npm run build:widget`): scenarios 7 and 10 measure that bundle. */
async function buildWidget(): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const build = spawn('npm', ['run', '--silent', 'build:widget'], {
      cwd: path.resolve(import.meta.dirname, '..'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    build.on('error', reject);
    build.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`building the widget failed (npm run build:widget exit ${code})`)),
    );
  });
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const chosen = SCENARIOS.filter((s) => !only || only.has(s.n));
  const started = performance.now();
  console.log(`[bench] ${machineDescription()}${quick ? ' (quick)' : ''}`);
  if (chosen.some((s) => s.needsWidget)) await buildWidget();
  const bench = chosen.some((s) => s.needsBed) ? await startBenchBed({ quick }) : null;
  const rows: ResultRow[] = [];
  const notes = new Map<string, string[]>();
  try {
    for (const scenario of chosen) {
      const t0 = performance.now();
      console.log(`[bench] ${scenario.name}…`);
      try {
        // Idle and peak RSS of the sidecar for every scenario that uses it (2 and 4 report their own).
        const pid = scenario.needsBed && ![2, 4].includes(scenario.n) ? bench!.sidecar.pid! : null;
        const idle = pid ? await rssBytes(pid) : 0;
        const rss = pid ? sampleRss(pid) : null;
        const result = await scenario.run(bench, quick).finally(() => rss?.stop());
        if (rss) {
          const peakMb = (await rss.stop()).peak / MB;
          const idleMb = idle / MB;
          result.rows.push({
            scenario: scenario.name,
            metric: 'sidecar RSS: idle before → peak during',
            unit: 'MB',
            direct: { median: idleMb, p95: idleMb, count: 1 },
            sidecar: { median: peakMb, p95: peakMb, count: 1 },
            ratio: peakMb / idleMb,
            goal: 'report',
            pass: null,
          });
        }
        rows.push(...result.rows);
        notes.set(scenario.name, result.notes);
        console.log(consoleTable(result.rows));
      } catch (error) {
        console.error(
          `[bench] ${scenario.name} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        notes.set(scenario.name, [`Failed: ${error instanceof Error ? error.message : String(error)}`]);
        process.exitCode = 1;
      }
      console.log(`[bench] ${scenario.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  } finally {
    await bench?.stop();
  }
  const durationS = (performance.now() - started) / 1000;
  console.log(`\n${consoleTable(rows)}\n`);
  const args = process.argv.slice(2).join(' ');
  await writeBenchmarksFile(path.resolve(import.meta.dirname, '..', 'BENCHMARKS.md'), rows, notes, {
    command: `npm run bench${args ? ` -- ${args}` : ''}`,
    durationS,
  });
  console.log(`[bench] done in ${durationS.toFixed(0)} s; wrote BENCHMARKS.md`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
