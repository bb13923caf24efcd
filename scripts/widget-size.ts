/**
 * Prints the gzipped size of the script-tag bundle and fails past the budget,
 * like the Lit starter's `checksize`. Run after `vite build`:
 *   node --import tsx scripts/widget-size.ts
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUNDLE = 'dist/widget/generated-files.js';
/** Lit with `repeat` is about 6.7 kB gzipped; the element adds the rest. */
const BUDGET_BYTES = 16 * 1024;

const bytes = readFileSync(BUNDLE);
const gzipped = gzipSync(bytes, { level: 9 }).byteLength;
const kB = (n: number) => `${(n / 1024).toFixed(2)} kB`;
console.log(`${BUNDLE}: ${kB(bytes.byteLength)} minified, ${kB(gzipped)} gzipped (budget ${kB(BUDGET_BYTES)})`);
if (gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${kB(gzipped - BUDGET_BYTES)}.`);
  process.exitCode = 1;
}
