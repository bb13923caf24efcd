/**
 * The real CLI, with no gateway given, starts its own Jupyter Server; when its port is taken it
 * says how to pick another and leaves nothing running (the Jupyter Server it started is stopped).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

/** Processes whose command line names `text` (the test's own temp folder). */
async function processesNaming(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

test('a taken port: the sidecar says how to pick another and stops the Jupyter Server it started', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-port-taken-'));
  const squatter = net.createServer().listen(0, '127.0.0.1');
  await once(squatter, 'listening');
  const { port } = squatter.address() as net.AddressInfo;
  try {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'proxy/main.ts',
        '--port',
        String(port),
        '--workspace-root',
        path.join(dir, 'ws'),
        '--data-dir',
        path.join(dir, 'data'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    const [code] = (await once(child, 'exit')) as [number];
    assert.match(stdout, /starting a local Jupyter Server/, 'it did start one');
    assert.equal(code, 1, stderr);
    assert.match(stderr, new RegExp(`ERR_PORT_TAKEN: Port ${port} on 127\\.0\\.0\\.1 is taken`));
    assert.match(stderr, /Pick another with --port 8891 \(or SIDECAR_PORT=8891\), or --port 0/);
    assert.doesNotMatch(stderr, /at \w+ \(/, 'no stack trace');
    assert.deepEqual(await processesNaming(dir), [], 'nothing it started is left running');
  } finally {
    squatter.close();
    await rm(dir, { recursive: true, force: true });
  }
});
