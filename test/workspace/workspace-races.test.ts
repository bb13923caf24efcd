/**
 * What the kernel can swap under the sidecar between two of its calls: folders for symlinks,
 * files for FIFOs, hard links to files that are not the chat's. Each swap here is made on real
 * files at the exact moment between the walk and the copy (a walker that runs a step after its
 * walk); test/reliability/workspace-attacks.test.ts races the same swaps from a real kernel.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { constants, openSync, closeSync } from 'node:fs';
import { link, mkdir, open, rename, symlink, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { afterEach, describe, it } from 'node:test';
import { createFileSystemProbe } from '../../proxy/api/file-system-probe.ts';
import { openFileBeneath, openFolderAt, procFdAvailable } from '../../proxy/workspace/folder-fd.ts';
import type { TrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';
import { createTrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';
import type { PackedWalk, WalkRoot } from '../../proxy/workspace/workspace-walk.ts';
import { walkWorkspaceSync } from '../../proxy/workspace/workspace-walk.ts';
import { WorkspaceWalker } from '../../proxy/workspace/workspace-walker.ts';
import { privateMountsAvailable } from '../support/private-mounts.ts';
import { createFixture, execution, type Fixture } from '../support/recorder-fixture.ts';
import { defaultOf } from '../../proxy/options.ts';

const UPLOAD = { maxBytes: defaultOf('uploadMaxBytes') };

const mkfifo = (file: string) => execFileSync('mkfifo', [file]);

/** A real walker that runs `after` once a walk is done, before the recorder copies anything. */
class SwappingWalker extends WorkspaceWalker {
  after: () => Promise<void> = async () => {};
  constructor() {
    super({ inlineEntries: 10_000 });
  }
  override async walk(
    root: string | WalkRoot,
    policy: TrackingPolicy,
    options?: { timeoutMs?: number },
  ): Promise<PackedWalk> {
    const walk = await super.walk(root, policy, options);
    await this.after();
    return walk;
  }
}

const viaProc = procFdAvailable();
const NO_PROC = 'no /proc (dev+ino checks)';

// This file runs twice: here, and (next test) again in a mount namespace where /proc is hidden,
// so that every thread, the walker's too, takes the path of a system without /proc/self/fd.
it(
  'the same races where /proc is not mounted',
  {
    skip: !viaProc ? 'this is that run' : !privateMountsAvailable() && 'unshare -r -m is not allowed here',
  },
  () => {
    const script = 'mount -t tmpfs none /proc && exec "$0" --import tsx --test "$1"';
    const out = execFileSync(
      'unshare',
      ['-r', '-m', 'sh', '-c', script, process.execPath, fileURLToPath(import.meta.url)],
      // A test run of its own, not a child of this one.
      { encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined } },
    ); // throws, with that run's output, when a test there fails
    assert.ok(out.includes(`workspace races, ${NO_PROC}`), out);
  },
);

describe(`workspace races, ${viaProc ? '/proc/self/fd' : NO_PROC}`, () => {
  let fx: Fixture;
  let walker: SwappingWalker;
  afterEach(async () => {
    await walker?.close();
    await fx?.cleanup();
  });

  it('openFileBeneath opens regular files only, through no symlink, without blocking on a FIFO', async () => {
    walker = new SwappingWalker();
    fx = await createFixture({ walker });
    await fx.write('c1', 'sub/a.csv', 'a');
    const ws = fx.workspaces.pathFor('c1');
    await mkdir(path.join(fx.base, 'elsewhere'));
    await writeFile(path.join(fx.base, 'elsewhere', 'a.csv'), 'outside');
    await symlink(path.join(fx.base, 'elsewhere'), path.join(ws, 'link'));
    await symlink(path.join(ws, 'sub', 'a.csv'), path.join(ws, 'file-link.csv'));
    mkfifo(path.join(ws, 'pipe.csv'));
    const root = await openFolderAt(ws);
    try {
      const ok = await openFileBeneath(root, 'sub/a.csv');
      assert.ok(typeof ok !== 'string');
      await ok.handle.close();
      assert.equal(await openFileBeneath(root, 'link/a.csv'), 'gone');
      assert.equal(await openFileBeneath(root, 'file-link.csv'), 'gone');
      assert.equal(await openFileBeneath(root, 'pipe.csv'), 'not-regular'); // would hang without O_NONBLOCK
      assert.equal(await openFileBeneath(root, 'sub'), 'not-regular');
    } finally {
      await root.close();
    }
  });

  it('the walk finds the same files either way and never enters a symlinked folder', async () => {
    walker = new SwappingWalker();
    fx = await createFixture({ walker });
    await fx.write('c1', 'a/b/c.csv', 'c');
    await fx.write('c2', 'secret/s.csv', 's');
    await symlink(fx.workspaces.pathFor('c2'), path.join(fx.workspaces.pathFor('c1'), 'a', 'other'));
    const walk = walkWorkspaceSync(fx.workspaces.pathFor('c1'), createTrackingPolicy());
    assert.deepEqual(walk.paths.split('\0'), ['a/b/c.csv']);
  });

  it('a folder swapped for a symlink to another chat after the walk: nothing of that chat is copied', async () => {
    walker = new SwappingWalker();
    fx = await createFixture({ walker });
    await fx.write('c1', 'sub/data.csv', 'mine');
    await fx.write('c2', 'sub/data.csv', 'secret of c2, longer');
    const ws = fx.workspaces.pathFor('c1');
    walker.after = async () => {
      await rename(path.join(ws, 'sub'), path.join(ws, 'sub-real'));
      await symlink(path.join(fx.workspaces.pathFor('c2'), 'sub'), path.join(ws, 'sub'));
    };
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    assert.deepEqual(await fx.store.listChat('c1'), []);
  });

  it('a FIFO swapped in after the walk is refused at once and the scan ends', async () => {
    walker = new SwappingWalker();
    fx = await createFixture({ walker });
    await fx.write('c1', 'out.csv', 'x');
    await fx.write('c1', 'kept.csv', 'kept');
    const ws = fx.workspaces.pathFor('c1');
    walker.after = async () => {
      await unlink(path.join(ws, 'out.csv'));
      mkfifo(path.join(ws, 'out.csv'));
    };
    const { recorded } = await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    assert.deepEqual(
      recorded.map((r) => r.path),
      ['kept.csv'],
    );
  });
});

describe('hard links', () => {
  let fx: Fixture;
  afterEach(() => fx.cleanup());

  it("a file linked from another chat is not recorded; the chat's own files and uploads are", async () => {
    fx = await createFixture();
    const theirs = await fx.write('c2', 'secret.csv', 'secret of c2');
    await fx.write('c1', 'mine.csv', 'mine');
    await mkdir(fx.workspaces.pathFor('c1'), { recursive: true });
    await link(theirs, path.join(fx.workspaces.pathFor('c1'), 'stolen.csv'));
    await fx.recorder.recordUpload('c1', 'in/upload.csv', Readable.from([Buffer.from('uploaded')]), null, UPLOAD);
    // The kernel links the upload elsewhere in its own workspace: still the sidecar's bytes.
    await link(
      path.join(fx.workspaces.pathFor('c1'), 'in', 'upload.csv'),
      path.join(fx.workspaces.pathFor('c1'), 'copy.csv'),
    );
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    const paths = (await fx.store.listChat('c1')).map((r) => r.path).sort();
    assert.deepEqual(paths, ['copy.csv', 'in/upload.csv', 'mine.csv']);
  });

  it('allowHardLinks records them', async () => {
    fx = await createFixture({ policy: { allowHardLinks: true } });
    const theirs = await fx.write('c2', 'shared.csv', 'shared');
    await mkdir(fx.workspaces.pathFor('c1'), { recursive: true });
    await link(theirs, path.join(fx.workspaces.pathFor('c1'), 'shared.csv'));
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    assert.deepEqual(
      (await fx.store.listChat('c1')).map((r) => r.path),
      ['shared.csv'],
    );
  });
});

describe('time limits', () => {
  let fx: Fixture;
  let walker: SwappingWalker;
  afterEach(async () => {
    await walker.close();
    await fx.cleanup();
  });

  it('a scan whose walk does not come back fails with ERR_SCAN_TIMEOUT, and executionEnded still resolves', async () => {
    walker = new SwappingWalker();
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    walker.after = () => stuck;
    // Long enough for the real scan at the end on a busy machine (200 ms failed it under load);
    // the stuck one waits it out whatever it is.
    fx = await createFixture({ walker, scanTimeoutMs: 2_000 });
    await fx.write('c1', 'a.csv', 'a');
    await assert.rejects(fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') }), {
      code: 'ERR_SCAN_TIMEOUT',
    });
    await fx.recorder.executionEnded('c1', execution('m2'), 'completed'); // logs and resolves
    walker.after = async () => {};
    release();
    // Once the stuck step returns, the chat is free again and the next scan records the file.
    await fx.recorder.scan('c1', { source: 'execution', execution: execution('m3') });
    assert.deepEqual(
      (await fx.store.listChat('c1')).map((r) => r.path),
      ['a.csv'],
    );
  });
});

describe('file-system probe', () => {
  it('reports stuck while every pool thread is held by a blocking open, ok once they return', async (t) => {
    const fx = await createFixture();
    t.after(() => fx.cleanup());
    const probe = createFileSystemProbe(fx.base, 300);
    assert.equal(await probe(), 'ok');
    const threads = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
    const fifos = Array.from({ length: threads }, (_, i) => path.join(fx.base, `fifo${i}`));
    for (const fifo of fifos) mkfifo(fifo);
    // What the attack did before the fix: a blocking open of a FIFO holds a pool thread until a writer comes.
    const held = fifos.map((fifo) => open(fifo, constants.O_RDONLY));
    assert.equal(await probe(), 'stuck');
    // Writers release them (a non-blocking open for writing succeeds once a reader waits).
    const writers = fifos.map((fifo) => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    for (const handle of await Promise.all(held)) await handle.close();
    for (const fd of writers) closeSync(fd);
    let state = await probe();
    for (let i = 0; state === 'stuck' && i < 20; i++) state = await probe();
    assert.equal(state, 'ok');
  });
});
