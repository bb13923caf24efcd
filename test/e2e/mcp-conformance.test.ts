/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, server mode, its active
 * suite) against the sidecar's /mcp in front of a real Jupyter Server. The suite needs Node 22+,
 * so it runs under the Node 22 binary scripts/setup.sh caches (scripts/node-binary.sh). Scenarios
 * that need another server's fixtures are in test/mcp/conformance-baseline.json, each with its
 * reason; the suite's own exit status fails this test when any other scenario fails, or when a
 * baseline scenario passes (a stale entry).
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'node_modules/@modelcontextprotocol/conformance/dist/index.js');
const BASELINE = path.join(ROOT, 'test/mcp/conformance-baseline.json');

let bed: TestBed;
let proxy: RunningSidecar;
let scratch: string;

before(async () => {
  bed = await startTestBed();
  // No MCP_API_KEY: the suite's client sends no credentials, and loopback callers are let in.
  proxy = await startSidecar(bed, { mcp: 'true' }, {}, { GATEWAY_TOKEN: bed.jupyter.token });
  scratch = await mkdtemp(path.join(tmpdir(), 'gf-conformance-'));
});
after(async () => {
  await proxy?.stop();
  await bed?.stop();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** The cached Node 22 binary (never the registry: scripts/setup.sh fetched it). */
async function node22(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)('bash', [path.join(ROOT, 'scripts/node-binary.sh'), '22', '--cached']);
    return stdout.trim();
  } catch {
    throw new Error('No Node 22 binary is cached: run scripts/setup.sh (or `bash scripts/node-binary.sh 22`) first.');
  }
}

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: scratch, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

test('every applicable conformance scenario passes; the baseline names only scenarios that fail, each with a reason', async () => {
  const node = await node22();
  const baseline = (JSON.parse(await readFile(BASELINE, 'utf8')) as { server: Record<string, string> }).server;
  for (const [scenario, reason] of Object.entries(baseline))
    assert.ok(reason.trim().length > 20, `the baseline gives ${scenario} a reason`);

  const listed = await run(node, [CLI, 'list', '--server']);
  const known = new Set([...listed.output.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!));
  assert.ok(known.size > 20, listed.output);
  for (const scenario of Object.keys(baseline))
    assert.ok(known.has(scenario), `${scenario} is a scenario of the suite`);

  // The suite's own baseline format (YAML), written from ours.
  const expected = path.join(scratch, 'expected-failures.yml');
  await writeFile(
    expected,
    `server:\n${Object.keys(baseline)
      .map((s) => `  - ${s}\n`)
      .join('')}`,
  );
  const results = path.join(scratch, 'results');
  const { code, output } = await run(node, [
    CLI,
    'server',
    '--url',
    new URL('mcp', proxy.url).href,
    '--expected-failures',
    expected,
    '--output-dir',
    results,
  ]);
  const summary = output.slice(output.lastIndexOf('=== SUMMARY ==='));
  assert.equal(
    code,
    0,
    `the conformance suite failed outside the baseline (or a baseline entry now passes):\n${summary}`,
  );

  // Every scenario of the active suite ran, and those outside the baseline passed every check.
  const ran = await readdir(results);
  const passed: string[] = [];
  for (const scenario of known) {
    const dir = ran.find((d) => d.startsWith(`server-${scenario}-`));
    if (!dir) continue; // not in the active suite (pending)
    const checks = JSON.parse(await readFile(path.join(results, dir, 'checks.json'), 'utf8')) as {
      id: string;
      status: string;
    }[];
    const failed = checks.filter((c) => c.status === 'FAILURE');
    if (scenario in baseline) assert.ok(failed.length > 0, `${scenario} passes now: take it out of the baseline`);
    else {
      assert.deepEqual(failed, [], `${scenario} failed`);
      passed.push(scenario);
    }
  }
  for (const scenario of ['server-initialize', 'ping', 'tools-list', 'resources-list', 'dns-rebinding-protection'])
    assert.ok(passed.includes(scenario), `${scenario} ran and passed`);
});
