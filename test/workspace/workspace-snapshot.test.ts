import assert from 'node:assert/strict';
import { lstat, mkdir, mkdtemp, open, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';
import { diffSnapshot } from '../../proxy/workspace/workspace-snapshot.ts';
import { snapshotWorkspace } from '../support/workspace-snapshot.ts';
import { WorkspaceWalker } from '../../proxy/workspace/workspace-walker.ts';
import { remoteFileSystemAt, remoteFileSystemOf } from '../../proxy/workspace/file-system-kind.ts';
import { Workspaces } from '../../proxy/chats/workspaces.ts';
import { MAX_FOLDER_DEPTH } from '../../proxy/workspace/folder-fd.ts';

const isFolder = async (p: string) => (await lstat(p).catch(() => null))?.isDirectory() ?? false;

describe('workspace snapshot', () => {
  let base: string;
  let workspaces: Workspaces;
  let realRoot: string;
  const policy = createTrackingPolicy();

  before(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'snapshot-test-'));
    workspaces = new Workspaces(path.join(base, 'ws'));
    realRoot = await workspaces.realRoot();
    const c1 = await workspaces.ensure('c1');
    const c2 = await workspaces.ensure('c2');
    await mkdir(path.join(c1, 'out/deep'), { recursive: true });
    await mkdir(path.join(c1, '.ipynb_checkpoints'));
    await writeFile(path.join(c1, 'report.csv'), 'a,b\n1,2\n');
    await writeFile(path.join(c1, 'out/deep/chart.png'), 'png');
    await writeFile(path.join(c1, 'script.py'), 'print(1)');
    await writeFile(path.join(c1, '.ipynb_checkpoints/report-checkpoint.csv'), 'x');
    await writeFile(path.join(c2, 'secret.csv'), 'other chat');
    await symlink('/etc/passwd', path.join(c1, 'passwd.txt'));
    await symlink(path.join(c2, 'secret.csv'), path.join(c1, 'stolen.csv'));
    await symlink(c2, path.join(c1, 'other-chat'));
    await symlink(c2, path.join(realRoot, 'c3')); // a chat folder that is itself a symlink
  });
  after(() => rm(base, { recursive: true, force: true }));

  it('lists tracked regular files with size, mtime and inode', async () => {
    const snapshot = await snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot });
    assert.deepEqual([...snapshot.keys()].sort(), ['out/deep/chart.png', 'report.csv']);
    const entry = snapshot.get('report.csv')!;
    assert.equal(entry.size, 8);
    assert.equal(entry.mtimeMs, Math.trunc(entry.mtimeMs));
    assert.ok(entry.ino > 0);
  });

  it('never follows symlinks: to /etc/passwd, to another chat, or as the chat folder', async () => {
    const snapshot = await snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot });
    for (const rel of snapshot.keys()) assert.doesNotMatch(rel, /passwd|stolen|other-chat|secret/);
    await assert.rejects(snapshotWorkspace(workspaces.pathFor('c3'), { policy, realRoot }), {
      code: 'ERR_WORKSPACE_OUTSIDE_ROOT',
    });
  });

  it('treats a missing workspace as empty', async () => {
    assert.equal((await snapshotWorkspace(workspaces.pathFor('nope'), { policy, realRoot })).size, 0);
  });

  it(`walks folders ${MAX_FOLDER_DEPTH} deep and no deeper, with paths past PATH_MAX`, async () => {
    const dir = await workspaces.ensure('deep');
    // 255-byte names: from 17 levels on, a file's absolute path is longer than PATH_MAX (4096).
    const name = 'n'.repeat(255);
    const expected: string[] = [];
    // Through /proc/self/fd of an open folder: the full path is too long for the file system calls.
    let folder = await open(dir, 'r');
    for (let depth = 1; depth <= MAX_FOLDER_DEPTH + 6; depth++) {
      await mkdir(`/proc/self/fd/${folder.fd}/${name}`);
      const inner = await open(`/proc/self/fd/${folder.fd}/${name}`, 'r');
      await folder.close();
      folder = inner;
      await writeFile(`/proc/self/fd/${folder.fd}/f${depth}.csv`, 'x');
      if (depth <= MAX_FOLDER_DEPTH) expected.push(`${Array(depth).fill(name).join('/')}/f${depth}.csv`);
    }
    await folder.close();
    try {
      for (const walker of [undefined, new WorkspaceWalker({ threads: 1, inlineEntries: 0 })]) {
        try {
          const snapshot = await snapshotWorkspace(dir, { policy, realRoot, walker });
          assert.deepEqual([...snapshot.keys()].sort(), expected.sort());
        } finally {
          await walker?.close();
        }
      }
    } finally {
      // rm cannot reach that deep: unnested a level at a time, with short paths only.
      while (await isFolder(path.join(dir, name))) {
        const top = path.join(dir, name);
        if (await isFolder(path.join(top, name))) await rename(path.join(top, name), path.join(dir, 'next'));
        await rm(top, { recursive: true });
        if (await isFolder(path.join(dir, 'next'))) await rename(path.join(dir, 'next'), top);
      }
    }
  });

  it('walks 1,000 files in nested folders', async () => {
    const dir = await workspaces.ensure('many');
    for (let d = 0; d < 20; d++) {
      await mkdir(path.join(dir, `d${d}`));
      await Promise.all(Array.from({ length: 50 }, (_, i) => writeFile(path.join(dir, `d${d}`, `f${i}.csv`), 'x')));
    }
    const snapshot = await snapshotWorkspace(dir, { policy, realRoot });
    assert.equal(snapshot.size, 1000);
  });

  describe('on worker threads', () => {
    // Every walk on a thread, however small.
    const walker = new WorkspaceWalker({ threads: 2, inlineEntries: 0 });
    after(() => walker.close());

    it('finds exactly what the in-process walk finds, for many walks at once', async () => {
      const inProcess = await snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot });
      const many = await snapshotWorkspace(workspaces.pathFor('many'), { policy, realRoot });
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          snapshotWorkspace(workspaces.pathFor(i % 2 ? 'c1' : 'many'), { policy, realRoot, walker }),
        ),
      );
      for (const [i, result] of results.entries()) assert.deepEqual(result, i % 2 ? inProcess : many);
    });

    it('walks small workspaces inline and large ones on a thread, with the same results', async () => {
      const mixed = new WorkspaceWalker({ inlineEntries: 200 });
      try {
        const small = await snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot, walker: mixed });
        assert.equal(mixed.threadWalks, 0, 'a few files: walked inline');
        const large = await snapshotWorkspace(workspaces.pathFor('many'), { policy, realRoot, walker: mixed });
        assert.equal(mixed.threadWalks, 1, '1,000 files: walked on a thread');
        assert.deepEqual(small, await snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot }));
        assert.deepEqual(large, await snapshotWorkspace(workspaces.pathFor('many'), { policy, realRoot }));
        assert.equal(large.size, 1000);
      } finally {
        await mixed.close();
      }
    });

    it("knows network file systems by their statfs type, and this machine's temp folder as local", async () => {
      assert.equal(remoteFileSystemOf(0x6969), 'nfs');
      assert.equal(remoteFileSystemOf(0x65735546), 'fuse');
      assert.equal(remoteFileSystemOf(0xef53), null, 'ext4');
      assert.equal(remoteFileSystemOf(0x01021994), null, 'tmpfs');
      assert.equal(await remoteFileSystemAt(realRoot), null);
    });

    it('walks with the policy it is given, not a default one', async () => {
      const everything = createTrackingPolicy({ extensions: '*', includeHidden: true });
      const snapshot = await snapshotWorkspace(workspaces.pathFor('c1'), { policy: everything, realRoot, walker });
      assert.deepEqual([...snapshot.keys()].sort(), [
        '.ipynb_checkpoints/report-checkpoint.csv',
        'out/deep/chart.png',
        'report.csv',
        'script.py',
      ]);
    });

    it('refuses walks once closed', async () => {
      const closed = new WorkspaceWalker();
      await closed.close();
      await assert.rejects(snapshotWorkspace(workspaces.pathFor('c1'), { policy, realRoot, walker: closed }), {
        code: 'ERR_WALKER_CLOSED',
      });
    });
  });

  it('diffs by size and mtime', () => {
    const known = new Map([
      ['same', { size: 1, mtimeMs: 1 }],
      ['grown', { size: 1, mtimeMs: 1 }],
      ['touched', { size: 1, mtimeMs: 1 }],
      ['gone', { size: 1, mtimeMs: 1 }],
    ]);
    const current = new Map([
      ['same', { size: 1, mtimeMs: 1 }],
      ['grown', { size: 2, mtimeMs: 1 }],
      ['touched', { size: 1, mtimeMs: 2 }],
      ['new', { size: 1, mtimeMs: 1 }],
    ]);
    assert.deepEqual(diffSnapshot(known, current), {
      added: ['new'],
      changed: ['grown', 'touched'],
      removed: ['gone'],
    });
  });
});
