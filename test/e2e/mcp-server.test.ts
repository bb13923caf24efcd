/**
 * The MCP server end to end: the official SDK's client against the sidecar in front of a real
 * Jupyter Server. Files written by the code come back as links that download the exact bytes and
 * as resources; state stays within a chat; callers are authenticated; a killed kernel, a long
 * call and a flood of chats each end the way the tool result says.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { startSidecar, startTestBed, type RunningSidecar, type TestBed } from '../support/harness.ts';
import { connectMcp, execute, linksOf, textOf } from '../support/mcp-client.ts';
import { RawKernelClient } from '../support/raw-kernel-client.ts';
import { signToken } from '../support/tokens.ts';
import { secretKey, signFileLinkToken } from '../../proxy/links/link-token.ts';

const SECRET = 'mcp-test-secret-that-is-at-least-32-bytes';
const KEY = 'mcp-test-key';
let bed: TestBed;
let proxy: RunningSidecar;
const clients: Client[] = [];

before(async () => {
  bed = await startTestBed();
  proxy = await startSidecar(
    bed,
    { mcp: 'true', 'mcp-output-chars': '2000', 'card-max-files': '3', 'mcp-max-kernels': '40' },
    {},
    { FILES_API_SECRET: SECRET, MCP_API_KEY: KEY, GATEWAY_TOKEN: bed.jupyter.token },
  );
});
after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await proxy?.stop();
  await bed?.stop();
});

async function chatClient(chat: string, user?: string, target = proxy): Promise<Client> {
  const headers: Record<string, string> = { authorization: `Bearer ${KEY}`, 'x-openwebui-chat-id': chat };
  if (user) headers['x-openwebui-user-id'] = user;
  const client = await connectMcp(target.url, headers);
  clients.push(client);
  return client;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

describe('execute_code', () => {
  test('an xlsx written by pandas comes back as a link with the exact bytes and as a resource', async () => {
    const client = await chatClient('xlsx-chat');
    const result = await execute(
      client,
      [
        'import pandas as pd, hashlib',
        "df = pd.DataFrame({'a': [1, 2, 3], 'b': ['x', 'y', 'z']})",
        "df.to_excel('/mnt/data/report.xlsx', index=False)",
        "print(hashlib.sha256(open('/mnt/data/report.xlsx', 'rb').read()).hexdigest())",
      ].join('\n'),
    );
    assert.equal(result.isError, false, textOf(result));
    const text = textOf(result);
    const printed = /^[0-9a-f]{64}$/m.exec(text)?.[0];
    assert.ok(printed, text);
    assert.match(text, /\/mnt\/data\/report\.xlsx/);
    assert.doesNotMatch(text, new RegExp(bed.workspaceRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const [link] = linksOf(result);
    assert.ok(link, 'a resource_link');
    assert.equal(link.name, 'report.xlsx');
    assert.equal(link.mimeType, 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const download = await fetch(link.uri);
    assert.equal(download.status, 200);
    const bytes = new Uint8Array(await download.arrayBuffer());
    assert.equal(sha256(bytes), printed);
    assert.equal(link.size, bytes.length);

    const read = await client.readResource({ uri: link.uri });
    const content = read.contents[0] as { blob: string; mimeType: string };
    assert.equal(content.mimeType, link.mimeType);
    assert.equal(sha256(Buffer.from(content.blob, 'base64')), printed);
    const listed = await client.listResources();
    assert.deepEqual(
      listed.resources.map((r) => r.name),
      ['report.xlsx'],
    );
  });

  test('a second call reads the first call’s file and variable; another chat sees neither', async () => {
    const first = await chatClient('state-a');
    await execute(first, "secret = 41\nopen('/mnt/data/note.txt', 'w').write('from the first call')");
    const second = await execute(first, "print(secret + 1, open('/mnt/data/note.txt').read())");
    assert.match(textOf(second), /42 from the first call/);

    const other = await chatClient('state-b');
    const theirs = await execute(other, 'print(secret)');
    assert.equal(theirs.isError, true);
    assert.match(textOf(theirs), /NameError/);
    const files = await other.callTool({ name: 'list_files', arguments: {} });
    assert.match(textOf(files as never), /No files/);
    await assert.rejects(
      other.readResource({ uri: linksOf(await execute(first, "open('/mnt/data/x.csv','w').write('1')"))[0]!.uri }),
      /ERR_FILE_NOT_FOUND/,
    );
  });

  test('an image comes back as image content; long output is cut to head and tail with a note', async () => {
    const client = await chatClient('image-chat');
    const result = await execute(
      client,
      [
        // ipykernel's default backend is the inline one: plt.show() displays a PNG.
        'import matplotlib.pyplot as plt',
        'plt.plot([1, 2, 3]); plt.show()',
        "print('HEAD' + 'x' * 5000 + 'TAIL')",
      ].join('\n'),
    );
    const image = result.content.find((c) => c.type === 'image') as { data: string; mimeType: string } | undefined;
    assert.ok(image, 'an image part');
    assert.equal(image.mimeType, 'image/png');
    assert.equal(Buffer.from(image.data, 'base64').subarray(1, 4).toString(), 'PNG');
    const text = textOf(result);
    assert.match(text, /HEAD/);
    assert.match(text, /TAIL/);
    assert.match(text, /characters of output cut here/);
    assert.ok(text.length < 3000, `cut to the budget, got ${text.length}`);
  });

  test('a run that writes many files gets a card naming the first few and a zip of them all', async () => {
    const client = await chatClient('many-files');
    const result = await execute(client, "for i in range(7): open(f'/mnt/data/f{i}.csv', 'w').write(str(i))");
    assert.equal(linksOf(result).length, 3);
    const text = textOf(result);
    assert.match(text, /and 4 more files/);
    const zip = /one zip: (\S+)/.exec(text)?.[1];
    assert.ok(zip, text);
    const res = await fetch(zip);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
  });

  test('files made through tools appear in the element’s event stream', async () => {
    const chat = 'live-tools';
    const client = await chatClient(chat);
    await execute(client, 'pass'); // the chat exists once its kernel does
    const token = await signToken(SECRET, { chat });
    let connected!: () => void;
    const subscribed = new Promise<void>((resolve) => (connected = resolve));
    const event = new Promise<string>((resolve, reject) => {
      const req = http.get(`${proxy.url}sidecar/v1/chats/${chat}/events?token=${token}`, (res) => {
        let buffer = '';
        res.on('data', (chunk: Buffer) => {
          buffer += chunk.toString();
          if (buffer.includes(': connected')) connected();
          const match = /event: file\ndata: (.*)\n/.exec(buffer);
          if (match) {
            resolve(match[1]!);
            req.destroy();
          }
        });
      });
      req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
      setTimeout(() => reject(new Error('no file event')), 30_000).unref();
    });
    await subscribed;
    await execute(client, "open('/mnt/data/live.md', 'w').write('# live')");
    assert.equal((JSON.parse(await event) as { path: string }).path, 'live.md');
  });

  test('10 chats at once: each gets its own output and its own file', async () => {
    const chats = Array.from({ length: 10 }, (_, i) => `crowd-${i}`);
    const results = await Promise.all(
      chats.map(async (chat) => {
        const client = await chatClient(chat);
        const result = await execute(
          client,
          `import time\nme = '${chat}'\ntime.sleep(0.2)\nopen('/mnt/data/who.txt','w').write(me)\nprint('I am', me)`,
        );
        return { chat, result };
      }),
    );
    for (const { chat, result } of results) {
      assert.match(textOf(result), new RegExp(`I am ${chat}$`, 'm'));
      for (const other of chats) if (other !== chat) assert.doesNotMatch(textOf(result), new RegExp(`${other}\\b`));
      const [link] = linksOf(result);
      assert.equal(await (await fetch(link!.uri)).text(), chat);
    }
  });

  test('a kernel killed mid-call is restarted, and the result says variables were lost and files kept', async () => {
    const client = await chatClient('killed');
    await execute(client, "kept = 1\nopen('/mnt/data/kept.txt', 'w').write('still here')");
    const killed = await execute(client, 'import os, signal\nos.kill(os.getpid(), signal.SIGKILL)');
    assert.equal(killed.isError, true);
    assert.match(
      textOf(killed),
      /kernel died during this call.*variables from earlier calls are lost; files in \/mnt\/data were kept/s,
    );
    const next = await execute(client, "print(open('/mnt/data/kept.txt').read())\nprint('kept' in globals())");
    assert.match(textOf(next), /still here\nFalse/);
  });

  test('a kernel that died between calls is reached again, and the next result says variables were lost', async () => {
    const client = await chatClient('died-idle');
    const first = await execute(
      client,
      'import os\nfrom ipykernel import get_connection_file\nkept = 1\nprint(os.getpid(), os.path.basename(get_connection_file()))',
    );
    const [, pid, kernelId] = /^(\d+) kernel-([0-9a-f-]+)\.json$/m.exec(textOf(first)) ?? [];
    assert.ok(pid && kernelId, textOf(first));
    // Another client of the kernel sees the restart when the sidecar's connection does.
    const watcher = await RawKernelClient.connect(
      `${bed.jupyter.url.replace(/^http/, 'ws')}api/kernels/${kernelId}/channels?token=${bed.jupyter.token}`,
      'legacy',
    );
    const restarted = watcher.next((m) => m.header.msg_type === 'status' && m.content.execution_state === 'restarting');
    process.kill(Number(pid), 'SIGKILL');
    await restarted;
    await watcher.close();
    const next = await execute(client, "print('kept' in globals())");
    assert.equal(next.isError, false, textOf(next));
    assert.match(textOf(next), /^False$/m);
    assert.match(textOf(next), /kernel restarted since the last call: variables from earlier calls are lost/);
  });
});

describe('who may call, for which chat', () => {
  const initialize = (headers: Record<string, string>) =>
    fetch(new URL('mcp', proxy.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } },
      }),
    });

  test('no key, a wrong key, another scheme and a link token get 401', async () => {
    const link = await signFileLinkToken(
      secretKey(SECRET),
      { chatId: 'xlsx-chat', fileId: 'abc', issuedMs: Date.now() },
      60,
    );
    for (const headers of [
      { authorization: `Bearer ${link}` },
      {},
      { authorization: 'Bearer wrong' },
      { authorization: 'Basic eDp5' },
    ] as Record<string, string>[]) {
      const res = await initialize(headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer\b/);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'ERR_UNAUTHORIZED');
    }
    const ok = await initialize({ authorization: `Bearer ${KEY}` });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });

  test('a body that is not JSON, too large or compressed is answered with a JSON-RPC error; a good one still works', async () => {
    const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
      new Promise<{ status: number; connection: string | undefined; text: string }>((resolve, reject) => {
        const req = http.request(
          new URL('mcp', proxy.url),
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${KEY}`,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
              ...headers,
            },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8').on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection, text }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    const errorOf = (text: string) => (JSON.parse(text) as { error: { code: number; message: string } }).error;

    const bad = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad.text).code, -32700);

    const fiveMb = Buffer.alloc(5 * 1024 * 1024, 0x20);
    const declared = await post(fiveMb);
    assert.equal(declared.status, 413, 'by Content-Length');
    assert.equal(declared.connection, 'close');
    const chunked = await post(fiveMb, { 'transfer-encoding': 'chunked' });
    assert.equal(chunked.status, 413, 'streamed past the limit');
    assert.match(errorOf(chunked.text).message, /larger than 4194304 bytes/);

    const gzipped = await post('{}', { 'content-encoding': 'gzip' });
    assert.equal(gzipped.status, 415);

    const ok = await initialize({ authorization: `Bearer ${KEY}` });
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  });

  test('a chat token works for its chat and refuses a header naming another', async () => {
    const token = await signToken(SECRET, { chat: 'token-chat' });
    const client = await connectMcp(proxy.url, { authorization: `Bearer ${token}` });
    clients.push(client);
    assert.match(textOf(await execute(client, "print('in', 'token-chat')")), /in token-chat/);
    const crossing = await connectMcp(proxy.url, { authorization: `Bearer ${token}`, 'x-chat-id': 'xlsx-chat' });
    clients.push(crossing);
    const refused = await execute(crossing, 'print(1)');
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /ERR_MCP_CHAT_MISMATCH/);
  });

  test('another user is refused the chat; the owner is not', async () => {
    const owner = await chatClient('owned', 'alice');
    assert.match(textOf(await execute(owner, "print('mine')")), /mine/);
    const intruder = await chatClient('owned', 'mallory');
    const refused = await execute(intruder, "print(open('/etc/hostname').read())");
    assert.equal(refused.isError, true);
    assert.match(textOf(refused), /ERR_CHAT_OTHER_OWNER/);
    const files = await intruder.callTool({ name: 'list_files', arguments: {} });
    assert.equal(files.isError, true);
  });

  test('no chat named: the MCP session is the chat', async () => {
    const a = await connectMcp(proxy.url, { authorization: `Bearer ${KEY}` });
    const b = await connectMcp(proxy.url, { authorization: `Bearer ${KEY}` });
    clients.push(a, b);
    await execute(a, 'mine = "a"');
    assert.match(textOf(await execute(a, 'print(mine)')), /^a$/m);
    assert.match(textOf(await execute(b, 'print(mine)')), /NameError/);
  });
});

describe('limits', () => {
  let limited: RunningSidecar;
  before(async () => {
    limited = await startSidecar(
      bed,
      {
        mcp: 'true',
        'mcp-timeout-s': '2',
        'mcp-queue': '1',
        'mcp-max-kernels': '2',
        // No card in the kernel's output: the tool still finds the execution's files itself.
        'announce-files': 'off',
        'data-dir': `${bed.dir}/limited-store`,
      },
      {},
      { MCP_API_KEY: KEY, GATEWAY_TOKEN: bed.jupyter.token },
    );
  });
  after(() => limited?.stop());

  test('with file cards off (--announce-files off) the files still come back as links', async () => {
    const client = await chatClient('slow', undefined, limited);
    const result = await execute(client, "before = 7\nopen('/mnt/data/no-card.txt', 'w').write('found anyway')");
    const [link] = linksOf(result);
    assert.equal(link?.name, 'no-card.txt', textOf(result));
    assert.equal(await (await fetch(link.uri)).text(), 'found anyway');
  });

  test('a call past the timeout is interrupted and says so; the kernel keeps its state', async () => {
    const client = await chatClient('slow', undefined, limited);
    const result = await execute(client, 'import time\nprint("started", flush=True)\ntime.sleep(600)');
    assert.equal(result.isError, true);
    assert.match(textOf(result), /ran past the 2 s limit and was interrupted/);
    assert.match(textOf(result), /started/);
    assert.match(textOf(result), /KeyboardInterrupt/);
    assert.match(textOf(await execute(client, 'print(before)')), /^7$/m);
  });

  test('a chat with a running call and a full queue answers busy', async () => {
    const client = await chatClient('queued', undefined, limited);
    const calls = [0, 1, 2].map(() => execute(client, 'import time\ntime.sleep(0.5)'));
    const texts = (await Promise.all(calls)).map(textOf);
    assert.equal(texts.filter((t) => /ERR_MCP_BUSY/.test(t)).length, 1, texts.join('\n---\n'));
  });

  test('past the per-sidecar kernel limit a new chat gets a clear error', async () => {
    // 'slow' and 'queued' hold the two kernels this sidecar allows.
    const client = await chatClient('one-too-many', undefined, limited);
    const result = await execute(client, 'print(1)');
    assert.equal(result.isError, true);
    assert.match(textOf(result), /ERR_MCP_KERNEL_LIMIT: This sidecar already runs 2 tool kernels/);
  });
});
