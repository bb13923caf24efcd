/**
 * Prints the gzipped size of the script-tag bundle and fails past the budget,
 * like the Lit starter's `checksize`. Run after `vite build`:
 *   node --import tsx scripts/widget-size.ts
 * The budget is for what every page loads; the upload chunk, loaded only with
 * `uploads`, is printed beside it.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUNDLE = 'dist/widget/generated-files.js';
const UPLOADS_CHUNK = 'dist/widget/generated-files-uploads-controller.js';
/** Lit with `keyed` is about 6 kB gzipped; the element adds the rest. */
const BUDGET_BYTES = 16 * 1024;

const kB = (n: number) => `${(n / 1024).toFixed(2)} kB`;
const measure = (file: string) => {
  const bytes = readFileSync(file);
  return { raw: bytes.byteLength, gzipped: gzipSync(bytes, { level: 9 }).byteLength };
};

const bundle = measure(BUNDLE);
console.log(
  `${BUNDLE}: ${kB(bundle.raw)} minified, ${kB(bundle.gzipped)} gzipped (${bundle.gzipped} B; budget ${kB(BUDGET_BYTES)})`,
);
const uploads = measure(UPLOADS_CHUNK);
console.log(`${UPLOADS_CHUNK}: ${kB(uploads.raw)} minified, ${kB(uploads.gzipped)} gzipped, loaded with uploads only`);
if (bundle.gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${kB(bundle.gzipped - BUDGET_BYTES)}.`);
  process.exitCode = 1;
}
