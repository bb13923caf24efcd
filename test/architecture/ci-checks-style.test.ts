import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const read = (file: string) => readFileSync(path.join(repoRoot, file), 'utf8');

it("CI runs README's test command, and that command checks formatting and lint before the tests", () => {
  const readmeCommand = /## Test it\s+```sh\n([^\n]+)\n```/.exec(read('README.md'))?.[1]?.trim();
  assert.ok(readmeCommand, "README's Test it section shows one command");
  const ciCommands = read('.ci/run')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#') && !/^(set|cd|bash scripts\/setup\.sh)\b/.test(line));
  assert.deepEqual(ciCommands, [readmeCommand]);
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const script = /^npm run (\S+)$/.exec(readmeCommand)?.[1];
  assert.ok(script && scripts[script], `${readmeCommand} is a package.json script`);
  const steps = scripts[script].split('&&').map((s) => s.trim());
  for (const step of ['npm run format:check', 'npm run lint', 'npm test']) assert.ok(steps.includes(step), step);
  assert.match(scripts['format:check']!, /^prettier --check /);
  assert.match(scripts.lint!, /^eslint /);
});
