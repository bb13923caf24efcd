import { after } from 'node:test';

/**
 * What a reliability test file tried, counted as it goes: bad inputs refused, faults survived,
 * records lost. Each test file runs in its own process, so each prints its own line from an
 * `after` hook; `summary.ts` adds the lines up.
 */
export interface ReliabilityCounts {
  refused: number;
  survived: number;
  lost: number;
}

const counts: ReliabilityCounts = { refused: 0, survived: 0, lost: 0 };

/** A bad input the sidecar refused (or neutralized: nothing written or served where it should not be). */
export function refused(n = 1): void {
  counts.refused += n;
}

/** A fault the sidecar lived through. */
export function survived(n = 1): void {
  counts.survived += n;
}

/** Records that should exist and do not (or exist without their bytes). Tests assert this stays 0. */
export function lost(n: number): void {
  counts.lost += n;
}

export function formatLine(label: string, c: ReliabilityCounts): string {
  return `reliability[${label}]: ${c.refused} bad inputs refused, ${c.survived} faults survived, ${c.lost} records lost`;
}

/** The line summary.ts reads back: `reliability[label]: N bad inputs refused, N faults survived, N records lost`. */
export const LINE_PATTERN =
  /reliability\[([\w-]+)\]: (\d+) bad inputs refused, (\d+) faults survived, (\d+) records lost/;

/** Print this file's line once its tests are done. */
export function reportAfter(label: string): void {
  after(() => {
    process.stdout.write(`${formatLine(label, counts)}\n`);
  });
}
