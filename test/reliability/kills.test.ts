/**
 * Processes killed with SIGKILL: the kernel in the middle of an execution, and the sidecar in
 * the middle of a burst of writes. Nothing is lost: what was written is recorded, every record
 * has its bytes, and what changed while the sidecar was down is found by the next execution.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileListResponse } from '../../contract/files-api.ts';
import { LowdbRecordStore } from '../../proxy/storage/lowdb-record-store.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { lost, reportAfter, survived } from './reliability-counter.ts';
import { waitFor } from './reliability-helpers.ts';

reportAfter('kills');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
const burstChild = fileURLToPath(new URL('./burst-child.ts', import.meta.url));
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

let bed: TestBed;
let proxy: RunningSidecar;

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(bed, {}, {}, { FILES_API_SECRET: SECRET });
});

after(async () => {
  await proxy?.stop();
  await bed?.stop();
});

async function openKernel(sidecar: RunningSidecar, chat: string): Promise<RawKernelClient> {
  const base = `${sidecar.url}chats/${chat}/`;
  const res = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  return RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'legacy',
  );
}

async function listFiles(sidecar: RunningSidecar, chat: string): Promise<FileListResponse> {
  const res = await fetch(`${sidecar.url}sidecar/v1/chats/${chat}/files`, {
    headers: { authorization: `Bearer ${await signToken(SECRET, { chat })}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as FileListResponse;
}

describe('the kernel killed mid-execution', () => {
  test('the execution ends with the restart, and the file it wrote is recorded', async () => {
    const client = await openKernel(proxy, 'kernel-kill');
    const msgId = client.send('shell', 'execute_request', {
      code: "open('/mnt/data/partial.csv', 'w').write('a,b\\n1,2\\n')\nimport os\nos.kill(os.getpid(), 9)",
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
    });
    // Jupyter notices the dead kernel (it polls every 3 s), restarts it and says so on iopub.
    const state = await waitFor(
      'status restarting or dead',
      () =>
        client.received.find(
          (m) => m.header.msg_type === 'status' && ['restarting', 'dead'].includes(m.content.execution_state),
        )?.content.execution_state as string | undefined,
      20_000,
    );
    assert.ok(['restarting', 'dead'].includes(state));
    assert.ok(
      !client.received.some((m) => m.header.msg_type === 'execute_reply' && m.parent_header.msg_id === msgId),
      'a killed kernel sends no reply',
    );
    const file = await waitFor(
      'partial.csv recorded',
      async () => (await listFiles(proxy, 'kernel-kill')).files.find((f) => f.path === 'partial.csv'),
      5000,
    ).catch(() => null);
    if (!file) lost(1);
    assert.ok(file, 'the file written before the kill is listed');
    assert.equal(file.execution?.msgId, msgId);
    assert.equal(
      await (
        await fetch(new URL(file.downloadUrl, proxy.url), {
          headers: { authorization: `Bearer ${await signToken(SECRET, { chat: 'kernel-kill' })}` },
        })
      ).text(),
      'a,b\n1,2\n',
    );
    await client.close();

    // The restarted kernel works, and keeps the chat's workspace.
    const again = await openKernel(proxy, 'kernel-kill');
    const run = await again.execute("import os\nprint(os.listdir('/mnt/data'))");
    assert.equal(run.stream, "['partial.csv']\n");
    await again.close();
    survived();
  });
});

describe('the sidecar killed during a burst, then restarted', () => {
  test('the store is valid, every record has its bytes, and changes made while it was down are found', async () => {
    const chat = 'burst';
    const dataDir = path.join(bed.dir, 'kill-store');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        burstChild,
        JSON.stringify({
          dir: bed.dir,
          workspaceRoot: bed.workspaceRoot,
          dataDir,
          jupyterUrl: bed.jupyter.url,
          token: bed.jupyter.token,
          chat,
        }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.once('exit', (_code, signal) => resolve(signal)),
    );
    let kernelId = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        kernelId ||= /kernel (\S+)/.exec(d.toString())?.[1] ?? '';
        if (d.toString().includes('ready')) resolve();
      });
      child.once('exit', () => reject(new Error(`burst child exited early: ${stderr}`)));
    });
    await new Promise((r) => setTimeout(r, 150 + Math.random() * 300));
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL');

    // The store as the kill left it.
    const records = await new LowdbRecordStore(dataDir).listChat(chat);
    JSON.parse(await readFile(path.join(dataDir, 'kernels.json'), 'utf8'));
    assert.ok(records.length >= 15, `at least three executions recorded, got ${records.length}`);
    let missing = 0;
    for (const record of records) {
      const blob = await readFile(path.join(dataDir, 'blobs', record.sha256.slice(0, 2), record.sha256)).catch(
        () => null,
      );
      if (!blob || sha256(blob) !== record.sha256 || blob.length !== record.size) missing++;
    }
    // No blob name holds anything but the bytes it is named after (a half-written copy stays a temp file).
    for (const shard of (await readdir(path.join(dataDir, 'blobs'))).filter((d) => /^[0-9a-f]{2}$/.test(d))) {
      for (const name of await readdir(path.join(dataDir, 'blobs', shard))) {
        assert.equal(sha256(await readFile(path.join(dataDir, 'blobs', shard, name))), name);
      }
    }
    lost(missing);
    assert.equal(missing, 0, 'every record has its blob');

    // While it is down, others change the workspace, once the kernel has finished the loop it was in.
    await waitFor('the kernel idle after the kill', async () => {
      const res = await fetch(`${bed.jupyter.url}api/kernels/${kernelId}?token=${bed.jupyter.token}`);
      return ((await res.json()) as { execution_state?: string }).execution_state === 'idle';
    });
    const workspace = path.join(bed.workspaceRoot, chat);
    await writeFile(path.join(workspace, 'while-down.csv'), 'written,while\nthe sidecar,was down\n');
    await writeFile(path.join(workspace, 'f0.csv'), 'changed while down\n');

    const restarted = await startSidecar(bed, { 'data-dir': dataDir }, {}, { FILES_API_SECRET: SECRET });
    try {
      const client = await openKernel(restarted, chat);
      await client.execute('1 + 1');
      await client.close();
      const files = (await listFiles(restarted, chat)).files;
      let notRecorded = 0;
      for (const name of [...(await readdir(workspace)).filter((n) => n.endsWith('.csv'))]) {
        const onDisk = sha256(await readFile(path.join(workspace, name)));
        if (files.find((f) => f.path === name)?.sha256 !== onDisk) notRecorded++;
      }
      lost(notRecorded);
      assert.equal(notRecorded, 0, 'the current bytes of every file are recorded');
      assert.equal(files.find((f) => f.path === 'while-down.csv')?.source, 'between-executions');
      assert.ok(files.find((f) => f.path === 'f0.csv')!.version >= 2);
      survived();
    } finally {
      await restarted.stop();
    }
  });
});
