import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const tracked = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
  cwd: repoRoot,
  encoding: 'utf8',
})
  .split('\n')
  .filter(Boolean);

/** The docs that describe the tree as it is (CHANGELOG.md is history: it may name old paths). */
const DOCS = ['README.md', 'ARCHITECTURE.md', 'widget/README.md', ...tracked.filter((f) => f.endsWith('NOTES.md'))];

/** A bare name in backticks with one of these extensions is read as a source file of this repo. */
const SOURCE_FILE = /^[\w.-]+\.(ts|mjs|cjs|md|sh|py)$/;
/** A name with a slash is read as a repo path when it starts with one of the repo's folders. */
const repoFolders = new Set(tracked.flatMap((f) => f.split('/').slice(0, -1)));
const ANY_FILE = /\.(ts|js|mjs|cjs|json|md|sh|py|yaml|yml|html|css)$/;

/**
 * The repo paths a doc names in backticks: `proxy/options.ts`, `api/files-routes.ts` (under a
 * room's heading), `kernel-channels.ts`. Not URLs, absolute or home paths (the running system's),
 * patterns or placeholders, other projects' files (`backend/open_webui/...`), nor what the build
 * writes (bundles, `.d.ts`, `custom-elements.json`).
 */
function namedPaths(text: string): string[] {
  const names = new Set<string>();
  for (const [, code] of text.matchAll(/`([^`\s]+)`/g)) {
    const name = code!.replace(/[.,:;)]+$/, '').replace(/:\d+(-\d+)?$/, '');
    if (/^(\/|~|\.\.?\/|[a-z]+:)/.test(name) || /[{}<>*$\\]/.test(name) || name.endsWith('.d.ts')) continue;
    const slash = name.indexOf('/');
    const isRepoPath =
      slash > 0 ? repoFolders.has(name.slice(0, slash)) && ANY_FILE.test(name) : SOURCE_FILE.test(name);
    if (isRepoPath && !name.startsWith('.')) names.add(name);
  }
  return [...names];
}

/** Does the tree hold it: from the root, from the doc's folder, or as the tail of a tracked path? */
function exists(name: string, doc: string): boolean {
  const fromDoc = path.posix.join(path.posix.dirname(doc), name);
  return tracked.some((file) => file === name || file === fromDoc || file.endsWith(`/${name}`));
}

it('README, ARCHITECTURE, widget/README and every NOTES.md name only paths that exist', () => {
  const missing: string[] = [];
  for (const doc of DOCS) {
    const text = readFileSync(path.join(repoRoot, doc), 'utf8');
    for (const name of namedPaths(text)) if (!exists(name, doc)) missing.push(`${doc}: ${name}`);
  }
  assert.deepEqual(missing, []);
});
