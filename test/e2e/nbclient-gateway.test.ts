/**
 * nbclient through Jupyter Server's gateway client, unchanged: a real Jupyter Server 1.23 runs in
 * gateway mode (`--GatewayClient.url` = the sidecar under a chat's prefix, the gateway's token as
 * `--GatewayClient.auth_token`), and nbclient executes a notebook through it with that server's
 * own GatewayKernelManager. So the sidecar sees Jupyter's GatewayClient exactly as it calls a
 * gateway: REST with `Authorization: token …`, the kernel WebSocket from its
 * GatewayWebSocketClient. Each cell's file is recorded for the chat, with its own execution.
 *
 * The notebook server in the middle has no token of its own: Jupyter Server 1.23's
 * GatewayKernelClient (what nbclient's kernel client is) opens its WebSocket with no headers at
 * all (`websocket.create_connection(ws_url, timeout=…, enable_multithread=True, sslopt=…)`), so
 * a server asking for a token refuses it 403 whoever is behind. The sidecar is not that server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_JUPYTER_PYTHON, startLocalJupyter, type LocalJupyter } from '../../proxy/local-jupyter.ts';
import { useSidecarBed } from '../support/harness.ts';

let notebookServer: LocalJupyter;
const CHAT = 'nbclient-chat';
const { bed, proxy } = useSidecarBed(
  {},
  {
    async start(bed, proxy) {
      notebookServer = await startLocalJupyter({
        rootDir: path.join(bed.dir, 'notebook-server'),
        token: '',
        extraArgs: [
          `--GatewayClient.url=${proxy.url}chats/${CHAT}/`,
          `--GatewayClient.auth_token=${bed.jupyter.token}`,
          // Token-less (see above), so nothing would carry its XSRF cookie either.
          '--ServerApp.disable_check_xsrf=True',
        ],
      });
    },
    stop: async () => notebookServer?.stop(),
  },
);

/** nbclient, as a user runs it, against the notebook server's gateway: the executed notebook's outputs. */
const NBCLIENT = `
import json, sys
import nbformat
from nbclient import NotebookClient
from jupyter_server.gateway.managers import GatewayClient, GatewayKernelManager
GatewayClient.instance().url = sys.argv[1]
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(source) for source in json.loads(sys.argv[2])]
NotebookClient(nb, kernel_manager_class=GatewayKernelManager, kernel_name='python3', timeout=120).execute()
print(json.dumps([cell.outputs for cell in nb.cells]))
`;

async function runNbclient(cells: string[]): Promise<Array<Array<Record<string, any>>>> {
  const child = spawn(DEFAULT_JUPYTER_PYTHON, ['-c', NBCLIENT, notebookServer.url, JSON.stringify(cells)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, `nbclient failed:\n${err.slice(-3000)}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

const plain = (outputs: Array<Record<string, any>>) =>
  outputs.map((o) => (o.output_type === 'stream' ? o.text : (o.data?.['text/plain'] ?? ''))).join('\n');

describe("nbclient through Jupyter Server's gateway client", () => {
  test('a notebook runs in the chat workspace; each cell gets its own file, card and execution', async () => {
    const [first, second] = await runNbclient([
      "import os\nprint(os.getcwd())\nopen('/mnt/data/first.txt', 'w').write('1')",
      "open('second.txt', 'w').write('2')\nprint(open('/mnt/data/second.txt').read())",
    ]);
    assert.match(plain(first!), /^\/mnt\/data\n/);
    assert.match(plain(first!), /File saved[^]*\/mnt\/data\/first\.txt/);
    assert.doesNotMatch(plain(first!), /second\.txt/);
    assert.match(plain(second!), /^2\n/);
    assert.match(plain(second!), /\/mnt\/data\/second\.txt/);
    assert.doesNotMatch(plain(second!), /first\.txt/);
    assert.ok(!JSON.stringify([first, second]).includes(bed.dir), 'no output shows a server path');

    const records = await proxy.sidecar.store.listChat(CHAT);
    const byPath = new Map(records.map((r) => [r.path, r]));
    assert.deepEqual([...byPath.keys()].sort(), ['first.txt', 'second.txt']);
    for (const record of records) assert.equal(record.source, 'execution');
    assert.notEqual(byPath.get('first.txt')!.execution!.msgId, byPath.get('second.txt')!.execution!.msgId);
    // nbclient shut its kernel down through the gateway client: the chat has no kernel left.
    const kernels = await (await fetch(`${proxy.url}chats/${CHAT}/api/kernels?token=${bed.jupyter.token}`)).json();
    assert.deepEqual(kernels, []);
  });
});
