/**
 * Prints the gzipped size of the script-tag bundle and fails past the budget,
 * like the Lit starter's `checksize`. Run after `vite build`:
 *   node --import tsx scripts/widget-size.ts
 * The budget is for what every page loads; the chunks, loaded only on a page that
 * uses uploads or opens a preview, are printed beside it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const BUNDLE = 'dist/widget/generated-files.js';
const CHUNKS = [
  { file: 'dist/widget/generated-files-file-list-view.js', loaded: 'with the first list, beside it' },
  { file: 'dist/widget/generated-files-uploads-controller.js', loaded: 'with uploads only' },
  { file: 'dist/widget/generated-files-file-viewer.js', loaded: 'when a file first opens' },
  { file: 'dist/widget/generated-files-sandbox-links-controller.js', loaded: 'with sandbox-links only' },
  { file: 'dist/widget/generated-files-mcp-app.js', loaded: 'only in the MCP App, beside the bundle' },
];
/** Lit with `keyed` is about 6 kB gzipped; the element adds the rest. */
const BUDGET_BYTES = 16 * 1024;

const kB = (n: number) => `${(n / 1024).toFixed(2)} kB`;
const measure = (file: string) => {
  const bytes = readFileSync(file);
  return { raw: bytes.byteLength, gzipped: gzipSync(bytes, { level: 9 }).byteLength };
};

/**
 * A file the bundle imports statically (`from"./x.js"`, not `import("./x.js")`) loads on every
 * page too: the bundler may split shared code (Lit itself, once) into one. It counts.
 */
const staticImports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/\b(?:from|import)\s*["']\.\/([^"']+)["']/g)].map((m) =>
    path.join(path.dirname(file), m[1]!),
  );
const loadedByEveryPage = (file: string, seen = new Set<string>()): Set<string> => {
  if (seen.has(file)) return seen;
  seen.add(file);
  for (const next of staticImports(file)) loadedByEveryPage(next, seen);
  return seen;
};
const eager = [...loadedByEveryPage(BUNDLE)];
const bundle = eager.map(measure).reduce((a, b) => ({ raw: a.raw + b.raw, gzipped: a.gzipped + b.gzipped }));
if (eager.length > 1) console.log(`${BUNDLE} imports ${eager.slice(1).join(', ')} statically: counted in the budget.`);
console.log(
  `${BUNDLE}: ${kB(bundle.raw)} minified, ${kB(bundle.gzipped)} gzipped (${bundle.gzipped} B; budget ${kB(BUDGET_BYTES)})`,
);
// Code the chunks share, split out by the bundler, loads with the first of them.
const shared = readdirSync('dist/widget')
  .filter((f) => /^generated-files-.+\.js$/.test(f))
  .map((f) => `dist/widget/${f}`)
  .filter((f) => !eager.includes(f) && !CHUNKS.some((c) => c.file === f))
  .map((file) => ({ file, loaded: 'with the chunks that share it' }));
for (const { file, loaded } of [...CHUNKS, ...shared]) {
  const chunk = measure(file);
  console.log(
    `${file}: ${kB(chunk.raw)} minified, ${kB(chunk.gzipped)} gzipped (${chunk.gzipped} B), loaded ${loaded}`,
  );
}
if (bundle.gzipped > BUDGET_BYTES) {
  console.error(`Over budget by ${kB(bundle.gzipped - BUDGET_BYTES)}.`);
  process.exitCode = 1;
}
