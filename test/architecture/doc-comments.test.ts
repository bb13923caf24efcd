import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const sources = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => /^(proxy|widget|contract)\/.*\.ts$/.test(f) && !f.endsWith('.d.ts'));

/**
 * Doc comments stranded right above another doc comment: the first no longer documents anything
 * (an editor shows only the last), which is how a class's doc ended up on a helper function moved
 * in between. A file's header comment stands apart, after it a blank line.
 */
function strandedDocs(text: string): number[] {
  const lines: number[] = [];
  for (const m of text.matchAll(/\/\*\*(?:[^*]|\*(?!\/))*\*\/[ \t]*\n[ \t]*\/\*\*/g))
    lines.push(text.slice(0, m.index).split('\n').length);
  return lines;
}

it('no doc comment is stranded above another (it would document nothing)', () => {
  const found = sources.flatMap((file) =>
    strandedDocs(readFileSync(path.join(repoRoot, file), 'utf8')).map((line) => `${file}:${line}`),
  );
  assert.deepEqual(found, []);
});

it('finds a stranded doc comment', () => {
  assert.deepEqual(strandedDocs('/** A class. */\n/** A helper. */\nfunction f() {}\n'), [1]);
  assert.deepEqual(strandedDocs('/** A helper. */\nfunction f() {}\n\n/** A class. */\nclass C {}\n'), []);
  assert.deepEqual(strandedDocs('/** The module. */\n\n/** A helper. */\nfunction f() {}\n'), [], 'a header');
});
