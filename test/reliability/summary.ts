/**
 * Runs the reliability suite the way CI does and adds up the per-file lines into one:
 *   reliability: 143 bad inputs refused, 9 faults survived, 0 records lost
 * Usage: node --import tsx test/reliability/summary.ts
 * Exits with the test run's status, and non-zero when a record was lost.
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LINE_PATTERN, type ReliabilityCounts } from './reliability-counter.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here)
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => path.join(here, f));
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
  stdio: ['ignore', 'pipe', 'inherit'],
});

const total: ReliabilityCounts = { refused: 0, survived: 0, lost: 0 };
const seen = new Set<string>();
let pending = '';
child.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  pending += chunk.toString();
  const lines = pending.split('\n');
  pending = lines.pop()!;
  for (const line of lines) {
    const match = LINE_PATTERN.exec(line);
    if (!match || seen.has(match[1]!)) continue;
    seen.add(match[1]!);
    total.refused += Number(match[2]);
    total.survived += Number(match[3]);
    total.lost += Number(match[4]);
  }
});

child.on('close', (code) => {
  console.log(
    `reliability: ${total.refused} bad inputs refused, ${total.survived} faults survived, ${total.lost} records lost (${seen.size} of ${files.length} files reported)`,
  );
  process.exit(code || (total.lost > 0 ? 1 : 0));
});
