/**
 * Third-party clients through the sidecar, against a real Jupyter Server: the exact wire
 * behaviour of clients that cannot be installed here (test/support/third-party-clients.ts). Each writes a file
 * to /mnt/data: it lands in the chat's workspace, outputs show /mnt/data, and the file card is
 * among what the client read before it considered the run done.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { useSidecarBed } from '../support/harness.ts';
import {
  AutoGenLikeExecutor,
  runLikeDatalayer,
  runLikeEnterpriseGatewayClient,
  SmolagentsLikeExecutor,
  type ClientRun,
} from '../support/third-party-clients.ts';

const { bed, proxy } = useSidecarBed();

const chatBase = (chat: string) => `${proxy.url}chats/${chat}/`;
const WRITE = (name: string) =>
  `import os\nopen('/mnt/data/${name}', 'w').write('${name}')\nprint(os.path.abspath('${name}'))`;

function assertRan(run: ClientRun, chat: string, name: string): void {
  assert.equal(run.stdout, `/mnt/data/${name}\n`);
  const card = run.plain.find((text) => /^Files? saved/.test(text));
  assert.ok(card, `the card came before the client was done (read: ${run.types.join(', ')})`);
  assert.match(card, new RegExp(`- /mnt/data/${name.replace('.', '\\.')} \\(`));
  assert.ok(existsSync(path.join(bed.workspaceRoot, chat, name)));
}

describe('third-party clients, each as it really behaves', () => {
  test("Enterprise Gateway's client: empty session, buffers {}, done at idle, 0.5 s drain", async () => {
    const chat = 'tp-eg';
    const run = await runLikeEnterpriseGatewayClient(chatBase(chat), WRITE('eg.txt'), `?token=${bed.jupyter.token}`);
    assertRan(run, chat, 'eg.txt');
    // The card came before idle (done for this client), not in the drain after it.
    assert.ok(run.types.indexOf('display_data') < run.types.indexOf('status', run.types.indexOf('display_data')));
  });

  test("AutoGen's executor: token header, one kernel, kernel_info before each batch, done at idle", async () => {
    const chat = 'tp-autogen';
    const executor = await AutoGenLikeExecutor.start(chatBase(chat), bed.jupyter.token);
    const first = await executor.execute(WRITE('a1.csv'));
    assertRan(first, chat, 'a1.csv');
    // The rich card's HTML is what AutoGen saves as a file: one per run that saved files.
    assert.equal(first.html.length, 1);
    const second = await executor.execute(WRITE('a2.csv'));
    assertRan(second, chat, 'a2.csv');
    assert.doesNotMatch(second.plain.join('\n'), /a1\.csv/, "each batch's card is its own");
    executor.close();
  });

  test("Datalayer's client: Bearer token, v1 subprotocol, done at both idle and execute_reply", async () => {
    const chat = 'tp-datalayer';
    // Debian's Jupyter Server 1.23 does not read a Bearer token (2.x does): the query carries it too.
    const run = await runLikeDatalayer(
      chatBase(chat),
      bed.jupyter.token,
      WRITE('d.json'),
      `?token=${bed.jupyter.token}`,
    );
    assert.equal(run.protocol, 'v1.kernel.websocket.jupyter.org');
    assertRan(run, chat, 'd.json');
  });

  test("smolagents' executor: ?token= on both, no channel field, a new WebSocket per run", async () => {
    const chat = 'tp-smol';
    const executor = await SmolagentsLikeExecutor.start(chatBase(chat), bed.jupyter.token);
    assertRan(await executor.execute(WRITE('s1.txt')), chat, 's1.txt');
    assertRan(await executor.execute(WRITE('s2.txt')), chat, 's2.txt');
    await executor.close();
  });
});
