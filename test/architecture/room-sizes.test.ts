import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const lines = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8').split('\n');

/** Lines of the function whose declaration line matches `header`, up to its closing brace at the same indent. */
function functionLength(file: string, header: RegExp): number {
  const source = lines(file);
  const start = source.findIndex((line) => header.test(line));
  assert.ok(start >= 0, `${file} declares ${header}`);
  const indent = /^\s*/.exec(source[start]!)![0];
  const end = source.findIndex((line, i) => i > start && line === `${indent}}`);
  assert.ok(end > start, `${header} ends in ${file}`);
  return end - start + 1;
}

it('the recorder stays one room: under 300 lines (scans; uploads, copies, the quota and the commit are their own)', () => {
  const count = lines('proxy/artifacts/artifact-recorder.ts').length;
  assert.ok(count < 300, `artifact-recorder.ts has ${count} lines`);
});

it('handleUpgrade reads as validate-then-complete: under 50 lines', () => {
  const count = functionLength('proxy/gateway/kernel-channels.ts', /^\s*async function handleUpgrade\(/);
  assert.ok(count < 50, `handleUpgrade has ${count} lines`);
});
