import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { acknowledgePromptly } from '../../proxy/gateway/prompt-ack.ts';

/**
 * A real WebSocket pair: the server plays the gateway. The client answers each burst by echoing
 * one message on the next turn of the loop (after the current turn's ticks), so whether a pong
 * reached the server before that echo tells whether the client acknowledged the read at once.
 */
describe('acknowledgePromptly', () => {
  let server: WebSocketServer;
  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
  });
  after(() => server.close());

  async function burst(prompt: boolean, messages: number): Promise<string[]> {
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    if (prompt) acknowledgePromptly(client);
    let echoed = false;
    client.on('message', () => {
      if (echoed) return;
      echoed = true;
      setImmediate(() => client.send('echo'));
    });
    const [gateway] = await accepted;
    const seen: string[] = [];
    const echo = new Promise<void>((resolve) =>
      gateway.on('message', (data) => {
        seen.push(String(data));
        resolve();
      }),
    );
    gateway.on('pong', () => seen.push('pong'));
    for (let i = 0; i < messages; i++) gateway.send(`output ${i}`);
    await echo;
    client.close();
    await once(client, 'close');
    return seen;
  }

  it('answers a read with an unsolicited pong before the client has anything to say', async () => {
    const seen = await burst(true, 3);
    assert.equal(seen[0], 'pong');
    assert.ok(seen.filter((s) => s === 'pong').length <= 3, 'at most one pong per read');
    assert.equal(seen.at(-1), 'echo');
  });

  it('without it, the gateway hears nothing until the client speaks', async () => {
    assert.deepEqual(await burst(false, 3), ['echo']);
  });

  it('sends nothing once the socket is closing', async () => {
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    acknowledgePromptly(client);
    const [gateway] = await accepted;
    let pongs = 0;
    gateway.on('pong', () => pongs++);
    const closing = once(gateway, 'close');
    client.on('message', () => client.close());
    gateway.send('last words');
    await closing;
    assert.equal(pongs, 0);
  });
});
