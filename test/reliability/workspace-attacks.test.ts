/**
 * Kernel code attacking the sidecar through the workspace, for real: a Python thread inside a real
 * kernel flips a subfolder between a real folder and a symlink (to another chat's workspace, and
 * to the sidecar's own data folder) while executions and uploads run; swaps a FIFO in for a file
 * it keeps rewriting; hard-links another chat's file into its workspace. The sidecar runs as its
 * own process (proxy/main.ts), so the last test can stop it with SIGTERM.
 * Asserted: nothing from outside the chat is recorded or downloadable, nothing is written outside
 * it, health and lists keep answering, and SIGTERM stops the process.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { signToken } from '../support/tokens.ts';
import type { FileListResponse } from '../../contract/files-api.ts';
import { startTestBed, type TestBed } from '../support/harness.ts';
import { freePort } from '../support/free-port.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { refused, reportAfter, survived } from './reliability-counter.ts';
import { listTree, waitFor } from './reliability-helpers.ts';

reportAfter('workspace-attacks');

const SECRET = 'reliability-secret-that-is-at-least-32-bytes!';
const MARKER = 'VICTIM-SECRET-7f3a';
const SIDECAR_FDS = 4096;
const mainTs = fileURLToPath(new URL('../../proxy/main.ts', import.meta.url));

let bed: TestBed;
let sidecar: ChildProcess;
let base: string;
let dataDir: string;
let sidecarLog = '';

const auth = async (chat: string) => ({ authorization: `Bearer ${await signToken(SECRET, { chat })}` });

async function listFiles(chat: string): Promise<FileListResponse> {
  const res = await fetch(`${base}sidecar/v1/chats/${chat}/files`, { headers: await auth(chat) });
  assert.equal(res.status, 200);
  return (await res.json()) as FileListResponse;
}

async function upload(chat: string, rel: string, body: string): Promise<number> {
  const res = await fetch(`${base}sidecar/v1/chats/${chat}/uploads/${rel}`, {
    method: 'PUT',
    headers: await auth(chat),
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

async function health(): Promise<{ status: number; body: { status: string; fs: string } }> {
  const res = await fetch(`${base}sidecar/v1/health`);
  return { status: res.status, body: (await res.json()) as { status: string; fs: string } };
}

async function openKernel(chat: string): Promise<RawKernelClient> {
  const res = await fetch(`${base}chats/${chat}/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  return RawKernelClient.connect(
    `${base.replace(/^http/, 'ws')}chats/${chat}/api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    'legacy',
  );
}

async function run(client: RawKernelClient, code: string): Promise<string> {
  const result = await client.execute(code, { timeoutMs: 30_000 });
  assert.equal(result.reply?.content.status, 'ok', JSON.stringify(result.reply?.content).slice(0, 500));
  return result.stream;
}

/** Every recorded version of a chat: none may hold the victim's bytes or the sidecar's own files. */
async function assertNothingFromOutside(chat: string): Promise<number> {
  const list = await listFiles(chat);
  let checked = 0;
  for (const file of list.files) {
    for (const version of file.versions) {
      const res = await fetch(new URL(version.downloadUrl, base), { headers: await auth(chat) });
      const text = await res.text();
      assert.ok(!text.includes(MARKER), `${file.path} v${version.version} holds the victim's secret`);
      assert.ok(
        !text.includes('"records"') && !text.includes('"chatId":"victim"'),
        `${file.path} holds the sidecar's records`,
      );
      checked++;
    }
    assert.ok(!/^(sub|swap)\/(records|blobs|kernels)/.test(file.path), `${file.path} is the sidecar's data`);
  }
  return checked;
}

/** The victim's workspace and the sidecar's data folder hold nothing the attacker wrote. */
async function assertNothingWrittenOutside(): Promise<void> {
  const victim = await listTree(path.join(bed.workspaceRoot, 'victim'));
  assert.deepEqual(victim, ['secret/', `secret/s.csv (${MARKER.length + 1})`]);
  const data = await listTree(dataDir);
  assert.ok(
    !data.some((p) => /up-\d+|own|w\d+\.csv/.test(p)),
    `written into the data folder: ${data.filter((p) => /up-|own|w\d/.test(p)).join(', ')}`,
  );
}

before(async () => {
  bed = await startTestBed();
  dataDir = path.join(bed.dir, 'store');
  const port = await freePort();
  // A hard limit on fds (Node raises its soft limit to it), so a walk that holds one fd per folder
  // level of a deep tree runs out (EMFILE) here, whatever the machine's own limit.
  sidecar = spawn(
    'prlimit',
    [
      `--nofile=${SIDECAR_FDS}:${SIDECAR_FDS}`,
      '--',
      process.execPath,
      '--import',
      'tsx',
      mainTs,
      '--gateway-url',
      bed.jupyter.url,
      '--port',
      String(port),
      '--workspace-root',
      bed.workspaceRoot,
      '--data-dir',
      dataDir,
      '--no-demo',
      '--record-wait-ms',
      '5000',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FILES_API_SECRET: SECRET } },
  );
  sidecar.stderr!.on('data', (d: Buffer) => (sidecarLog += d.toString()));
  base = await new Promise<string>((resolve, reject) => {
    let out = '';
    sidecar.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const url = /listening on (http:\/\/\S+\/)/.exec(out)?.[1];
      if (url) resolve(url);
    });
    sidecar.once('exit', (code) => reject(new Error(`sidecar exited (${code}): ${sidecarLog}`)));
  });
  // The victim chat: a file uploaded through the sidecar (in its workspace and in the blob store).
  assert.equal(await upload('victim', 'secret/s.csv', `${MARKER}\n`), 201);
});

after(async () => {
  if (sidecar && sidecar.exitCode === null && sidecar.signalCode === null) sidecar.kill('SIGKILL');
  await bed?.stop();
});

describe('a kernel attacking through its workspace', () => {
  test('a folder flipped between a real folder and a symlink (to another chat, to the data folder) during executions and uploads', async () => {
    const client = await openKernel('attacker');
    try {
      const victimSecret = path.join(bed.workspaceRoot, 'victim', 'secret');
      await run(
        client,
        `import os, shutil, threading
flags = {'stop': False, 'flips': 0}
targets = [${JSON.stringify(victimSecret)}, ${JSON.stringify(dataDir)}]
def flip():
    i = 0
    while not flags['stop']:
        i += 1
        try:
            os.symlink(targets[i % 2], '/mnt/data/.lnk')
            os.rename('/mnt/data/.lnk', '/mnt/data/sub')
        except OSError:
            try: os.unlink('/mnt/data/.lnk')
            except OSError: pass
        try:
            if os.path.islink('/mnt/data/sub'): os.unlink('/mnt/data/sub')
            elif os.path.isdir('/mnt/data/sub'): shutil.rmtree('/mnt/data/sub')
            os.mkdir('/mnt/data/sub')
            open('/mnt/data/sub/s.csv', 'w').write('own %d' % i)
        except OSError: pass
        flags['flips'] = i
flipper = threading.Thread(target=flip, daemon=True)
flipper.start()`,
      );
      await waitFor(
        'the flipper running',
        async () => Number(await run(client, "print(flags['flips'])")) > 200,
        20_000,
      );
      const statuses: number[] = [];
      // At least 25 rounds, and on until the folder has flipped 500 times under them (a loaded
      // machine flips slower): the attack is judged by how much of it ran, not by how long.
      const flipsSoFar = async () => Number(await run(client, "print(flags['flips'])"));
      for (let i = 0; i < 25 || (i < 400 && (await flipsSoFar()) <= 500); i++) {
        const [, status] = await Promise.all([
          run(client, `open('/mnt/data/w${i}.csv', 'w').write('w${i}')`),
          upload('attacker', `sub/up-${i}.csv`, `upload ${i}`),
        ]);
        statuses.push(status);
      }
      const flips = Number(await run(client, "flags['stop'] = True\nflipper.join()\nprint(flags['flips'])"));
      assert.ok(flips > 500, `the folder flipped ${flips} times`);
      for (const status of statuses)
        assert.ok(
          status === 201 || status === 400 || status === 409,
          `upload answered ${status}: ${sidecarLog.slice(-3000)}`,
        );
      refused(statuses.filter((s) => s !== 201).length);

      const checked = await assertNothingFromOutside('attacker');
      assert.ok(checked >= 25, `only ${checked} versions recorded`);
      await assertNothingWrittenOutside();
      assert.equal((await health()).status, 200);
      refused();
      survived();
    } finally {
      await client.close();
    }
  });

  test('a FIFO swapped in for a file the kernel keeps rewriting: executions, lists, downloads and health keep answering', async () => {
    const client = await openKernel('fifo');
    try {
      await run(
        client,
        `import os, threading
flags = {'stop': False, 'swaps': 0}
def swap():
    while not flags['stop']:
        try:
            open('/mnt/data/pipe.csv', 'w').write('data')
            os.unlink('/mnt/data/pipe.csv')
            os.mkfifo('/mnt/data/pipe.csv')
            os.unlink('/mnt/data/pipe.csv')
        except OSError: pass
        flags['swaps'] += 1
swapper = threading.Thread(target=swap, daemon=True)
swapper.start()`,
      );
      await waitFor(
        'the swapper running',
        async () => Number(await run(client, "print(flags['swaps'])")) > 200,
        20_000,
      );
      for (let i = 0; i < 20; i++) {
        await run(client, `open('/mnt/data/r${i}.csv', 'w').write('r${i}')`);
        // Other chats' lists and uploads keep answering while it runs.
        await listFiles('victim');
      }
      // A FIFO left in place for good, under a tracked name, while executions still end.
      await run(client, "flags['stop'] = True\nswapper.join()\nimport os\nos.mkfifo('/mnt/data/stuck.csv')");
      await run(client, "open('/mnt/data/after.csv', 'w').write('after')");
      const files = (await listFiles('fifo')).files.map((f) => f.path);
      assert.ok(files.includes('after.csv') && files.includes('r19.csv'), files.join(', '));
      assert.ok(!files.includes('stuck.csv'));
      const h = await health();
      assert.equal(h.status, 200);
      assert.equal(h.body.fs, 'ok');
      refused();
      survived();
    } finally {
      await client.close();
    }
  });

  test("a hard link to another chat's file is neither recorded nor downloadable", async () => {
    const client = await openKernel('linker');
    try {
      const victimFile = path.join(bed.workspaceRoot, 'victim', 'secret', 's.csv');
      await run(
        client,
        `import os\nos.link(${JSON.stringify(victimFile)}, '/mnt/data/stolen.csv')\nopen('/mnt/data/own.csv', 'w').write('own')`,
      );
      const files = (await listFiles('linker')).files.map((f) => f.path);
      assert.deepEqual(files, ['own.csv']);
      await assertNothingFromOutside('linker');
      refused();
    } finally {
      await client.close();
    }
  });

  test("folders nested deeper than the sidecar has fds: the chat's own files are still recorded, the rest keep answering", async () => {
    const client = await openKernel('nester');
    try {
      // Through folder fds: the path of the deepest folder is far past PATH_MAX.
      await run(
        client,
        `import os
open('/mnt/data/top.csv', 'w').write('top')
fd = os.open('/mnt/data', os.O_RDONLY)
for depth in range(1, ${SIDECAR_FDS + 1000}):
    os.mkdir('d', dir_fd=fd)
    inner = os.open('d', os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = inner
    if depth in (3, 64, 65):
        with open(os.open('at-%d.csv' % depth, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), 'w') as f: f.write('deep')
with open(os.open('bottom.csv', os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), 'w') as f: f.write('bottom')
os.close(fd)`,
      );
      const d = (n: number) => Array.from({ length: n }, () => 'd').join('/');
      // Folders 64 deep are walked; deeper ones are not (MAX_FOLDER_DEPTH).
      const expected = ['top.csv', `${d(3)}/at-3.csv`, `${d(64)}/at-64.csv`].sort();
      assert.deepEqual((await listFiles('nester')).files.map((f) => f.path).sort(), expected, sidecarLog.slice(-2000));
      await run(client, "open('/mnt/data/after.csv', 'w').write('after')");
      assert.ok((await listFiles('nester')).files.some((f) => f.path === 'after.csv'));
      assert.equal(await upload('nester', `${d(70)}/up.csv`, 'up'), 400);
      await listFiles('victim');
      const h = await health();
      assert.equal(h.status, 200);
      assert.equal(h.body.fs, 'ok');
      assert.ok(!sidecarLog.includes('EMFILE'), sidecarLog.slice(-2000));
      refused();
      survived();
    } finally {
      // Unnested a level at a time, with short paths only: the test bed's rm cannot reach that deep.
      await run(
        client,
        `import os
os.chdir('/mnt/data')
while os.path.isdir('d'):
    if os.path.isdir('d/d'): os.rename('d/d', 'next')
    for name in os.listdir('d'): os.unlink('d/' + name)
    os.rmdir('d')
    if os.path.isdir('next'): os.rename('next', 'd')`,
      );
      await client.close();
    }
  });

  test('after all of it, SIGTERM stops the sidecar', async () => {
    assert.equal((await health()).status, 200);
    const exited = new Promise<number | null>((resolve) => sidecar.once('exit', (code) => resolve(code)));
    sidecar.kill('SIGTERM');
    assert.equal(await exited, 0, sidecarLog);
    // Nothing of the data folder or other chats leaked in the stored blobs either.
    const victimBlobs = (await readdir(path.join(dataDir, 'records'))).filter((f) => /\.jsonl?$/.test(f));
    for (const file of victimBlobs.filter((f) => !f.startsWith('victim.'))) {
      assert.ok(!(await readFile(path.join(dataDir, 'records', file), 'utf8')).includes('sub/records'));
    }
    survived();
  });
});
