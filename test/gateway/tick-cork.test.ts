import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, test } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { holdWritesUntilNextTick } from '../../proxy/gateway/tick-cork.ts';

const servers: WebSocketServer[] = [];
after(() => {
  for (const server of servers) server.close();
});

/** A real ws pair on loopback: the server side's socket is the one written to. */
async function connectedPair(): Promise<{ serverSide: WebSocket; client: WebSocket }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  const serverSide = new Promise<WebSocket>((resolve) => server.once('connection', resolve));
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
  await new Promise((resolve, reject) => client.once('open', resolve).once('error', reject));
  return { serverSide: await serverSide, client };
}

test('frames sent in one tick leave in one write, in order, and later ticks are not held', async () => {
  const { serverSide, client } = await connectedPair();
  try {
    const socket = (serverSide as unknown as { _socket: Duplex & { _writev?: unknown; _write: unknown } })._socket;
    let writes = 0;
    for (const method of ['_write', '_writev'] as const) {
      const original = socket[method] as ((...args: unknown[]) => unknown) | undefined;
      if (!original) continue;
      socket[method] = (...args: unknown[]) => {
        writes++;
        return original.apply(socket, args);
      };
    }
    const received: string[] = [];
    const all = new Promise<void>((resolve) =>
      client.on('message', (data: Buffer) => {
        received.push(data.toString());
        if (received.length === 101) resolve();
      }),
    );
    for (let i = 0; i < 100; i++) {
      holdWritesUntilNextTick(serverSide);
      serverSide.send(`m${i}`);
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(writes, 1, '100 frames, one write');
    holdWritesUntilNextTick(serverSide);
    serverSide.send('later');
    await all;
    assert.deepEqual(received, [...Array.from({ length: 100 }, (_, i) => `m${i}`), 'later']);
  } finally {
    client.close();
    serverSide.close();
  }
});
