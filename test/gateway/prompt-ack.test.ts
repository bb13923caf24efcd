import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { GatewayAcks } from '../../proxy/gateway/prompt-ack.ts';

/**
 * A real WebSocket pair: the server plays the gateway and records, in order, the pongs and
 * messages it hears. The client (the sidecar's side) echoes on a later turn of the event loop,
 * so a pong heard before the echo was sent at once.
 */
describe('GatewayAcks', () => {
  let server: WebSocketServer;
  before(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(server, 'listening');
  });
  after(() => server.close());

  async function pair(onMessage: (client: WebSocket, acks: GatewayAcks, data: string) => void) {
    const accepted = once(server, 'connection') as Promise<[WebSocket]>;
    const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
    const acks = new GatewayAcks(client);
    client.on('message', (data) => onMessage(client, acks, String(data)));
    const [gateway] = await accepted;
    const heard: string[] = [];
    gateway.on('pong', () => heard.push('pong'));
    gateway.on('message', (data) => heard.push(String(data)));
    const heardNext = (what: string) =>
      new Promise<void>((resolve) => {
        const check = () =>
          heard.at(-1) === what && (resolve(), gateway.off('pong', check), gateway.off('message', check));
        gateway.on('pong', check);
        gateway.on('message', check);
      });
    const close = async () => {
      acks.stop();
      client.close();
      await once(client, 'close');
    };
    return { gateway, heard, heardNext, close };
  }

  const echoLater = (client: WebSocket) => setImmediate(() => client.send('echo'));

  it('acknowledges a reply-like message on the same turn, once for a burst', async () => {
    let echoed = false;
    const { gateway, heard, heardNext, close } = await pair((client, acks) => {
      acks.now();
      if (!echoed) echoLater(client);
      echoed = true;
    });
    const echo = heardNext('echo');
    for (let i = 0; i < 3; i++) gateway.send(`status ${i}`);
    await echo;
    assert.equal(heard[0], 'pong');
    assert.ok(heard.filter((h) => h === 'pong').length <= 3, 'at most one pong per read');
    await close();
  });

  it('acknowledges a run of stream output once it pauses, not per message', async () => {
    const { gateway, heard, heardNext, close } = await pair((client, acks, data) => {
      if (data === 'stream') acks.afterRun();
      else echoLater(client);
    });
    const pong = heardNext('pong');
    for (let i = 0; i < 200; i++) gateway.send('stream');
    await pong;
    const echo = heardNext('echo');
    gateway.send('end');
    await echo;
    const pongs = heard.filter((h) => h === 'pong').length;
    assert.ok(pongs >= 1 && pongs < 20, `${pongs} pongs for a run of 200 messages`);
    await close();
  });

  it('without a call the gateway hears nothing until the client speaks', async () => {
    const { gateway, heard, heardNext, close } = await pair((client) => echoLater(client));
    const echo = heardNext('echo');
    gateway.send('status');
    await echo;
    assert.deepEqual(heard, ['echo']);
    await close();
  });

  it('sends nothing on a socket that is closing', async () => {
    const { gateway, heard, close } = await pair((client, acks) => {
      client.close();
      acks.now();
      acks.afterRun();
    });
    const closed = once(gateway, 'close');
    gateway.send('last words');
    await closed;
    assert.deepEqual(heard, []);
    await close();
  });
});

describe('GatewayAcks timing, on a driven clock', () => {
  function driven(t: { mock: { timers: { enable(o: { apis: ['setTimeout'] }): void; tick(ms: number): void } } }) {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let clock = 0;
    const pongs: number[] = [];
    const gateway = { OPEN: 1, readyState: 1, pong: () => void pongs.push(clock) } as const;
    const acks = new GatewayAcks(gateway as never, 2, () => clock);
    const advance = (ms: number) => {
      for (let i = 0; i < ms; i++) {
        clock += 1;
        t.mock.timers.tick(1);
      }
    };
    return { acks, pongs, advance, at: () => clock };
  }

  it('a short burst gets its pong quietMs after its last message', (t) => {
    const { acks, pongs, advance } = driven(t);
    acks.afterRun();
    advance(1);
    acks.afterRun();
    advance(5);
    assert.deepEqual(pongs, [3]);
  });

  it('a long run that keeps pausing briefly gets at most a pong every 8 ms, not one per pause', (t) => {
    const { acks, pongs, advance } = driven(t);
    // Two messages 1 ms apart, then 2 ms of quiet: a pause long enough for a pong each time.
    for (let ms = 0; ms < 400; ms++) {
      if (ms % 4 < 2) acks.afterRun();
      advance(1);
    }
    assert.ok(pongs.length >= 1, 'the pauses are acknowledged');
    assert.ok(pongs.length <= 400 / 8 + 5, `${pongs.length} pongs for 100 pauses in 400 ms`);
    for (let i = 1; i < pongs.length; i++)
      if (pongs[i]! > 20) assert.ok(pongs[i]! - pongs[i - 1]! >= 8, `pongs at ${pongs[i - 1]} and ${pongs[i]} ms`);
  });

  it('a long run is looked at less often, and still gets its pong soon after it pauses', (t) => {
    const { acks, pongs, advance, at } = driven(t);
    for (let i = 0; i < 100; i++) {
      acks.afterRun();
      advance(1);
    }
    assert.deepEqual(pongs, [], 'no pong while the run goes on');
    const last = at() - 1;
    advance(20);
    assert.equal(pongs.length, 1);
    assert.ok(pongs[0]! - last >= 2 && pongs[0]! - last <= 2 + 8, `pong ${pongs[0]! - last} ms after the run`);
  });
});
