/**
 * Cells queued on one kernel, as JupyterLab sends them (each execute_request as soon as the cell
 * is run, while the one before still runs), through @jupyterlab/services' real kernel future API
 * against a real Jupyter Server, in both wire formats: each execution's card names exactly the
 * file it wrote, and each record names its own execution, also when one is interrupted.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { useSidecarBed } from '../support/harness.ts';
import { runCell as run } from '../support/queued-cells.ts';

const { bed, proxy } = useSidecarBed();

const write = (name: string) => `open('/mnt/data/${name}', 'w').write('${name}')`;

async function recordsOf(chat: string): Promise<Map<string, { source: string; msgId: string | undefined }>> {
  const records = await proxy.sidecar.store.listChat(chat);
  return new Map(records.map((r) => [r.path, { source: r.source, msgId: r.execution?.msgId }]));
}

for (const format of ['v1', 'legacy'] as const) {
  describe(`queued cells through @jupyterlab/services (${format})`, () => {
    test('four cells sent at once: each card and record is its own execution', async () => {
      const chat = `queue-${format}`;
      const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token, format);
      const kernel = await manager.startNew({ name: 'python3' });
      await kernel.info;
      const cells = await Promise.all(
        [1, 2, 3, 4].map((n) =>
          // Each writes first thing, so a scan late by a moment would see the next one's file.
          run(kernel, `${write(`q${n}.txt`)}\nimport time\ntime.sleep(0.05)\nprint(${n})`),
        ),
      );
      assert.equal(
        (kernel as unknown as { _ws: { protocol: string } })._ws.protocol,
        format === 'v1' ? 'v1.kernel.websocket.jupyter.org' : '',
      );
      cells.forEach((cell, i) => {
        assert.equal(cell.reply.content.status, 'ok');
        assert.equal(cell.stream, `${i + 1}\n`, 'nothing of the barriers reaches the client');
        assert.deepEqual(cell.card, [`/mnt/data/q${i + 1}.txt`], `cell ${i + 1}'s card`);
      });
      const records = await recordsOf(chat);
      cells.forEach((cell, i) => {
        assert.deepEqual(records.get(`q${i + 1}.txt`), { source: 'execution', msgId: cell.msgId });
      });
      // The barriers left no trace in the kernel's numbering: four cells, counts 1 to 4.
      assert.deepEqual(
        cells.map((c) => (c.reply.content as { execution_count: number }).execution_count),
        [1, 2, 3, 4],
      );
      await kernel.shutdown();
      manager.dispose();
    });

    test('one interrupted mid-queue: its card is its own, the ones behind it are aborted by the kernel', async () => {
      const chat = `queue-int-${format}`;
      const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token, format);
      const kernel = await manager.startNew({ name: 'python3' });
      await kernel.info;
      let looping!: () => void;
      const started = new Promise<void>((resolve) => (looping = resolve));
      const first = run(kernel, write('m1.txt'));
      const stuck = run(
        kernel,
        `${write('m2.txt')}\nimport time\nprint('looping', flush=True)\nwhile True: time.sleep(0.05)`,
        (text) => text.includes('looping') && looping(),
      );
      const behind = run(kernel, write('m3.txt'));
      await started;
      await kernel.interrupt();
      const [c1, c2, c3] = await Promise.all([first, stuck, behind]);
      assert.equal(c1.reply.content.status, 'ok');
      assert.deepEqual(c1.card, ['/mnt/data/m1.txt']);
      assert.equal(c2.reply.content.status, 'error');
      assert.deepEqual(c2.card, ['/mnt/data/m2.txt'], 'an interrupted execution still gets its card');
      assert.equal(c3.reply.content.status, 'aborted', 'the kernel aborted the cell behind, as without the sidecar');
      assert.deepEqual(c3.card, []);
      assert.ok(!existsSync(path.join(bed.workspaceRoot, chat, 'm3.txt')));
      const records = await recordsOf(chat);
      assert.equal(records.get('m1.txt')?.msgId, c1.msgId);
      assert.equal(records.get('m2.txt')?.msgId, c2.msgId);
      // The kernel goes on as usual after it.
      const next = await run(kernel, write('m4.txt'));
      assert.deepEqual(next.card, ['/mnt/data/m4.txt']);
      await kernel.shutdown();
      manager.dispose();
    });
  });
}

describe('an execution that never ends, with cells queued behind it', () => {
  test('interrupted: its card names its file, the queued ones are aborted and write nothing', async () => {
    const chat = 'queue-never';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'python3' });
    await kernel.info;
    let looping!: () => void;
    const started = new Promise<void>((resolve) => (looping = resolve));
    const endless = run(
      kernel,
      `${write('n1.txt')}\nimport time\nprint('looping', flush=True)\nwhile True: time.sleep(0.05)`,
      (text) => text.includes('looping') && looping(),
    );
    const queued = [run(kernel, write('n2.txt')), run(kernel, write('n3.txt'))];
    await started;
    await kernel.interrupt();
    const c1 = await endless;
    assert.equal(c1.reply.content.status, 'error');
    assert.deepEqual(c1.card, ['/mnt/data/n1.txt']);
    for (const cell of await Promise.all(queued)) {
      assert.equal(cell.reply.content.status, 'aborted');
      assert.deepEqual(cell.card, []);
    }
    const listing = await run(kernel, `import os\nprint(sorted(os.listdir('/mnt/data')))`);
    assert.equal(listing.stream, "['n1.txt']\n");
    await kernel.shutdown();
    manager.dispose();
  });
});
