/**
 * Prints the gzipped size of the script-tag bundle and fails past the budget,
 * like the Lit starter's `checksize`. Run after `vite build`:
 *   node --import tsx scripts/widget-size.ts
 * The budget is for what every page loads; the chunks, loaded only on a page that
 * uses uploads or opens a preview, are printed beside it.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

const BUNDLE = 'dist/widget/generated-files.js';
const CHUNKS = [
  { file: 'dist/widget/generated-files-file-list-view.js', loaded: 'with the first list, beside it' },
  { file: 'dist/widget/generated-files-uploads-controller.js', loaded: 'with uploads only' },
  { file: 'dist/widget/generated-files-preview-view.js', loaded: 'when a preview first opens' },
  { file: 'dist/widget/generated-files-sandbox-links-controller.js', loaded: 'with sandbox-links only' },
];
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
for (const { file, loaded } of CHUNKS) {
  const chunk = measure(file);
  console.log(
    `${file}: ${kB(chunk.raw)} minified, ${kB(chunk.gzipped)} gzipped (${chunk.gzipped} B), loaded ${loaded}`,
  );
}
if (bundle.gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${kB(bundle.gzipped - BUDGET_BYTES)}.`);
  process.exitCode = 1;
}
