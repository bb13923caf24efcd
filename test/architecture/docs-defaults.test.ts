import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { DEFAULT_TRACKED_EXTENSIONS } from '../../proxy/workspace/tracking-policy.ts';

const repoRoot = path.resolve(import.meta.dirname, '../..');

it("README's list of the extensions recorded by default is the policy's list", () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const sentence = /By default, the sidecar records ([^.]+) files\./.exec(readme.replace(/\s+/g, ' '))?.[1];
  assert.ok(sentence, "README's sentence on the default extensions");
  assert.deepEqual(sentence.split(/, | and /), [...DEFAULT_TRACKED_EXTENSIONS]);
});
