import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { helpText, LOCAL_JUPYTER_VARIABLES, type Option, OPTIONS, shownDefault } from '../../proxy/options.ts';

interface Row {
  flag: string | null;
  env: string;
  shown: string;
}

/** The options table, as README should show it: one row per environment variable. */
function tableRows(): Row[] {
  return [
    ...Object.values(OPTIONS).map((o: Option<unknown>) => ({ flag: o.flag, env: o.env, shown: shownDefault(o) })),
    ...LOCAL_JUPYTER_VARIABLES.map((v) => ({ flag: null, env: v.env, shown: v.shown })),
  ];
}

/** The rows of the first Markdown table under README's `## Configuration`, backticks dropped from the default. */
function readmeRows(): Row[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## Configuration\s*$/m)[1];
  assert.ok(section, 'README.md has a "## Configuration" section');
  const lines = section.split('\n');
  const start = lines.findIndex((l) => l.startsWith('|'));
  assert.notEqual(start, -1, 'the Configuration section has a table');
  const end = lines.findIndex((l, i) => i > start && !l.startsWith('|'));
  const table = lines.slice(start, end === -1 ? undefined : end);
  const [header, separator, ...body] = table;
  assert.match(header!, /^\|\s*Flag\s*\|\s*Environment\s*\|\s*Default\s*\|/);
  assert.match(separator!, /^\|\s*-+/);
  return body.map((line) => {
    const [flagCell, envCell, defaultCell] = line
      .split('|')
      .slice(1, 4)
      .map((c) => c.trim());
    const envs = [...envCell!.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!);
    assert.equal(envs.length, 1, `one environment variable per README row: ${line}`);
    return {
      flag: /`--([a-z0-9-]+)`/.exec(flagCell!)?.[1] ?? null,
      env: envs[0]!,
      shown: defaultCell!.replaceAll('`', ''),
    };
  });
}

test("README's configuration table lists every option with its flag, variable and default, and nothing else", () => {
  const expected = new Map(tableRows().map((r) => [r.env, r]));
  const documented = new Map(readmeRows().map((r) => [r.env, r]));
  const missing = [...expected.keys()].filter((env) => !documented.has(env));
  const extra = [...documented.keys()].filter((env) => !expected.has(env));
  assert.deepEqual(missing, [], 'options missing from README (add a row)');
  assert.deepEqual(extra, [], 'README rows with no option in proxy/options.ts (remove them)');
  for (const [env, row] of expected) {
    assert.deepEqual(documented.get(env), row, `README's row for ${env} differs from proxy/options.ts`);
  }
});

test('--help lists every option: flag, variable and default', () => {
  const help = helpText();
  for (const row of tableRows()) {
    if (row.flag) assert.match(help, new RegExp(`^  --${row.flag} +${row.env}\\b`, 'm'), row.flag);
    else assert.match(help, new RegExp(`^ +${row.env}\\b`, 'm'), row.env);
    assert.ok(help.includes(`Default: ${row.shown}.`), `${row.env}: default ${row.shown}`);
  }
});

test('every flag and variable is named once', () => {
  const rows = tableRows();
  const flags = rows.map((r) => r.flag).filter((f) => f !== null);
  assert.equal(new Set(flags).size, flags.length);
  assert.equal(new Set(rows.map((r) => r.env)).size, rows.length);
});
