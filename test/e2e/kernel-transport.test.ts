/**
 * `--file-transport kernel` end to end: a real Jupyter Server whose files the sidecar cannot see
 * (another folder tree; where user namespaces allow it, a tmpfs in Jupyter's own mount namespace),
 * real clients in both wire formats, and a hostile kernel.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KernelMessage as JLKernelMessage } from '@jupyterlab/services';
import type { FileRecord } from '../../proxy/storage/file-record.ts';
import { REQUEST_TYPE } from '../../proxy/transport/collector-source.ts';
import type { RunningSidecar } from '../support/harness.ts';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { runCell, writingFirst } from '../support/queued-cells.ts';
import {
  startKernelElsewhere,
  startKernelTransportSidecar,
  type KernelElsewhere,
} from '../support/kernel-elsewhere.ts';
import { runLikeOpenWebUi } from '../support/open-webui-run.ts';
import { RawKernelClient, type KernelMessage } from '../support/raw-kernel-client.ts';

/** How kernel code finds the collector, as an attacker would: by looking through sys.modules. */
const FIND_COLLECTOR = "next(m for n, m in sys.modules.items() if n.startswith('_generated_files_collector_'))";

const MiB = 1024 * 1024;
let bed: KernelElsewhere;
let proxy: RunningSidecar;

let specs: string;

before(async () => {
  // A real kernelspec of another language (it never has to start: it is refused before).
  specs = await mkdtemp(path.join(tmpdir(), 'gf-kernelspecs-'));
  await mkdir(path.join(specs, 'kernels', 'not-python'), { recursive: true });
  await writeFile(
    path.join(specs, 'kernels', 'not-python', 'kernel.json'),
    JSON.stringify({ argv: ['/bin/false', '{connection_file}'], display_name: 'Not Python', language: 'not-python' }),
  );
  process.env.JUPYTER_PATH = specs;
  bed = await startKernelElsewhere();
  if (!bed.privateMounts)
    console.log('# unshare -r -m is not allowed here: the kernel runs in another folder tree only');
  // The card waits for the whole transfer (50 MB through Jupyter Server takes seconds on a busy machine).
  proxy = await startKernelTransportSidecar(
    bed,
    { 'record-wait-ms': '300000', 'card-max-files': '20' },
    { transferLimits: { chunkBytes: 1 * MiB, bytesPerRequest: 4 * MiB, bytesPerExecution: 80 * MiB } },
  );
});
after(async () => {
  await proxy?.stop();
  await bed?.stop();
  await rm(specs, { recursive: true, force: true });
});

const ws = (url: string) => url.replace(/^http/, 'ws');
const cardText = (m: KernelMessage) =>
  m.header.msg_type === 'display_data' ? String(m.content.data?.['text/plain'] ?? '') : '';
const linksIn = (text: string) => [...text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function openKernel(chat: string, format: 'legacy' | 'v1') {
  const base = `${proxy.url}chats/${chat}/`;
  const res = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  const connect = (f: 'legacy' | 'v1') =>
    RawKernelClient.connect(`${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`, f);
  return { client: await connect(format), id, connect };
}

/** The sidecar's own executions run in a session of its own (`sidecar-…`): no message of theirs may reach a client. */
const isCollectors = (parent: unknown) =>
  String((parent as { session?: unknown })?.session ?? '').startsWith('sidecar-');

/**
 * No message of the collector reached the client, and the client did get the executions' own
 * (Jupyter Server's kernel_info nudges are its own too, so only the collector's session is looked for).
 */
function assertOnlyOwnMessages(client: RawKernelClient, sent: ReadonlySet<string>): void {
  for (const m of client.received)
    assert.ok(!isCollectors(m.parent_header), `a collector message reached the client: ${m.header.msg_type}`);
  const seen = new Set(client.received.map((m) => m.parent_header?.msg_id));
  for (const id of sent) assert.ok(seen.has(id), 'the execution’s own messages arrived');
}

async function records(chat: string): Promise<FileRecord[]> {
  return proxy.sidecar.store.listChat(chat);
}

async function download(record: FileRecord, chat: string): Promise<Buffer> {
  const res = await fetch(`${proxy.url}sidecar/v1/chats/${chat}/files/${record.id}/content`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

describe('files reach the user with no shared disk', () => {
  test('Open WebUI, unchanged: the card before idle, its link downloads the bytes; the sidecar never saw the kernel’s disk', async () => {
    const run = await runLikeOpenWebUi(
      `${proxy.url}chats/owui/`,
      bed.jupyter.token,
      "import os\nopen('/mnt/data/table.csv', 'w').write('a,b\\n1,2\\n')\nprint(os.getcwd())",
    );
    assert.equal(run.stdout, '/mnt/data\n', 'the kernel starts in its workspace, and its path reads /mnt/data');
    assert.equal(run.result.length, 1, 'one card');
    assert.match(run.result[0]!, /^- \/mnt\/data\/table\.csv \(8 B, CSV, version 1\): http/m);
    assert.equal(run.seen.at(-1), 'status', 'it stopped at idle');
    assert.ok(run.seen.indexOf('display_data') > run.seen.indexOf('stream'), 'the card is the last output');
    const res = await fetch(linksIn(run.result[0]!)[0]!);
    assert.equal(await res.text(), 'a,b\n1,2\n');
    if (bed.privateMounts)
      assert.equal(
        existsSync(path.join(bed.kernelRoot, 'workspaces', 'owui')),
        false,
        'the kernel’s disk is not the sidecar’s',
      );
  });

  for (const format of ['legacy', 'v1'] as const) {
    test(`${format}: written, rewritten (v2), and a large file arrive byte-identical; no client sees the collector`, async () => {
      const chat = `bytes-${format}`;
      const { client, connect } = await openKernel(chat, format);
      const watcher = await connect(format === 'legacy' ? 'v1' : 'legacy');
      const sent = new Set<string>();
      const run = async (code: string) => {
        const result = await client.execute(code);
        sent.add(result.reply!.parent_header.msg_id!);
        return result;
      };
      const first = await run("open('/mnt/data/notes.txt', 'w').write('one')");
      assert.match(first.messages.map(cardText).join(''), /notes\.txt \(3 B, .*version 1\)/);
      const second = await run("open('/mnt/data/notes.txt', 'w').write('two, longer')");
      assert.match(second.messages.map(cardText).join(''), /notes\.txt \(11 B, .*version 2\)/);
      // 50 MB in one wire format, 5 MB in the other: the transfer is the same code, and CI time is not.
      const bigMiB = format === 'v1' ? 50 : 5;
      const big = await run(
        `import random\nrandom.seed(7)\ndata = random.randbytes(${bigMiB} * 1024 * 1024)\nopen('/mnt/data/big.parquet', 'wb').write(data)\nimport hashlib\nprint(hashlib.sha256(data).hexdigest())`,
      );
      const kernelSha = big.stream.trim();
      const versions = await records(chat);
      const notes = versions.filter((r) => r.path === 'notes.txt').sort((a, b) => a.version - b.version);
      assert.deepEqual(await Promise.all(notes.map(async (r) => (await download(r, chat)).toString())), [
        'one',
        'two, longer',
      ]);
      const bigRecord = versions.find((r) => r.path === 'big.parquet')!;
      assert.equal(bigRecord.size, bigMiB * MiB);
      assert.equal(sha(await download(bigRecord, chat)), kernelSha);
      assertOnlyOwnMessages(client, sent);
      // The other connection to the same kernel gets the execution's broadcast iopub, never the collector's.
      assertOnlyOwnMessages(watcher, sent);
      await watcher.close();
      await client.close();
    });
  }

  test('a client of the kernel that bypasses the sidecar gets none of the file bytes: only the transfer’s busy and idle', async () => {
    const chat = 'bypass';
    const { client, id } = await openKernel(chat, 'v1');
    const direct = await RawKernelClient.connect(
      `${ws(bed.jupyter.url)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
      'v1',
    );
    const run = await client.execute("open('/mnt/data/p.parquet', 'wb').write(b'q' * 3_000_000)");
    assert.match(run.messages.map(cardText).join(''), /p\.parquet \(3(\.0)? MB/);
    // The kernel answers in order and iopub keeps its order: after its own idle, the direct client has seen all before.
    await direct.execute('1');
    const transfer = direct.received.filter((m) => isCollectors(m.parent_header));
    assert.ok(transfer.length > 0, 'the direct client listens to iopub (it sees the transfer’s status messages)');
    assert.deepEqual([...new Set(transfer.map((m) => m.header.msg_type))], ['status']);
    for (const m of direct.received) assert.equal(m.buffers?.length ?? 0, 0, `${m.header.msg_type} carried buffers`);
    await direct.close();
    await client.close();
  });

  test('a kernel whose code removed the collector’s handler gets it installed again, and its files still arrive', async () => {
    const chat = 'unhandled';
    const { client } = await openKernel(chat, 'legacy');
    await client.execute("open('/mnt/data/one.csv', 'w').write('1')");
    const run = await client.execute(
      `k = get_ipython().kernel\ndel k.shell_handlers['${REQUEST_TYPE}']\nopen('/mnt/data/two.csv', 'w').write('2')`,
    );
    assert.match(run.messages.map(cardText).join(''), /two\.csv \(1 B/);
    assert.deepEqual((await records(chat)).map((r) => r.path).sort(), ['one.csv', 'two.csv']);
    assert.equal((await client.execute(`print('${REQUEST_TYPE}' in k.shell_handlers)`)).stream, 'True\n');
    await client.close();
  });

  test('an upload is in the kernel for the next execution', async () => {
    const chat = 'uploads';
    const { client } = await openKernel(chat, 'v1');
    await client.execute('1');
    const put = await fetch(`${proxy.url}sidecar/v1/chats/${chat}/uploads/in/data.csv`, {
      method: 'PUT',
      body: 'x,y\n3,4\n',
    });
    assert.ok(put.ok, `upload: ${put.status}`);
    const read = await client.execute("print(open('/mnt/data/in/data.csv').read(), end='')");
    assert.equal(read.stream, 'x,y\n3,4\n');
    await client.close();
  });

  test('@jupyterlab/services: the card is an output of the execution, and no collector message is seen', async () => {
    const manager = await jupyterLabKernels(proxy.url, 'jlab', bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'python3' });
    const foreign: string[] = [];
    let received = 0;
    kernel.anyMessage.connect((_k, { msg, direction }) => {
      if (direction !== 'recv') return;
      received++;
      if (isCollectors(msg.parent_header)) foreign.push(msg.header.msg_type);
    });
    const outputs: string[] = [];
    const future = kernel.requestExecute({ code: "open('/mnt/data/lab.json', 'w').write('{}')" });
    future.onIOPub = (msg) => {
      if (JLKernelMessage.isDisplayDataMsg(msg)) outputs.push(String(msg.content.data['text/plain']));
    };
    assert.equal((await future.done).content.status, 'ok');
    assert.equal(outputs.length, 1);
    assert.match(outputs[0]!, /lab\.json \(2 B/);
    assert.deepEqual(foreign, []);
    assert.ok(received > 0);
    await kernel.shutdown();
    manager.dispose();
  });
});

/** What the sidecar wrote, as relative paths under its own folders (the mirror and the store). */
async function sidecarTree(): Promise<string[]> {
  const root = path.join(bed.dir, 'sidecar-host');
  const entries = await readdir(root, { recursive: true });
  return entries.map((e) => String(e));
}

describe('queued cells with the kernel file transport', () => {
  test('cells sent at once (JupyterLab) each get their own file in their own card; no collector message is seen', async () => {
    const chat = 'jlab-queue';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'python3' });
    await kernel.info;
    const foreign: string[] = [];
    kernel.anyMessage.connect((_k, { msg, direction }) => {
      if (direction === 'recv' && isCollectors(msg.parent_header)) foreign.push(msg.header.msg_type);
    });
    const names = ['k1.txt', 'k2.txt', 'k3.txt', 'k4.txt'];
    const cells = await Promise.all(names.map((name) => runCell(kernel, writingFirst(name))));
    const recorded = new Map((await records(chat)).map((r) => [r.path, r.execution?.msgId]));
    cells.forEach((cell, i) => {
      assert.equal(cell.reply.content.status, 'ok');
      assert.equal(cell.stream, `${names[i]}\n`);
      assert.deepEqual(cell.card, [`/mnt/data/${names[i]}`], `${names[i]}'s card`);
      assert.equal(recorded.get(names[i]!), cell.msgId, `${names[i]}'s record`);
    });
    assert.deepEqual(foreign, []);
    await kernel.shutdown();
    manager.dispose();
  });
});

describe('kernels the transport cannot serve', () => {
  test('a kernel of another language is refused at creation (kernels and sessions), saying to use a shared volume; none starts', async () => {
    const kernels = async () =>
      ((await (await fetch(`${bed.jupyter.url}api/kernels?token=${bed.jupyter.token}`)).json()) as unknown[]).length;
    const before = await kernels();
    const base = `${proxy.url}chats/other-language/`;
    for (const [route, body] of [
      ['api/kernels', { name: 'not-python' }],
      ['api/sessions', { path: 'x.ipynb', type: 'notebook', name: 'x', kernel: { name: 'not-python' } }],
    ] as const) {
      const res = await fetch(`${base}${route}?token=${bed.jupyter.token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      assert.equal(res.status, 400, route);
      const text = await res.text();
      assert.match(text, /ERR_KERNEL_NOT_PYTHON/);
      assert.match(text, /Kernel 'not-python' runs \\?"not-python\\?".*Python kernels only.*shared volume/, text);
    }
    assert.equal(await kernels(), before, 'no kernel was started');
    // The gateway's default kernelspec (Python) still starts.
    const ok = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
    assert.equal(ok.status, 201);
    const { id } = (await ok.json()) as { id: string };
    await fetch(`${bed.jupyter.url}api/kernels/${id}?token=${bed.jupyter.token}`, { method: 'DELETE' });
  });
});

describe('a collector that never answers', () => {
  test('the execution still ends for the client, the card names the refusal, and nothing is left waiting', async () => {
    // A sidecar of its own on the same Jupyter, with a short time budget.
    const strict = await startKernelTransportSidecar(
      bed,
      { 'record-wait-ms': '300000' },
      { transferLimits: { requestTimeoutMs: 1500, timeBudgetMs: 3000 } },
    );
    try {
      const base = `${strict.url}chats/sleeper/`;
      const res = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
      const { id } = (await res.json()) as { id: string };
      const client = await RawKernelClient.connect(
        `${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
        'v1',
      );
      await client.execute(`import sys, time\n_m = ${FIND_COLLECTOR}\n_op = _m._op`);
      const stuck = await client.execute(
        "_m._op = lambda a, b: time.sleep(10 ** 6)\nopen('/mnt/data/late.csv', 'w').write('1')",
      );
      assert.equal(stuck.reply?.content.status, 'ok');
      assert.match(stuck.messages.map(cardText).join(''), /did not answer the file transfer in time/);
      assert.equal(strict.sidecar.executionsInFlight(), 0);
      assert.deepEqual(await strict.sidecar.store.listChat('sleeper'), []);
      // The kernel still sleeps in the collector: interrupted, it goes on, and the file comes with the next run.
      await fetch(`${base}api/kernels/${id}/interrupt?token=${bed.jupyter.token}`, { method: 'POST' });
      const next = await client.execute('_m._op = _op');
      assert.equal(next.reply?.content.status, 'ok');
      assert.deepEqual(
        (await strict.sidecar.store.listChat('sleeper')).map((r) => r.path),
        ['late.csv'],
      );
      assertOnlyOwnMessages(client, new Set([stuck.reply!.parent_header.msg_id!, next.reply!.parent_header.msg_id!]));
      assert.equal(strict.sidecar.executionsInFlight(), 0);
      await client.close();
    } finally {
      await strict.stop();
    }
  });
});

describe('a hostile kernel', () => {
  const LIE_NAMES = `
import json, base64

_real_dumps = json.dumps
_names = [b'../victim/evil.csv', b'/etc/evil.csv', b'a\\x00b.csv', 'x\\u202egnp.csv'.encode(), b'x' * 5000 + b'.csv',
          b'\\xff\\xfe.csv', b'sub/../../victim/evil.csv', b'./evil.csv', b'bad\\nline.csv']
def _lying(obj, *a, **k):
    if isinstance(obj, dict) and 'files' in obj:
        obj = {'files': [[base64.b64encode(n).decode(), 10, '1', '1'] for n in _names] + obj['files'], 'truncated': False}
    return _real_dumps(obj, *a, **k)
json.dumps = _lying
open('/mnt/data/fine.csv', 'w').write('ok\\n')
`;

  test('names that leave its folder, lie or hide are refused, named in the card, and reach nothing outside its chat', async () => {
    const victim = await openKernel('victim', 'legacy');
    await victim.client.execute("open('/mnt/data/evil.csv', 'w').write('the victim’s own')");
    const victimBefore = await records('victim');
    const { client } = await openKernel('attacker', 'legacy');
    const run = await client.execute(LIE_NAMES);
    const card = run.messages.map(cardText).join('\n');
    assert.match(card, /fine\.csv \(3 B, .*version 1\)/, card);
    for (const why of [
      'a path that leaves the workspace',
      'an absolute path',
      'a NUL in its name',
      'a bidirectional control character in its name',
      'a name that is too long',
      'a name that is not UTF-8',
      'a malformed path',
      'a control character in its name',
    ])
      assert.ok(card.includes(why), `the card names ${why}:\n${card}`);
    assert.ok(!/[\u202e\0]/.test(card), 'the card spells hostile characters out');
    assert.deepEqual(
      (await records('attacker')).map((r) => r.path),
      ['fine.csv'],
    );
    assert.deepEqual(await records('victim'), victimBefore);
    assert.deepEqual((await proxy.sidecar.store.listChatIds()).includes('etc'), false);
    for (const entry of await sidecarTree()) assert.ok(!entry.endsWith('evil.csv') || entry.includes('victim'), entry);
    await client.close();
    await victim.client.close();
  });

  test('a replaced collector, invalid base64, pieces longer than asked and endless chunks are refused and named; nothing is recorded until the kernel stops lying', async () => {
    const { client } = await openKernel('forger', 'v1');
    await client.execute(`import sys\n_m = ${FIND_COLLECTOR}\n_op, _reply = _m._op, _m._reply`);
    const replaced = await client.execute(
      "_m._op = lambda a, b: (\"' or anything\", [])\nopen('/mnt/data/a.csv', 'w').write('1')",
    );
    const recorded = async () => (await records('forger')).map((r) => r.path).sort();
    assert.match(
      replaced.messages.map(cardText).join(''),
      /answer was refused: the kernel answered something that is not the collector/,
    );
    assert.deepEqual(await recorded(), []);
    await client.execute('_m._op = _op');
    const badBase64 = await client.execute(
      "import base64\n_b64 = base64.b64encode\nbase64.b64encode = lambda b: _b64(b)[1:] if b == b'b.csv' else _b64(b)\nopen('/mnt/data/b.csv', 'w').write('2' * 1000)",
    );
    assert.match(badBase64.messages.map(cardText).join(''), /answer was refused: the kernel sent invalid base64/);
    assert.deepEqual(await recorded(), ['a.csv']);
    await client.execute('base64.b64encode = _b64');
    const longer = await client.execute(
      "import os\n_pread = os.pread\nos.pread = lambda fd, n, off: _pread(fd, n, off) + b'more'\nopen('/mnt/data/c.csv', 'w').write('3')",
    );
    assert.match(
      longer.messages.map(cardText).join(''),
      /answer was refused: the kernel sent more bytes than it was asked for/,
    );
    assert.deepEqual(await recorded(), ['a.csv', 'b.csv']);
    await client.execute('os.pread = _pread');
    // Every chunk sent a thousand times over: the sidecar keeps none past what it asked for.
    const endless = await client.execute(
      "_m._reply = lambda s, i, p, c, b: _reply(s, i, p, c, b * 1000)\nopen('/mnt/data/d.csv', 'w').write('4' * 5000)",
    );
    assert.match(
      endless.messages.map(cardText).join(''),
      /answer was refused: the kernel sent more bytes than it was asked for/,
    );
    assert.deepEqual(await recorded(), ['a.csv', 'b.csv', 'c.csv']);
    await client.execute('_m._reply = _reply');
    // Once the kernel's code stops lying, what it wrote arrives, exactly.
    const byPath = Object.fromEntries((await records('forger')).map((r) => [r.path, r]));
    assert.deepEqual(Object.keys(byPath).sort(), ['a.csv', 'b.csv', 'c.csv', 'd.csv']);
    assert.equal((await download(byPath['b.csv']!, 'forger')).toString(), '2'.repeat(1000));
    assert.equal((await download(byPath['c.csv']!, 'forger')).toString(), '3');
    assert.equal((await download(byPath['d.csv']!, 'forger')).toString(), '4'.repeat(5000));
    await client.close();
  });

  test('a file claimed far larger than it is costs the sidecar at most its limits, in memory and on disk', async () => {
    const { client } = await openKernel('inflater', 'v1');
    // The kernel's fstat and listing say 40 MB, and every read answers as much as asked: the sidecar
    // takes it in 1 MiB chunks (its own chat may hold what its code makes up), never more at once.
    const rssBefore = process.memoryUsage().rss;
    let peak = rssBefore;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    try {
      const run = await client.execute(
        [
          'import os, json',
          "open('/mnt/data/huge.csv', 'w').write('x')",
          '_fstat, _pread, _dumps = os.fstat, os.pread, json.dumps',
          'class _S:',
          '    def __init__(self, s): self.s = s',
          '    def __getattr__(self, k): return 40 * 1024 * 1024 if k == "st_size" else getattr(self.s, k)',
          'os.fstat = lambda fd: _S(_fstat(fd))',
          "os.pread = lambda fd, n, off: b'y' * n",
          'def _big(obj, *a, **k):',
          "    if isinstance(obj, dict) and 'files' in obj:",
          "        obj = {'files': [[f[0], 40 * 1024 * 1024, f[2], f[3]] for f in obj['files']], 'truncated': False}",
          '    return _dumps(obj, *a, **k)',
          'json.dumps = _big',
        ].join('\n'),
      );
      assert.match(run.messages.map(cardText).join(''), /huge\.csv \(41\.9 MB/);
    } finally {
      clearInterval(sampler);
      await client.execute('os.fstat, os.pread, json.dumps = _fstat, _pread, _dumps').catch(() => {});
    }
    const growth = peak - rssBefore;
    assert.ok(growth < 48 * MiB, `the sidecar grew ${(growth / MiB).toFixed(1)} MB for a 40 MB transfer`);
    await client.close();
  });
});
