/**
 * The file card end to end, on a real Jupyter Server: Open WebUI's exact calls, @jupyterlab/services
 * and raw clients in both wire formats get one display_data naming what the execution saved,
 * before the execution ends as they see it, with links that work with nothing else.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KernelMessage as JLKernelMessage } from '@jupyterlab/services';
import { build } from 'esbuild';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { codeWithCompletionOrder, type CompletionOrder } from '../support/completion-order.ts';
import { runLikeOpenWebUi } from '../support/open-webui-run.ts';
import { RawKernelClient, type KernelMessage } from '../support/raw-kernel-client.ts';

const SECRET = 'card-test-secret-that-is-at-least-32-bytes';
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

const ws = (url: string) => url.replace(/^http/, 'ws');
const isCard = (m: KernelMessage) =>
  m.header.msg_type === 'display_data' && /^Files? saved|not kept/m.test(String(m.content.data?.['text/plain'] ?? ''));

async function openKernel(
  chat: string,
  format: 'legacy' | 'v1',
  target = proxy,
): Promise<{ client: RawKernelClient; base: string; id: string }> {
  const base = `${target.url}chats/${chat}/`;
  const res = await fetch(`${base}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
  assert.equal(res.status, 201);
  const { id } = (await res.json()) as { id: string };
  const client = await RawKernelClient.connect(
    `${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
    format,
  );
  return { client, base, id };
}

const linksIn = (text: string) => [...text.matchAll(/https?:\/\/\S+/g)].map((m) => m[0]);

describe('Open WebUI, unchanged', () => {
  test('gets the card before idle, and its link downloads the exact bytes with nothing but the link', async () => {
    const run = await runLikeOpenWebUi(
      proxy.url,
      bed.jupyter.token,
      "import os\ndata = bytes(range(256)) * 40\nopen('/mnt/data/blob.pdf', 'wb').write(data)\nopen('/mnt/data/notes.csv', 'w').write('a,b\\n1,2\\n')\nprint('done')",
    );
    assert.equal(run.stdout, 'done\n');
    assert.equal(run.result.length, 1, 'one card');
    const card = run.result[0]!;
    assert.match(card, /^Files saved \(give the user these links\):$/m);
    assert.match(card, /^- \/mnt\/data\/blob\.pdf \(10\.2 kB, .*, version 1\): http:\/\//m);
    assert.equal(run.seen.at(-1), 'status', 'it stopped at idle');
    assert.ok(run.seen.indexOf('display_data') < run.seen.lastIndexOf('status'));
    const blobLink = linksIn(card.split('\n').find((line) => line.includes('blob.pdf'))!)[0];
    assert.ok(blobLink && new URL(blobLink).searchParams.get('token'), 'a capability link');
    const res = await fetch(blobLink!);
    assert.equal(res.status, 200);
    assert.deepEqual(
      Buffer.from(await res.arrayBuffer()),
      Buffer.concat(Array.from({ length: 40 }, () => Buffer.from(Array.from({ length: 256 }, (_, i) => i)))),
    );
  });
});

describe('raw clients in both wire formats', () => {
  for (const format of ['legacy', 'v1'] as const) {
    test(`${format}: one valid card, before both execute_reply and idle, parent = the request`, async () => {
      const { client } = await openKernel(`card-${format}`, format);
      const run = await client.execute("open('/mnt/data/out.txt', 'w').write('hello')\nprint('x')");
      const order = run.messages.map((m) => m.header.msg_type);
      const cards = run.messages.filter(isCard);
      assert.equal(cards.length, 1);
      const card = cards[0]!;
      const cardAt = run.messages.indexOf(card);
      assert.ok(cardAt < order.indexOf('execute_reply'), `card before the reply: ${order}`);
      assert.ok(cardAt < order.lastIndexOf('status'), `card before idle: ${order}`);
      assert.equal(card.channel, 'iopub');
      assert.equal(card.parent_header.msg_type, 'execute_request');
      assert.equal(card.parent_header.session, client.session, "the request's own header");
      assert.equal(card.header.session, run.reply!.header.session, "the kernel's session");
      assert.equal(card.header.version, run.reply!.header.version);
      assert.notEqual(card.header.msg_id, run.reply!.header.msg_id);
      assert.deepEqual(Object.keys(card.content.data).sort(), ['text/html', 'text/markdown', 'text/plain']);
      assert.match(card.content.data['text/html'], /<a href="http:\/\/[^"]+token=[^"]+" download="out\.txt"/);
      if (format === 'legacy') assert.equal(card.msg_type, 'display_data');
      await client.close();
    });
  }

  test('a silent execution and one that writes nothing get no card; a traceback that wrote a file gets one', async () => {
    const { client } = await openKernel('card-cases', 'v1');
    const silent = await client.execute("open('/mnt/data/silent.txt', 'w').write('s')", { silent: true });
    assert.equal(silent.messages.filter(isCard).length, 0);
    const nothing = await client.execute("print('no files')");
    assert.equal(nothing.messages.filter(isCard).length, 0);
    const failing = await client.execute("open('/mnt/data/partial.csv', 'w').write('a\\n')\n1/0");
    assert.equal(failing.reply!.content.status, 'error');
    const cards = failing.messages.filter(isCard);
    assert.equal(cards.length, 1);
    assert.match(cards[0]!.content.data['text/plain'], /partial\.csv/);
    // The silent run's file was found by this scan too: the card names what this execution recorded.
    await client.close();
  });

  test('a file over the size limit is named with the reason', async () => {
    const small = await startSidecar(
      bed,
      { 'max-file-mb': '0.001', 'announce-files': 'text' },
      {},
      { FILES_API_SECRET: SECRET },
    );
    try {
      const { client } = await openKernel('card-skip', 'legacy', small);
      const run = await client.execute(
        "open('/mnt/data/big.csv', 'w').write('x' * 5000)\nopen('/mnt/data/small.csv', 'w').write('y')",
      );
      const [card] = run.messages.filter(isCard);
      assert.deepEqual(Object.keys(card!.content.data), ['text/plain'], '--announce-files text');
      assert.match(
        card!.content.data['text/plain'],
        /^- \/mnt\/data\/big\.csv \(5 kB\): not kept: over the size limit$/m,
      );
      assert.match(card!.content.data['text/plain'], /small\.csv/);
      await client.close();
    } finally {
      await small.stop();
    }
  });

  test('--announce-files off: no card', async () => {
    const quiet = await startSidecar(bed, { 'announce-files': 'off' });
    try {
      const { client } = await openKernel('card-off', 'v1', quiet);
      const run = await client.execute("open('/mnt/data/q.txt', 'w').write('q')");
      assert.equal(run.messages.filter(isCard).length, 0);
      await client.close();
    } finally {
      await quiet.stop();
    }
  });
});

describe('the card is the last output, whatever order execute_reply and idle arrive in', () => {
  const label = (m: KernelMessage) =>
    isCard(m) ? 'card' : m.header.msg_type === 'status' ? `status:${m.content.execution_state}` : m.header.msg_type;
  const completion = (seen: string[]) => seen.filter((l) => l === 'execute_reply' || l === 'status:idle');
  const ORDERS: Record<CompletionOrder, [string, string]> = {
    'reply-first': ['execute_reply', 'status:idle'],
    'idle-first': ['status:idle', 'execute_reply'],
  };

  for (const [order, [first, second]] of Object.entries(ORDERS) as [CompletionOrder, [string, string]][]) {
    test(`${order}: the kernel really sends them so (no sidecar)`, async () => {
      const res = await fetch(`${bed.jupyter.url}api/kernels?token=${bed.jupyter.token}`, { method: 'POST' });
      const { id } = (await res.json()) as { id: string };
      const client = await RawKernelClient.connect(
        `${ws(bed.jupyter.url)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
        'v1',
      );
      const run = await client.execute(
        codeWithCompletionOrder(order, path.join(bed.workspaceRoot, `direct-${order}.txt`)),
      );
      const seen = run.messages.map(label);
      assert.deepEqual(completion(seen), [first, second], seen.join(' '));
      if (order === 'reply-first')
        assert.ok(
          seen.indexOf('execute_reply') < seen.indexOf('stream') &&
            seen.indexOf('execute_reply') < seen.indexOf('execute_result'),
          `the output trails the reply: ${seen}`,
        );
      await client.close();
    });

    for (const format of ['legacy', 'v1'] as const) {
      test(`${order}, ${format}: outputs, the card, then ${first}, then ${second}`, async () => {
        const { client } = await openKernel(`order-${order}-${format}`, format);
        const run = await client.execute(codeWithCompletionOrder(order, '/mnt/data/ordered.txt'));
        assert.deepEqual(run.messages.map(label), [
          'status:busy',
          'execute_input',
          'stream',
          'execute_result',
          'card',
          first,
          second,
        ]);
        await client.close();
      });
    }

    test(`${order}, Open WebUI: the card's text is the last result, before idle`, async () => {
      const run = await runLikeOpenWebUi(
        proxy.url,
        bed.jupyter.token,
        codeWithCompletionOrder(order, '/mnt/data/ordered.txt'),
      );
      assert.equal(run.result.length, 2, run.seen.join(' '));
      assert.equal(run.result[0], "'result'");
      assert.match(run.result[1]!, /^File saved \(give the user this link\):\n- \/mnt\/data\/ordered\.txt /);
      const ending = order === 'reply-first' ? ['display_data', 'execute_reply', 'status'] : ['display_data', 'status'];
      assert.deepEqual(run.seen.slice(-ending.length), ending, 'the card, then (the reply and) idle');
    });
  }
});

/**
 * JupyterLab's OutputAreaModel, as the notebook uses it. Its package is written for bundlers (it
 * imports icons and styles), so it is bundled here with esbuild, icons as text and styles empty.
 */
async function outputAreaModel(): Promise<new () => OutputModelLike> {
  const dir = await mkdtemp(path.join(tmpdir(), 'gf-outputarea-'));
  const outfile = path.join(dir, 'model.cjs');
  await build({
    // An ES re-export, so esbuild keeps only what the model needs (not the widgets, which want a DOM).
    stdin: {
      contents: "export { OutputAreaModel } from '@jupyterlab/outputarea/lib/model.js';",
      resolveDir: process.cwd(),
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    loader: { '.svg': 'text', '.css': 'empty' },
    outfile,
    logLevel: 'silent',
  });
  const loaded = createRequire(import.meta.url)(outfile) as { OutputAreaModel: new () => OutputModelLike };
  await rm(dir, { recursive: true, force: true });
  return loaded.OutputAreaModel;
}

interface OutputModelLike {
  add(output: Record<string, unknown>): number;
  toJSON(): Array<{ output_type: string }>;
}

describe('@jupyterlab/services', () => {
  test('the card is one output of the execution, read by its own deserializer and held by its OutputAreaModel', async () => {
    const chat = 'card-jlab';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'python3' });
    // Every display output of this execution, in order, and JupyterLab's own OutputAreaModel fed
    // the way its OutputArea feeds it (each output message's content, typed by its msg_type).
    const outputs: JLKernelMessage.IIOPubMessage[] = [];
    const model = new (await outputAreaModel())();
    const future = kernel.requestExecute({
      code: "open('/mnt/data/table.csv', 'w').write('a\\n1\\n')\nprint('printed')\n'result'",
    });
    future.onIOPub = (msg) => {
      if (
        JLKernelMessage.isDisplayDataMsg(msg) ||
        JLKernelMessage.isExecuteResultMsg(msg) ||
        JLKernelMessage.isStreamMsg(msg)
      ) {
        outputs.push(msg);
        model.add({ ...msg.content, output_type: msg.header.msg_type });
      }
    };
    const reply = await future.done;
    assert.equal(reply.content.status, 'ok');
    // The card is the cell's last output, after its stream and execute_result, whatever order the
    // reply and the outputs reached the sidecar in.
    assert.deepEqual(
      outputs.map((m) => m.header.msg_type),
      ['stream', 'execute_result', 'display_data'],
    );
    const card = outputs.at(-1) as JLKernelMessage.IDisplayDataMsg;
    assert.equal(card.parent_header && (card.parent_header as { msg_id: string }).msg_id, future.msg.header.msg_id);
    assert.equal(card.channel, 'iopub');
    const link = linksIn(String(card.content.data['text/plain'])).find((l) => l.includes('/files/'))!;
    assert.equal(await (await fetch(link)).text(), 'a\n1\n');
    // In the cell's output model the card is one output: the third, a display with all three MIME types.
    const cell = model.toJSON();
    assert.deepEqual(
      cell.map((o) => o.output_type),
      ['stream', 'execute_result', 'display_data'],
    );
    const shown = cell[2] as unknown as { data: Record<string, unknown> };
    assert.deepEqual(Object.keys(shown.data).sort(), ['text/html', 'text/markdown', 'text/plain']);
    await kernel.shutdown();
    manager.dispose();
  });
});

test("the link points at the client's Host; readFileSync is exact too", async () => {
  const { client } = await openKernel('card-host', 'legacy');
  const run = await client.execute("open('/mnt/data/h.txt', 'w').write('h')");
  const [card] = run.messages.filter(isCard);
  const link = new URL(linksIn(card!.content.data['text/plain'])[0]!);
  assert.equal(link.host, new URL(proxy.url).host);
  assert.equal(readFileSync(path.join(bed.workspaceRoot, 'card-host', 'h.txt'), 'utf8'), 'h');
  await client.close();
});
