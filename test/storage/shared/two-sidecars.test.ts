/**
 * Two sidecar processes (proxy/main.ts, as deployed) on one PostgreSQL and one shared folder,
 * in front of one real Jupyter Server: kernels and chats cross sidecars, versions are assigned
 * once, events cross processes, the per-chat quota holds across them, and the faults: one
 * sidecar killed with SIGKILL mid-burst, PostgreSQL restarted under running sidecars, and
 * kernels created and connected while it is down.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import type { FileListResponse } from '../../../contract/files-api.ts';
import type { FileRecord } from '../../../proxy/storage/file-record.ts';
import { startTestBed, type TestBed } from '../../support/harness.ts';
import { startTestPostgres, type TestPostgres } from '../../support/postgres.ts';
import { RawKernelClient, visibleText } from '../../support/raw-kernel-client.ts';
import { rawUpgrade, waitFor } from '../../reliability/reliability-helpers.ts';
import { connectMcp, execute, sessionIdOf, textOf } from '../../support/mcp-client.ts';

const mainTs = path.resolve(import.meta.dirname, '../../../proxy/main.ts');
const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

interface SidecarProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

let bed: TestBed;
let cluster: TestPostgres;
let databaseUrl: string;
const running: SidecarProcess[] = [];

async function startSidecarProcess(flags: string[] = [], env: Record<string, string> = {}): Promise<SidecarProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      mainTs,
      '--gateway-url',
      bed.jupyter.url,
      '--port',
      '0',
      '--workspace-root',
      bed.workspaceRoot,
      '--data-dir',
      path.join(bed.dir, 'shared-store'),
      '--record-wait-ms',
      '5000',
      ...flags,
    ],
    {
      env: { ...process.env, DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: '4', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const onData = () => {
      const match = /listening on (http:\/\/\S+\/)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`sidecar exited (${code}): ${output}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: SidecarProcess = {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  running.push(proc);
  return proc;
}

before(async () => {
  [bed, cluster] = await Promise.all([startTestBed(), startTestPostgres()]);
  databaseUrl = await cluster.createDatabase('sidecars');
});

after(async () => {
  for (const proc of running) await proc.stop();
  await cluster?.destroy();
  await bed?.stop();
});

async function createKernel(sidecar: SidecarProcess, chat: string): Promise<string> {
  const res = await fetch(`${sidecar.url}chats/${chat}/api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

/** The kernel's WebSocket without any chat in the URL: the sidecar must know the kernel's chat. */
function connect(sidecar: SidecarProcess, kernelId: string): Promise<RawKernelClient> {
  return RawKernelClient.connect(
    `${sidecar.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
    'legacy',
  );
}

async function listFiles(sidecar: SidecarProcess, chat: string): Promise<FileListResponse> {
  const res = await fetch(`${sidecar.url}sidecar/v1/chats/${chat}/files`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as FileListResponse;
}

/** Every record of a chat, straight from the database. */
async function recordsInDatabase(chat: string): Promise<FileRecord[]> {
  const client = new pg.Client(databaseUrl);
  await client.connect();
  try {
    return (
      await client.query<{ record: FileRecord }>('SELECT record FROM file_records WHERE chat_id = $1 ORDER BY seq', [
        chat,
      ])
    ).rows.map((r) => r.record);
  } finally {
    await client.end();
  }
}

/** kernel id -> chat id, straight from the database. */
async function kernelChatsInDatabase(): Promise<Map<string, string>> {
  const client = new pg.Client(databaseUrl);
  await client.connect();
  try {
    const { rows } = await client.query<{ kernel_id: string; chat_id: string }>(
      'SELECT kernel_id, chat_id FROM kernel_chats',
    );
    return new Map(rows.map((r) => [r.kernel_id, r.chat_id]));
  } finally {
    await client.end();
  }
}

/** Versions 1..n per path without gap or duplicate, no two consecutive versions with the same bytes, every blob present and whole. */
async function assertVersionsSound(records: FileRecord[]): Promise<void> {
  const byPath = new Map<string, FileRecord[]>();
  for (const r of records) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  for (const [p, list] of byPath) {
    const sorted = list.toSorted((a, b) => a.version - b.version);
    assert.deepEqual(
      sorted.map((r) => r.version),
      sorted.map((_, i) => i + 1),
      `${p}: versions 1..n`,
    );
    for (let i = 1; i < sorted.length; i++)
      assert.notEqual(sorted[i]!.sha256, sorted[i - 1]!.sha256, `${p}: version ${i + 1} repeats ${i}`);
  }
  for (const record of records) {
    const blob = await readFile(path.join(bed.dir, 'shared-store', 'blobs', record.sha256.slice(0, 2), record.sha256));
    assert.equal(sha256(blob), record.sha256, `blob of ${record.path} v${record.version}`);
  }
}

/** A minimal SSE reader: events with their ids, and a wait for one that matches. */
function openEvents(sidecar: SidecarProcess, chat: string, lastEventId?: string) {
  const events: Array<{ id: string; event: string; data: any }> = [];
  const waiters: Array<() => void> = [];
  let opened!: (status: number) => void;
  const status = new Promise<number>((resolve) => (opened = resolve));
  const req = http.get(
    `${sidecar.url}sidecar/v1/chats/${chat}/events`,
    { headers: lastEventId ? { 'last-event-id': lastEventId } : {} },
    (res) => {
      opened(res.statusCode ?? 0);
      let buffer = '';
      res.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        let end;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const field = (name: string) =>
            block
              .split('\n')
              .find((l) => l.startsWith(`${name}: `))
              ?.slice(name.length + 2);
          const data = field('data');
          if (data !== undefined)
            events.push({ id: field('id') ?? '', event: field('event') ?? 'message', data: JSON.parse(data) });
          for (const wake of waiters.splice(0)) wake();
        }
      });
    },
  );
  req.on('error', () => opened(0));
  return {
    events,
    async until(what: string, predicate: () => boolean, timeoutMs = 30_000) {
      let timedOut = false;
      const deadline = setTimeout(() => {
        timedOut = true;
        for (const wake of waiters.splice(0)) wake();
      }, timeoutMs);
      try {
        while (!predicate() && !timedOut) await new Promise<void>((resolve) => waiters.push(resolve));
      } finally {
        clearTimeout(deadline);
      }
      assert.ok(predicate(), `SSE: ${what}; got ${JSON.stringify(events.map((e) => [e.id, e.event, e.data?.path]))}`);
    },
    /** The response's status, once its headers arrived: the stream is subscribed. */
    status,
    close: () => req.destroy(),
  };
}

describe('two sidecars on one PostgreSQL', () => {
  let a: SidecarProcess;
  let b: SidecarProcess;
  before(async () => {
    [a, b] = await Promise.all([startSidecarProcess(), startSidecarProcess()]);
  });

  test('a kernel created through A and connected through B lands in the same chat, and SSE on A sees it; Last-Event-ID resumes on B', async () => {
    const chat = 'cross';
    const kernelId = await createKernel(a, chat);
    const sse = openEvents(a, chat);
    const client = await connect(b, kernelId);
    await client.execute("open('/mnt/data/from-b.csv', 'w').write('b,1\\n')");
    await client.execute("open('/mnt/data/from-b.csv', 'w').write('b,2\\n')");
    await client.execute("open('/mnt/data/second.csv', 'w').write('x\\n')");
    await client.close();
    assert.deepEqual((await listFiles(a, chat)).files.map((f) => [f.path, f.version]).sort(), [
      ['from-b.csv', 2],
      ['second.csv', 1],
    ]);
    await sse.until('three file events from B', () => sse.events.filter((e) => e.event === 'file').length >= 3);
    sse.close();
    assert.deepEqual(
      sse.events.map((e) => e.id),
      ['1', '2', '3'],
    );

    // A client that saw event 1 reconnects to B: it gets 2 and 3, once each.
    const resumed = openEvents(b, chat, '1');
    await resumed.until('events after 1', () => resumed.events.length >= 2);
    resumed.close();
    assert.deepEqual(
      resumed.events.map((e) => [e.id, e.data.path, e.data.version]),
      [
        ['2', 'from-b.csv', 2],
        ['3', 'second.csv', 1],
      ],
    );
  });

  test('two kernels of one chat, through A and through B at once, each overwriting the same file 20 times: every version once', async () => {
    const chat = 'overwrite';
    const [k1, k2] = await Promise.all([createKernel(a, chat), createKernel(b, chat)]);
    const [c1, c2] = await Promise.all([connect(a, k1), connect(b, k2)]);
    const write = (tag: string, i: number) => `open('/mnt/data/same.csv', 'w').write('${tag},${i}\\n' * ${i + 1})`;
    // At once: both sidecars scan the same changes; some writes are overwritten before any scan sees them.
    await Promise.all([
      (async () => {
        for (let i = 0; i < 20; i++) await c1.execute(write('a', i));
      })(),
      (async () => {
        for (let i = 0; i < 20; i++) await c2.execute(write('b', i));
      })(),
    ]);
    const concurrent = await recordsInDatabase(chat);
    await assertVersionsSound(concurrent);
    const final = await readFile(path.join(bed.workspaceRoot, chat, 'same.csv'));
    assert.equal(concurrent.at(-1)!.sha256, sha256(final), 'the last version is what is on disk');
    // Taking turns (each execution recorded before the next starts): exactly one version per write.
    for (let i = 0; i < 20; i++) {
      await c1.execute(write('turn-a', i));
      await c2.execute(write('turn-b', i));
    }
    const all = await recordsInDatabase(chat);
    await assertVersionsSound(all);
    assert.equal(all.length - concurrent.length, 40, 'exactly 40 new versions');
    await Promise.all([c1.close(), c2.close()]);
  });

  test('kill -9 of A during a burst in one chat: B keeps serving; every version recorded once, every blob present', async () => {
    const chat = 'killed';
    const victim = await startSidecarProcess();
    const [k1, k2] = await Promise.all([createKernel(victim, chat), createKernel(b, chat)]);
    const [c1, c2] = await Promise.all([connect(victim, k1), connect(b, k2)]);
    let victimRuns = 0;
    const burst = (async () => {
      for (let i = 0; i < 200; i++) {
        await c1.execute(
          `import os\nfor j in range(3): open(f'/mnt/data/a{j}.csv', 'w').write(os.urandom(800).hex())`,
          { timeoutMs: 10_000 },
        );
        victimRuns++;
      }
    })().catch(() => 'killed');
    const survivor = (async () => {
      for (let i = 0; i < 15; i++)
        await c2.execute(`import os\nfor j in range(3): open(f'/mnt/data/b{j}.csv', 'w').write(os.urandom(800).hex())`);
    })();
    await waitFor('the victim recorded a few executions', () => victimRuns >= 3, 30_000);
    victim.child.kill('SIGKILL');
    assert.equal(await burst, 'killed');
    await survivor;
    // One more execution through B scans what the killed sidecar left unrecorded.
    await c2.execute('1 + 1');
    await c2.close();
    await c1.close().catch(() => {});
    const records = await recordsInDatabase(chat);
    await assertVersionsSound(records);
    const listed = (await listFiles(b, chat)).files;
    for (const name of ['a0.csv', 'a1.csv', 'a2.csv', 'b0.csv', 'b1.csv', 'b2.csv']) {
      const onDisk = sha256(await readFile(path.join(bed.workspaceRoot, chat, name)));
      assert.equal(listed.find((f) => f.path === name)?.sha256, onDisk, `${name}: its current bytes are recorded`);
    }
  });

  test('PostgreSQL restarted under running sidecars: kernels keep working, the files API answers 503 with a code, then everything catches up', async () => {
    const chat = 'outage';
    const kernelId = await createKernel(a, chat);
    const client = await connect(a, kernelId);
    await client.execute("open('/mnt/data/before.csv', 'w').write('before\\n')");
    const sse = openEvents(a, chat);
    assert.equal(await sse.status, 200, 'subscribed before the outage');

    await cluster.stop();
    const run = await client.execute("open('/mnt/data/during.csv', 'w').write('during\\n')\nprint('still here')");
    assert.equal(run.stream, 'still here\n', 'kernel traffic flows while the database is down');
    const res = await fetch(`${a.url}sidecar/v1/chats/${chat}/files`, { signal: AbortSignal.timeout(15_000) });
    assert.equal(res.status, 503);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ERR_STORE_UNAVAILABLE');
    const health = (await (await fetch(`${a.url}sidecar/v1/health`)).json()) as { database: string };
    assert.equal(health.database, 'down');

    await cluster.start();
    await databaseUpOn([a, b]);
    // The next scan of the chat records what was written during the outage: through A, whose
    // scan failed then with the chat's state in memory (nothing of it may be taken as known).
    await client.execute('1');
    assert.deepEqual((await listFiles(b, chat)).files.map((f) => f.path).sort(), ['before.csv', 'during.csv']);
    // And through B, which has never scanned this chat.
    const again = await connect(b, kernelId);
    await again.execute("open('/mnt/data/after.csv', 'w').write('after\\n')");
    await again.close();
    await client.close();
    const files = (await listFiles(a, chat)).files.map((f) => f.path).sort();
    assert.deepEqual(files, ['after.csv', 'before.csv', 'during.csv']);
    // SSE on A, connected before the outage, gets the new files through a re-LISTENed connection.
    await sse.until('during.csv and after.csv', () =>
      ['during.csv', 'after.csv'].every((p) => sse.events.some((e) => e.data?.path === p)),
    );
    sse.close();
    assert.equal(new Set(sse.events.map((e) => e.id)).size, sse.events.length, 'no event twice');
  });
  test('kernels created and connected while PostgreSQL is down: Open WebUI gets its kernel, an owner check a 503, the spooled pairing reaches the database, the run is recorded after', async () => {
    const token = bed.jupyter.token;
    const before = await createKernel(a, 'outage-before'); // B has never seen it
    const jupyterKernels = async () =>
      ((await (await fetch(`${bed.jupyter.url}api/kernels?token=${token}`)).json()) as unknown[]).length;
    const spool = path.join(bed.dir, 'shared-store', 'kernels-pending');
    const create = (chatPath: string, init: RequestInit = {}) =>
      fetch(`${a.url}${chatPath}api/kernels?token=${token}`, {
        method: 'POST',
        ...init,
        signal: AbortSignal.timeout(20_000),
      });

    await cluster.stop();
    try {
      // Open WebUI's call: no body, no chat. The kernel works now; its chat is remembered in the spool.
      const openWebUi = await create('');
      assert.equal(openWebUi.status, 201, await openWebUi.clone().text());
      const anonymous = ((await openWebUi.json()) as { id: string }).id;
      const withBody = await create('chats/outage-new/', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'python3' }),
      });
      assert.equal(withBody.status, 201, await withBody.clone().text());
      const created = ((await withBody.json()) as { id: string }).id;
      assert.deepEqual((await readdir(spool)).sort(), [`${anonymous}.json`, `${created}.json`].sort());

      // A creation for an owner needs the owner check, which needs the database: refused before the gateway.
      const kernelsBefore = await jupyterKernels();
      const owned = await create('chats/outage-owned/', { headers: { 'x-user-id': 'alice' } });
      assert.equal(owned.status, 503);
      const refusal = (await owned.json()) as { error: { code: string; message: string }; message: string };
      assert.equal(refusal.error.code, 'ERR_STORE_UNAVAILABLE');
      assert.equal(refusal.message, refusal.error.message, "Jupyter's top-level message too");
      assert.doesNotMatch(refusal.message, /127\.0\.0\.1|ECONNREFUSED/, 'no host or errno for the client');
      assert.equal(await jupyterKernels(), kernelsBefore, 'no kernel left behind');

      // The kernel created through A, connected through B: B finds its chat in the spool.
      const client = await connect(b, created);
      const run = await client.execute("open('/mnt/data/during.csv', 'w').write('during\\n')\nprint('still here')");
      assert.equal(run.stream, 'still here\n');
      await readFile(path.join(bed.workspaceRoot, 'outage-new', 'during.csv'));
      assert.match(visibleText(run.messages), /Files not recorded yet: the file store is unavailable/);

      // A kernel B never saw (created through A before the outage): B cannot know its chat. A clear 503.
      const unknown = await rawUpgrade(b.url, `/api/kernels/${before}/channels?token=${token}`);
      assert.equal(unknown.status, 503);
      assert.equal((JSON.parse(unknown.body) as { error: { code: string } }).error.code, 'ERR_STORE_UNAVAILABLE');

      // Open WebUI deletes its kernel after the run: forgotten, spool file included.
      const deleted = await fetch(`${a.url}api/kernels/${anonymous}?token=${token}`, { method: 'DELETE' });
      assert.equal(deleted.status, 204);
      await waitFor(
        'the deleted kernel leaves the spool',
        async () => !(await readdir(spool)).includes(`${anonymous}.json`),
      );
      assert.equal(a.child.exitCode, null, 'sidecar A is still running');

      await cluster.start();
      await waitFor(
        'the spooled pairing written to the database',
        async () => (await readdir(spool)).length === 0,
        30_000,
        100,
      );
      const pairings = await kernelChatsInDatabase();
      assert.equal(pairings.get(created), 'outage-new');
      assert.equal(pairings.has(anonymous), false);
      // The run goes through B: its queries fail fast until its own probe has seen the database back.
      await databaseUpOn([b]);

      // The first run after the database is back: its before-scan records what the run during the
      // outage wrote (as written between executions), its card what it wrote itself.
      const after = await client.execute("open('/mnt/data/after.csv', 'w').write('after\\n')");
      assert.match(visibleText(after.messages), /File saved[^\n]*\n- \/mnt\/data\/after\.csv/);
      await client.close();
      assert.deepEqual((await listFiles(a, 'outage-new')).files.map((f) => f.path).sort(), ['after.csv', 'during.csv']);
    } finally {
      if (!cluster.isRunning()) await cluster.start();
    }
  });
});

describe('the per-chat quota with two sidecars on one PostgreSQL', () => {
  const QUOTA = 1024 * 1024; // --chat-quota-mb 1
  const write = (names: string[], bytes: number) =>
    `import os\nfor name in ${JSON.stringify(names)}: open('/mnt/data/' + name, 'wb').write(os.urandom(${bytes}))`;
  const bytesRecorded = async (chat: string) => (await recordsInDatabase(chat)).reduce((sum, r) => sum + r.size, 0);

  test('counts what the other sidecar recorded: taking turns, and both at once', async () => {
    const [qa, qb] = await Promise.all([
      startSidecarProcess(['--chat-quota-mb', '1']),
      startSidecarProcess(['--chat-quota-mb', '1']),
    ]);
    try {
      // Taking turns, 300,000 bytes a file: each sidecar records files the other never scanned.
      const chat = 'quota-turns';
      const [k1, k2] = await Promise.all([createKernel(qa, chat), createKernel(qb, chat)]);
      const [c1, c2] = await Promise.all([connect(qa, k1), connect(qb, k2)]);
      await c1.execute(write(['a1.csv'], 300_000));
      await c2.execute(write(['b1.csv'], 300_000));
      await c1.execute(write(['a2.csv'], 300_000));
      // 900,000 bytes recorded, 600,000 of them through A: B must not take the chat to 1,200,000.
      const over = await c2.execute(write(['b2.csv'], 300_000));
      assert.match(visibleText(over.messages), /b2\.csv \(300 kB\): not kept: over the chat's storage quota/);
      assert.deepEqual((await recordsInDatabase(chat)).map((r) => r.path).sort(), ['a1.csv', 'a2.csv', 'b1.csv']);
      const listed = await listFiles(qa, chat);
      assert.deepEqual(
        listed.skipped.map((s) => [s.path, s.reason]),
        [['b2.csv', 'quota-exceeded']],
      );
      // A records 100,000 more (1,000,000 in all); an upload of 60,000 through B is refused
      // before anything is written to the workspace.
      await c1.execute(write(['a3.csv'], 100_000));
      const upload = await fetch(`${qb.url}sidecar/v1/chats/${chat}/uploads/up.csv`, {
        method: 'PUT',
        body: Buffer.alloc(60_000, 1),
      });
      assert.equal(upload.status, 413);
      assert.equal(((await upload.json()) as { error: { code: string } }).error.code, 'ERR_QUOTA_EXCEEDED');
      await assert.rejects(readFile(path.join(bed.workspaceRoot, chat, 'up.csv')), { code: 'ENOENT' });
      assert.equal(await bytesRecorded(chat), 1_000_000);
      await Promise.all([c1.close(), c2.close()]);

      // Both at once, 100,000 bytes a file: at most 10 fit in 1 MiB, whichever sidecar appends first.
      const race = 'quota-race';
      const [r1, r2] = await Promise.all([createKernel(qa, race), createKernel(qb, race)]);
      const [d1, d2] = await Promise.all([connect(qa, r1), connect(qb, r2)]);
      const names = (tag: string) => Array.from({ length: 6 }, (_, i) => `${tag}${i}.csv`);
      await Promise.all([d1.execute(write(names('x'), 100_000)), d2.execute(write(names('y'), 100_000))]);
      // A last scan through each sidecar, so every file was looked at after both wrote.
      await d1.execute('1');
      await d2.execute('1');
      await Promise.all([d1.close(), d2.close()]);
      const records = await recordsInDatabase(race);
      assert.ok((await bytesRecorded(race)) <= QUOTA, `${await bytesRecorded(race)} bytes within ${QUOTA}`);
      assert.equal(records.length, 10, 'as many as fit, each once');
      assert.equal(new Set(records.map((r) => r.path)).size, 10);
    } finally {
      await Promise.all([qa.stop(), qb.stop()]);
    }
  });
});

describe('MCP through two sidecars on one PostgreSQL', () => {
  test("a chat's calls alternate between the sidecars and keep one kernel's state and files", async () => {
    const env = { MCP_API_KEY: 'two-sidecar-key', GATEWAY_TOKEN: bed.jupyter.token };
    const [a, b] = await Promise.all([startSidecarProcess(['--mcp'], env), startSidecarProcess(['--mcp'], env)]);
    const headers = { authorization: 'Bearer two-sidecar-key', 'x-openwebui-chat-id': 'mcp-alternating' };
    const [onA, onB] = await Promise.all([connectMcp(a.url, headers), connectMcp(b.url, headers)]);
    try {
      const pid = /pid (\d+)/;
      const first = textOf(await execute(onA, "import os\ncount = 1\nprint('pid', os.getpid())"));
      const second = textOf(
        await execute(onB, "count += 1\nopen('/mnt/data/count.txt', 'w').write(str(count))\nprint('pid', os.getpid())"),
      );
      assert.equal(pid.exec(second)?.[1], pid.exec(first)?.[1], `one kernel for the chat: ${first} / ${second}`);
      const third = await execute(onA, "count += 1\nprint(count, open('/mnt/data/count.txt').read())");
      assert.match(textOf(third), /^3 2$/m);
      const fourth = await execute(onB, 'print(count + 1)');
      assert.match(textOf(fourth), /^4$/m);
      const listed = textOf((await onA.callTool({ name: 'list_files', arguments: {} })) as never);
      assert.match(listed, /\/mnt\/data\/count\.txt/);

      // A session opened on A, whose chat is the session itself (no header), carries on at B.
      const key = { authorization: 'Bearer two-sidecar-key' };
      const session = await connectMcp(a.url, key);
      await execute(session, "kept = 'set through A'\nopen('/mnt/data/session.txt', 'w').write('file from A')");
      const sessionId = sessionIdOf(session);
      assert.ok(sessionId);
      const onBWithA = await connectMcp(b.url, key, sessionId);
      const carried = await execute(onBWithA, "print(kept, '/', open('/mnt/data/session.txt').read())");
      assert.equal(carried.isError, false, textOf(carried));
      assert.match(textOf(carried), /^set through A \/ file from A$/m);
      assert.match(textOf((await onBWithA.callTool({ name: 'list_files', arguments: {} })) as never), /session\.txt/);
      await session.close();
      // An id no sidecar of this deployment minted is still unknown.
      const forged = await fetch(new URL('mcp', b.url), {
        method: 'POST',
        headers: {
          ...key,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-session-id': `${sessionId.slice(0, -4)}AAAA`,
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      assert.equal(forged.status, 404);
    } finally {
      await Promise.all([onA.close(), onB.close()]);
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('a sidecar that cannot reach its database at start', () => {
  test('exits non-zero with one line naming the problem, never the password', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        mainTs,
        '--gateway-url',
        'http://127.0.0.1:9/',
        '--port',
        '0',
        '--data-dir',
        path.join(bed.dir, 'nodb'),
      ],
      {
        env: { ...process.env, DATABASE_URL: 'postgres://user:hunter2-secret@127.0.0.1:1/db' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(stderr, /ERR_DATABASE_UNREACHABLE/);
    assert.doesNotMatch(stderr, /hunter2/);
    // The one line about the database (the other is the warning that the files API has no secret).
    assert.deepEqual(
      stderr
        .trim()
        .split('\n')
        .filter((line) => !line.includes('FILES_API_SECRET')).length,
      1,
      stderr,
    );
  });
});

/** Waits until every sidecar's health reports the database up (each probes it on its own). */
async function databaseUpOn(sidecars: ReadonlyArray<{ url: string }>): Promise<void> {
  await waitFor(
    'the sidecars report the database up',
    async () => {
      const states = await Promise.all(
        sidecars.map(
          async (s) => ((await (await fetch(`${s.url}sidecar/v1/health`)).json()) as { database: string }).database,
        ),
      );
      return states.every((s) => s === 'up');
    },
    30_000,
    100,
  );
}
