import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ChangeJournal, type ChangeJournalOptions, type ScanPlan } from '../../proxy/workspace/change-journal.ts';
import { watchFolder, type WatchFolder } from '../../proxy/workspace/inotify-barrier.ts';
import { createTrackingPolicy } from '../../proxy/workspace/tracking-policy.ts';
import { createFixture, execution, type Fixture } from '../support/recorder-fixture.ts';
import { defaultOf } from '../../proxy/options.ts';

const policy = createTrackingPolicy();

function touchedPaths(plan: ScanPlan): string[] {
  assert.equal(plan.kind, 'touched', `expected touched paths, got a walk (${plan.kind === 'walk' ? plan.reason : ''})`);
  return [...plan.snapshot.keys()].sort();
}

function walkReason(plan: ScanPlan): string {
  assert.equal(plan.kind, 'walk');
  return plan.reason;
}

/** The real fs.watch, with a handle on every watch it made (to make one fail the way it can). */
function recordingWatch(): { watch: WatchFolder; made: Array<ReturnType<WatchFolder>> } {
  const made: Array<ReturnType<WatchFolder>> = [];
  return {
    made,
    watch: (dir, listener) => {
      const w = watchFolder(dir, listener);
      made.push(w);
      return w;
    },
  };
}

describe('change journal (real inotify)', () => {
  let dir: string;
  let journal: ChangeJournal;
  const open = (options: Partial<ChangeJournalOptions> = {}) =>
    (journal = new ChangeJournal(policy, { auditIntervalMs: defaultOf('workspaceAuditMs'), ...options }));
  beforeEach(async () => {
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'journal-test-')));
  });
  afterEach(async () => {
    await journal?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('walks a workspace it has not watched, then gives only the touched paths, written right before the scan', async () => {
    open();
    await mkdir(path.join(dir, 'out'));
    await writeFile(path.join(dir, 'out/old.csv'), 'a');
    assert.equal(walkReason(await journal.plan('c1', dir)), 'not-watched-yet');
    assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), []);
    // No wait between the writes and the scan: the barrier makes their events arrive first.
    for (let i = 0; i < 50; i++) await writeFile(path.join(dir, `out/f${i}.csv`), String(i));
    await writeFile(path.join(dir, 'out/old.csv'), 'changed');
    await writeFile(path.join(dir, 'script.py'), 'untracked');
    const paths = touchedPaths(await journal.plan('c1', dir));
    assert.equal(paths.length, 51);
    assert.ok(paths.includes('out/old.csv'));
    assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), []);
  });

  it('walks when the workspace is on a network or FUSE file system', async () => {
    open({ remoteFileSystemAt: async () => 'nfs' });
    assert.equal(walkReason(await journal.plan('c1', dir)), 'remote-file-system');
    assert.equal(walkReason(await journal.plan('c1', dir)), 'remote-file-system');
    assert.equal(journal.watchedChats, 0);
  });

  it('walks when the inotify queue may have overflowed', async () => {
    open({ maxQueuedEvents: 20 });
    await journal.plan('c1', dir);
    for (let i = 0; i < 20; i++) await writeFile(path.join(dir, `f${i}.csv`), String(i));
    assert.equal(walkReason(await journal.plan('c1', dir)), 'events-may-have-overflowed');
    await writeFile(path.join(dir, 'one.csv'), '1');
    assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), ['one.csv'], 're-attached after the walk');
  });

  it('walks when a watch cannot be added (ENOSPC), and tries again after the audit interval', async () => {
    let now = 0;
    let full = true;
    const watch: WatchFolder = (d, listener) => {
      if (full && d.endsWith('/sub')) {
        // What fs.watch throws when fs.inotify.max_user_watches is reached.
        throw Object.assign(new Error(`ENOSPC: System limit for number of file watchers reached, watch '${d}'`), {
          code: 'ENOSPC',
          errno: -28,
          syscall: 'watch',
        });
      }
      return watchFolder(d, listener);
    };
    open({ watch, now: () => now, auditIntervalMs: 1000 });
    await mkdir(path.join(dir, 'sub'));
    assert.equal(walkReason(await journal.plan('c1', dir)), 'watch-failed');
    assert.equal(walkReason(await journal.plan('c1', dir)), 'watch-failed');
    assert.equal(journal.watchedChats, 0);
    full = false;
    now = 1000;
    assert.equal(walkReason(await journal.plan('c1', dir)), 'not-watched-yet');
    await writeFile(path.join(dir, 'sub/x.csv'), 'x');
    assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), ['sub/x.csv']);
  });

  it('walks after a watch reports an error', async () => {
    const { watch, made } = recordingWatch();
    open({ watch });
    await journal.plan('c1', dir);
    const workspaceWatch = made.at(-1) as unknown as NodeJS.EventEmitter;
    workspaceWatch.emit('error', Object.assign(new Error('EIO'), { code: 'EIO' }));
    assert.equal(walkReason(await journal.plan('c1', dir)), 'watch-failed');
  });

  it('walks when the barrier cannot be watched', async () => {
    const watch: WatchFolder = (d, listener) => {
      if (path.basename(d).startsWith('sidecar-barrier-')) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
      return watchFolder(d, listener);
    };
    open({ watch });
    assert.equal(walkReason(await journal.plan('c1', dir)), 'watch-failed');
  });

  it('walks once for a new folder (files may predate its watch), then watches it', async () => {
    open();
    await journal.plan('c1', dir);
    await mkdir(path.join(dir, 'new/deeper'), { recursive: true });
    await writeFile(path.join(dir, 'new/deeper/a.csv'), 'a');
    assert.equal(walkReason(await journal.plan('c1', dir)), 'new-folder');
    await writeFile(path.join(dir, 'new/deeper/b.csv'), 'b');
    assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), ['new/deeper/b.csv']);
  });

  it('walks for the periodic audit, when too many paths were touched, and when the workspace was replaced', async () => {
    let now = 0;
    open({ now: () => now, auditIntervalMs: 60_000, maxTouchedPaths: 5 });
    await journal.plan('c1', dir);
    now = 60_000;
    assert.equal(walkReason(await journal.plan('c1', dir)), 'audit');
    for (let i = 0; i < 6; i++) await writeFile(path.join(dir, `f${i}.csv`), String(i));
    assert.equal(walkReason(await journal.plan('c1', dir)), 'too-many-touched-paths');
    await rename(dir, `${dir}-old`);
    await mkdir(dir);
    try {
      assert.equal(walkReason(await journal.plan('c1', dir)), 'workspace-replaced');
    } finally {
      await rm(`${dir}-old`, { recursive: true, force: true });
    }
  });

  it('never stats through a watched folder swapped for a symlink', async () => {
    open();
    const outside = await mkdtemp(path.join(tmpdir(), 'journal-outside-'));
    try {
      await writeFile(path.join(outside, 'secret.csv'), 'secret');
      await mkdir(path.join(dir, 'sub'));
      await journal.plan('c1', dir);
      await writeFile(path.join(dir, 'sub/secret.csv'), 'mine');
      await rm(path.join(dir, 'sub'), { recursive: true });
      await symlink(outside, path.join(dir, 'sub'));
      assert.deepEqual(touchedPaths(await journal.plan('c1', dir)), []);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});

describe('recorder with watched workspaces', () => {
  let fx: Fixture;
  afterEach(() => fx.cleanup());

  it('records what each execution wrote, attributed as a full walk would', async () => {
    fx = await createFixture({ watch: { auditIntervalMs: defaultOf('workspaceAuditMs') } });
    await fx.write('c1', 'before.csv', 'a');
    await fx.recorder.executionStarted('c1', execution('m1'));
    await fx.write('c1', 'out/one.csv', '1');
    await fx.recorder.executionEnded('c1', execution('m1'), 'completed');
    await fx.write('c1', 'between.csv', 'b');
    await fx.recorder.executionStarted('c1', execution('m2'));
    await fx.write('c1', 'out/one.csv', '2');
    await fx.recorder.executionEnded('c1', execution('m2'), 'completed');
    const records = (await fx.store.listChat('c1')).map(
      (r) => `${r.path} v${r.version} ${r.source} ${r.execution?.msgId ?? '-'}`,
    );
    assert.deepEqual(records, [
      'before.csv v1 between-executions -',
      'out/one.csv v1 execution m1',
      'between.csv v1 between-executions -',
      'out/one.csv v2 execution m2',
    ]);
    assert.equal(fx.recorder.watchedChats, 1);
  });

  it('copies through the folder the journal looked in: one replaced after the plan is walked instead', async () => {
    fx = await createFixture({ watch: { auditIntervalMs: defaultOf('workspaceAuditMs') } });
    const dir = await fx.write('c1', 'first.csv', '0').then(path.dirname);
    await fx.recorder.scan('c1', { source: 'between-executions' });
    await fx.write('c1', 'old.csv', 'a');
    // The folder is swapped in the gap between the journal's look (by path) and the copy: the
    // race a kernel could win. The gap's one await is the quota check that new files get (the
    // store's usedBytes, the recorder's own store): only the timing is forced.
    const usedBytes = fx.store.usedBytes.bind(fx.store);
    let swapped = false;
    fx.store.usedBytes = async (chatId) => {
      if (!swapped) {
        swapped = true;
        await rename(dir, `${dir}-old`);
        await mkdir(dir);
        await writeFile(path.join(dir, 'new.csv'), 'b');
      }
      return usedBytes(chatId);
    };
    const { recorded } = await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    assert.deepEqual(
      recorded.map((r) => r.path),
      ['new.csv'],
    );
  });

  it('loses no file when the journal falls back (overflow)', async () => {
    fx = await createFixture({ watch: { auditIntervalMs: defaultOf('workspaceAuditMs'), maxQueuedEvents: 10 } });
    await fx.recorder.scan('c1', { source: 'between-executions' });
    for (let i = 0; i < 12; i++) await fx.write('c1', `f${i}.csv`, String(i));
    const { recorded } = await fx.recorder.scan('c1', { source: 'execution', execution: execution('m1') });
    assert.equal(recorded.length, 12);
  });
});
