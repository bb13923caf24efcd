/**
 * Cells queued on one kernel by several connections at once (JupyterLab and a second tab, or an
 * agent's own connection and a user's), and cells queued on a kernel that is not Python, through
 * @jupyterlab/services' real kernel future API against a real Jupyter Server: each execution's
 * card names exactly the file it wrote, and each record names its own execution.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { useSidecarBed } from '../support/harness.ts';
import { writeNotPythonKernelspec } from '../support/not-python-kernelspec.ts';
import { runCell as run, writingFirst as writing, type Cell } from '../support/queued-cells.ts';

// Written before the bed's Jupyter Server starts (it reads JUPYTER_PATH from its environment).
const specs = writeNotPythonKernelspec();
process.env.JUPYTER_PATH = specs;
const { bed, proxy } = useSidecarBed();
after(() => rm(specs, { recursive: true, force: true }));

async function recordsOf(chat: string): Promise<Map<string, { source: string; msgId: string | undefined }>> {
  const records = await proxy.sidecar.store.listChat(chat);
  return new Map(records.map((r) => [r.path, { source: r.source, msgId: r.execution?.msgId }]));
}

async function assertOwnFiles(chat: string, cells: Cell[], names: string[]): Promise<void> {
  cells.forEach((cell, i) => {
    assert.equal(cell.reply.content.status, 'ok', `${names[i]}'s reply`);
    assert.equal(cell.stream, `${names[i]}\n`, `${names[i]}'s output`);
    assert.deepEqual(cell.card, [`/mnt/data/${names[i]}`], `${names[i]}'s card`);
  });
  const records = await recordsOf(chat);
  cells.forEach((cell, i) => {
    assert.deepEqual(records.get(names[i]!), { source: 'execution', msgId: cell.msgId }, `${names[i]}'s record`);
  });
}

for (const format of ['v1', 'legacy'] as const) {
  test(`two connections queue cells on one kernel at once (${format}): each card and record is its own`, async () => {
    const chat = `two-conns-${format}`;
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token, format);
    const first = await manager.startNew({ name: 'python3' });
    const second = manager.connectTo({ model: first.model });
    assert.notEqual(first.clientId, second.clientId, 'two connections, two sessions');
    await Promise.all([first.info, second.info]);
    const names = ['a1.txt', 'b1.txt', 'a2.txt', 'b2.txt', 'a3.txt', 'b3.txt'];
    const cells = await Promise.all(names.map((name, i) => run(i % 2 === 0 ? first : second, writing(name))));
    await assertOwnFiles(chat, cells, names);
    second.dispose();
    await first.shutdown();
    manager.dispose();
  });
}

describe('a kernel that is not Python (no barrier): a queued cell waits in the sidecar', () => {
  test('cells queued at once each get their own card and record', async () => {
    const chat = 'not-python-queue';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'not-python' });
    assert.equal((await kernel.info).language_info.name, 'not-python');
    const names = ['p1.txt', 'p2.txt', 'p3.txt', 'p4.txt'];
    const cells = await Promise.all(names.map((name) => run(kernel, writing(name))));
    await assertOwnFiles(chat, cells, names);
    assert.deepEqual(
      cells.map((c) => (c.reply.content as { execution_count: number }).execution_count),
      [1, 2, 3, 4],
    );
    await kernel.shutdown();
    manager.dispose();
  });

  test('a failed cell: the ones queued behind it are aborted, as the kernel aborts its own queue', async () => {
    const chat = 'not-python-abort';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'not-python' });
    await kernel.info;
    const [ok, failed, behind, last] = await Promise.all([
      run(kernel, writing('f1.txt')),
      run(kernel, `${writing('f2.txt')}\nraise ValueError('no')`),
      run(kernel, writing('f3.txt')),
      run(kernel, writing('f4.txt')),
    ]);
    assert.equal(ok.reply.content.status, 'ok');
    assert.deepEqual(ok.card, ['/mnt/data/f1.txt']);
    assert.equal(failed.reply.content.status, 'error');
    assert.deepEqual(failed.card, ['/mnt/data/f2.txt'], 'a failed execution still gets its card');
    for (const cell of [behind, last]) {
      assert.equal(cell.reply.content.status, 'aborted');
      assert.deepEqual(cell.card, []);
    }
    assert.ok(!existsSync(path.join(bed.workspaceRoot, chat, 'f3.txt')));
    assert.ok(!existsSync(path.join(bed.workspaceRoot, chat, 'f4.txt')));
    // The kernel goes on as usual after it.
    const next = await run(kernel, writing('f5.txt'));
    assert.deepEqual(next.card, ['/mnt/data/f5.txt']);
    await kernel.shutdown();
    manager.dispose();
  });
});
