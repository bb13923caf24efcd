import { readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { summarize, type Summary } from './stats.ts';

/** One line of the table: a metric measured directly (the baseline) and through the sidecar, in the same run. */
export interface ResultRow {
  scenario: string;
  metric: string;
  unit: string;
  /** The baseline; what it is is said in the metric or the scenario's notes. */
  direct: Summary;
  sidecar: Summary;
  /** sidecar / direct of the medians. */
  ratio: number;
  goal: string;
  /** null: reported, no goal. */
  pass: boolean | null;
  /** Shown after the verdict, e.g. the added milliseconds a goal is about. */
  detail?: string;
}

export interface ScenarioResult {
  rows: ResultRow[];
  notes: string[];
}

const HEADERS = [
  '#',
  'Scenario',
  'Metric',
  'Unit',
  'Direct median',
  'Sidecar median',
  'Direct p95',
  'Sidecar p95',
  'Ratio',
  'Goal',
  'Result',
];

/**
 * A row of two sample sets in ms, baseline (`a`) against the measured side (`b`), compared by
 * their medians; `pass` judges the medians (null: reported only).
 */
export function medianRow(
  scenario: string,
  metric: string,
  samples: { a: readonly number[]; b: readonly number[] },
  goal: string,
  pass: (sidecar: number, direct: number) => boolean | null,
): ResultRow {
  const direct = summarize(samples.a);
  const sidecar = summarize(samples.b);
  return {
    scenario,
    metric,
    unit: 'ms',
    direct,
    sidecar,
    ratio: sidecar.median / direct.median,
    goal,
    pass: pass(sidecar.median, direct.median),
  };
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '–';
  if (Number.isInteger(value) && Math.abs(value) < 1000) return String(value);
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString('en-US');
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

function verdict(row: ResultRow): string {
  const word = row.pass === null ? 'report' : row.pass ? 'pass' : 'MISS';
  return row.detail ? `${word} (${row.detail})` : word;
}

function cells(row: ResultRow, index: number): string[] {
  return [
    String(index),
    row.scenario,
    row.metric,
    row.unit,
    formatNumber(row.direct.median),
    formatNumber(row.sidecar.median),
    formatNumber(row.direct.p95),
    formatNumber(row.sidecar.p95),
    Number.isFinite(row.ratio) ? row.ratio.toFixed(3) : '–',
    row.goal,
    verdict(row),
  ];
}

export function consoleTable(rows: readonly ResultRow[]): string {
  const table = [HEADERS, ...rows.map((row, i) => cells(row, i + 1))];
  const widths = HEADERS.map((_, c) => Math.max(...table.map((line) => line[c]!.length)));
  return table
    .map((line) =>
      line
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function markdownTable(rows: readonly ResultRow[]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  const lines = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`];
  rows.forEach((row, i) =>
    lines.push(
      `| ${cells(row, i + 1)
        .map(escape)
        .join(' | ')} |`,
    ),
  );
  return lines.join('\n');
}

export function machineDescription(): string {
  const cpus = os.cpus();
  const gib = (os.totalmem() / 1024 ** 3).toFixed(1);
  return `${cpus.length} cores (${cpus[0]?.model.trim() ?? 'unknown CPU'}), ${gib} GiB memory, Node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}`;
}

const BEGIN = '<!-- bench:begin (written by `npm run bench`; edit outside these markers) -->';
const END = '<!-- bench:end -->';

/** Replaces the generated part of BENCHMARKS.md and keeps whatever was written around it. */
export async function writeBenchmarksFile(
  file: string,
  rows: readonly ResultRow[],
  notes: ReadonlyMap<string, readonly string[]>,
  info: { command: string; durationS: number },
): Promise<void> {
  const generated = [
    BEGIN,
    '',
    `Run ${new Date().toISOString()} with \`${info.command}\` (${info.durationS.toFixed(0)} s) on ${machineDescription()}.`,
    '',
    markdownTable(rows),
    '',
    'Ratio is sidecar / direct of the medians. Direct is the baseline measured in the same run, alternating with the sidecar (A B A B ...).',
    '',
    ...[...notes].flatMap(([scenario, lines]) =>
      lines.length ? [`**${scenario}**`, '', ...lines.map((l) => `- ${l}`), ''] : [],
    ),
    END,
  ].join('\n');
  let existing: string | null = null;
  try {
    existing = await readFile(file, 'utf8');
  } catch {
    // first run
  }
  let text: string;
  if (existing && existing.includes(BEGIN) && existing.includes(END)) {
    text = existing.slice(0, existing.indexOf(BEGIN)) + generated + existing.slice(existing.indexOf(END) + END.length);
  } else {
    text = `# Benchmarks\n\nHow the sidecar compares with talking to the gateway directly. \`npm run bench\` (or \`-- --quick\`, \`-- --only N\`) rewrites the part between the markers.\n\n${generated}\n`;
  }
  await writeFile(file, text);
}
