/**
 * The sidecar in front of a real Jupyter Server, driven by the clients that matter:
 * Open WebUI's executor (replayed call by call), @jupyterlab/services, and raw ws in both wire formats.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import type { KernelMessage as JLKernelMessage } from '@jupyterlab/services';
import { jupyterLabKernels } from '../support/jupyterlab.ts';
import { useSidecarBed } from '../support/harness.ts';
import { runLikeOpenWebUi } from '../support/open-webui-run.ts';
import { RawKernelClient, visibleText } from '../support/raw-kernel-client.ts';

const { bed, proxy } = useSidecarBed();

const ws = (url: string) => url.replace(/^http/, 'ws');

async function createKernel(
  base: string,
  init: RequestInit = {},
  query = `?token=${bed.jupyter.token}`,
): Promise<string> {
  const res = await fetch(`${base}api/kernels${query}`, { method: 'POST', ...init });
  assert.equal(res.status, 201, await res.clone().text());
  return ((await res.json()) as { id: string }).id;
}

async function deleteKernel(base: string, id: string): Promise<void> {
  const res = await fetch(`${base}api/kernels/${id}?token=${bed.jupyter.token}`, { method: 'DELETE' });
  assert.equal(res.status, 204);
}

const openWebUiRun = (base: string, code: string) => runLikeOpenWebUi(base, bed.jupyter.token, code);

describe('Open WebUI executor through the sidecar', () => {
  test('writes land in a workspace of the kernel, outputs show /mnt/data, idle means done', async () => {
    const run = await openWebUiRun(
      proxy.url,
      [
        'import pandas as pd, os',
        "df = pd.DataFrame({'region': ['north', 'south'], 'sales': [120, 80]})",
        "df.to_excel('/mnt/data/report.xlsx', index=False)",
        "print('/mnt/data/report.xlsx', os.path.exists('/mnt/data/report.xlsx'))",
        'print(os.getcwd())',
        "'/mnt/database'",
      ].join('\n'),
    );
    assert.equal(run.stdout, '/mnt/data/report.xlsx True\n/mnt/data\n');
    assert.equal(run.result[0], "'/mnt/database'");
    assert.match(
      run.result[1]!,
      /^File saved .*\n- \/mnt\/data\/report\.xlsx \(.*Excel workbook, version 1\): http/,
      'then the file card',
    );
    assert.equal(run.result.length, 2);
    // Open WebUI sends no chat id: the kernel got a workspace of its own.
    const chat = await proxy.sidecar.kernelChats.get(run.kernelId);
    assert.equal(chat, undefined, 'a deleted kernel is forgotten');
  });

  test('with a chat base URL, its files land in that chat', async () => {
    const run = await openWebUiRun(
      `${proxy.url}chats/owui-chat/`,
      "open('/mnt/data/answer.csv', 'w').write('a,b\\n')\nprint('ok')",
    );
    assert.equal(run.stdout, 'ok\n');
    assert.ok(existsSync(path.join(bed.workspaceRoot, 'owui-chat', 'answer.csv')));
  });

  test('a traceback for a missing file shows /mnt/data', async () => {
    const run = await openWebUiRun(proxy.url, "import pandas as pd\npd.read_csv('/mnt/data/x.csv')");
    assert.match(run.stderr, /\/mnt\/data\/x\.csv/);
    assert.doesNotMatch(run.stderr, new RegExp(bed.workspaceRoot));
  });
});

describe('raw WebSocket clients in both wire formats', () => {
  for (const format of ['legacy', 'v1'] as const) {
    test(`${format}: rewriting in and out, chat isolation, /mnt/database untouched`, async () => {
      const chat = `raw-${format}`;
      const base = `${proxy.url}chats/${chat}/`;
      const id = await createKernel(base);
      const client = await RawKernelClient.connect(
        `${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
        format,
      );
      assert.equal(client.ws.protocol, format === 'v1' ? 'v1.kernel.websocket.jupyter.org' : '');
      const run = await client.execute(
        [
          'from pathlib import Path',
          "p = Path('/mnt/data') / 'sub dir' / 'x y.csv'",
          'p.parent.mkdir(exist_ok=True)',
          "p.write_text('a,b\\n1,2\\n')",
          'print(p.resolve())',
          "print('/mnt/database', '/mnt/data2', '/tmp/mnt/data')",
          "display({'path': str(p)}, raw=False)",
        ].join('\n'),
      );
      assert.equal(run.reply?.content.status, 'ok');
      assert.equal(run.stream, '/mnt/data/sub dir/x y.csv\n/mnt/database /mnt/data2 /tmp/mnt/data\n');
      const echoed = run.messages.find((m) => m.header.msg_type === 'execute_input');
      assert.match(echoed!.content.code, /Path\('\/mnt\/data'\)/, 'the echoed code shows /mnt/data again');
      assert.match(visibleText(run.messages), /'\/mnt\/data\/sub dir\/x y\.csv'/);
      assert.ok(existsSync(path.join(bed.workspaceRoot, chat, 'sub dir', 'x y.csv')));
      // Top-level fields the client relies on are kept (legacy frames carry them).
      if (format === 'legacy') assert.ok(run.messages.every((m) => typeof m.msg_type === 'string' && m.channel));
      await client.close();
      await deleteKernel(base, id);
    });
  }

  test('v1: a workspace path cut across flushed stream messages, amid lines that pass unparsed, comes out as /mnt/data', async () => {
    const base = `${proxy.url}chats/raw-split/`;
    const id = await createKernel(base);
    const client = await RawKernelClient.connect(
      `${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
      'v1',
    );
    const run = await client.execute(
      [
        'import os, sys',
        'ws = os.getcwd()',
        'def out(text):',
        '    sys.stdout.write(text)',
        '    sys.stdout.flush()',
        'for i in range(200):',
        "    out('x' * 100 + '\\n')",
        'cut = len(ws) // 2',
        "out('saved ' + ws[:cut])",
        "out(ws[cut:] + '/report.xlsx\\n')",
        "out('a/b ' + ws)",
        "out('\\n')",
      ].join('\n'),
    );
    assert.equal(run.reply?.content.status, 'ok');
    assert.equal(run.stream, `${'x'.repeat(100)}\n`.repeat(200) + 'saved /mnt/data/report.xlsx\na/b /mnt/data\n');
    const texts = run.messages.filter((m) => m.header.msg_type === 'stream').map((m) => m.content.text as string);
    assert.ok(texts.includes('saved '), 'the cut moved to before the path, and the messages stayed apart');
    await client.close();
    await deleteKernel(base, id);
  });

  test("two chats never see each other's files", async () => {
    const [a, b] = ['iso-a', 'iso-b'];
    const ka = await createKernel(`${proxy.url}chats/${a}/`);
    const kb = await createKernel(`${proxy.url}chats/${b}/`);
    const ca = await RawKernelClient.connect(
      `${ws(proxy.url)}chats/${a}/api/kernels/${ka}/channels?token=${bed.jupyter.token}`,
      'legacy',
    );
    const cb = await RawKernelClient.connect(
      `${ws(proxy.url)}chats/${b}/api/kernels/${kb}/channels?token=${bed.jupyter.token}`,
      'v1',
    );
    await ca.execute("open('/mnt/data/secret.txt', 'w').write('a')");
    const seen = await cb.execute("import os; print(sorted(os.listdir('/mnt/data')))");
    assert.equal(seen.stream, '[]\n');
    assert.ok(existsSync(path.join(bed.workspaceRoot, a, 'secret.txt')));
    assert.ok(!existsSync(path.join(bed.workspaceRoot, b, 'secret.txt')));
    // The kernel of chat a cannot be opened as chat b.
    await assert.rejects(
      RawKernelClient.connect(
        `${ws(proxy.url)}chats/${b}/api/kernels/${ka}/channels?token=${bed.jupyter.token}`,
        'legacy',
      ),
      (e: { status?: number }) => e.status === 409,
    );
    await Promise.all([ca.close(), cb.close()]);
  });

  test('a PNG output is byte-identical to the direct run', async () => {
    const code = [
      'import matplotlib',
      "matplotlib.use('Agg')",
      'import matplotlib.pyplot as plt, io',
      'from IPython.display import Image, display',
      'fig, ax = plt.subplots(figsize=(3, 2), dpi=80)',
      "ax.plot([1, 3, 2]); ax.set_title('sales')",
      'buf = io.BytesIO()',
      "fig.savefig(buf, format='png', metadata={'Software': None})",
      "fig.savefig('/mnt/data/plot.png')",
      'display(Image(buf.getvalue()))',
    ].join('\n');
    const pngOf = (messages: Awaited<ReturnType<RawKernelClient['execute']>>['messages']) =>
      // The sidecar's file card is a display_data too: pick the image.
      messages.find((m) => m.header.msg_type === 'display_data' && m.content.data['image/png'])?.content.data[
        'image/png'
      ] as string;

    const directId = await createKernel(bed.jupyter.url);
    const direct = await RawKernelClient.connect(
      `${ws(bed.jupyter.url)}api/kernels/${directId}/channels?token=${bed.jupyter.token}`,
      'legacy',
    );
    const directRun = await direct.execute(
      code.replace('/mnt/data/plot.png', path.join(bed.workspaceRoot, 'direct-plot.png')),
    );
    const base = `${proxy.url}chats/png/`;
    const id = await createKernel(base);
    const viaSidecar = await RawKernelClient.connect(
      `${ws(base)}api/kernels/${id}/channels?token=${bed.jupyter.token}`,
      'v1',
    );
    const sidecarRun = await viaSidecar.execute(code);
    assert.ok(pngOf(directRun.messages)?.length > 1000);
    assert.equal(pngOf(sidecarRun.messages), pngOf(directRun.messages));
    assert.ok(
      readFileSync(path.join(bed.workspaceRoot, 'png', 'plot.png'))
        .subarray(1, 4)
        .toString() === 'PNG',
    );
    await Promise.all([direct.close(), viaSidecar.close()]);
  });
});

describe('@jupyterlab/services through the sidecar', () => {
  test('KernelManager starts a kernel, executes, and sees /mnt/data in outputs', async () => {
    const chat = 'jlab';
    const manager = await jupyterLabKernels(proxy.url, chat, bed.jupyter.token);
    const kernel = await manager.startNew({ name: 'python3' });
    const outputs: string[] = [];
    const future = kernel.requestExecute({
      code: "import pandas as pd\npd.DataFrame({'a': [1]}).to_csv('/mnt/data/table.csv')\nprint(open('/mnt/data/table.csv').name)\n1/0",
    });
    future.onIOPub = (msg: JLKernelMessage.IIOPubMessage) => {
      if (msg.header.msg_type === 'stream') outputs.push((msg.content as { text: string }).text);
      if (msg.header.msg_type === 'error') outputs.push(...(msg.content as { traceback: string[] }).traceback);
    };
    const reply = await future.done;
    assert.equal(reply.content.status, 'error');
    assert.equal(outputs[0], '/mnt/data/table.csv\n');
    assert.ok(outputs.some((line) => line.includes('ZeroDivisionError')));
    assert.ok(existsSync(path.join(bed.workspaceRoot, chat, 'table.csv')));
    assert.equal(kernel.connectionStatus, 'connected');
    await kernel.shutdown();
    manager.dispose();
  });
});
