import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { InotifyBarrier, watchFolder, type FolderWatch } from '../../proxy/workspace/inotify-barrier.ts';

describe('inotify barrier (real inotify)', () => {
  let dir: string;
  let watch: FolderWatch;
  let barrier: InotifyBarrier;
  const seen = new Set<string>();
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'barrier-test-'));
    seen.clear();
    watch = watchFolder(dir, (_event, name) => name && seen.add(name));
    barrier = await InotifyBarrier.open();
  });
  afterEach(async () => {
    watch.close();
    await barrier.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('resolves each flush only after the events of writes made before it were delivered', async () => {
    for (let i = 0; i < 200; i++) {
      writeFileSync(path.join(dir, `f${i}`), 'x');
      await barrier.flush();
      assert.ok(seen.has(`f${i}`), `the event of f${i} came after the barrier made before it`);
    }
  });

  it('covers writes before each of several flushes waiting at once', async () => {
    const flushes: Array<Promise<void>> = [];
    for (let i = 0; i < 20; i++) {
      writeFileSync(path.join(dir, `g${i}`), 'x');
      const index = i;
      flushes.push(barrier.flush().then(() => assert.ok(seen.has(`g${index}`), `g${index} not delivered yet`)));
    }
    await Promise.all(flushes);
  });
});
