import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { LocalSocket } from '../../proxy/gateway/relay-socket.ts';

function collect(socket: LocalSocket): Array<[string, boolean]> {
  const got: Array<[string, boolean]> = [];
  socket.on('message', (data: Buffer, binary: boolean) => got.push([data.toString(), binary]));
  return got;
}

test('what one end sends the other receives in order, never inside the send call', async () => {
  const [a, b] = LocalSocket.pair();
  const got = collect(b);
  a.send('one', { binary: false });
  a.send(Buffer.from('two'), { binary: true });
  assert.deepEqual(got, [], 'delivered inside send');
  await new Promise((resolve) => a.send('three', { binary: false }, resolve));
  await Promise.resolve();
  assert.deepEqual(got, [
    ['one', false],
    ['two', true],
    ['three', false],
  ]);
});

test('a paused end keeps what arrives until it is resumed', async () => {
  const [a, b] = LocalSocket.pair();
  const got = collect(b);
  b.pause();
  assert.equal(b.isPaused, true);
  a.send('held', { binary: false });
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(got, []);
  b.resume();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(got, [['held', false]]);
});

test('closing one end delivers what was sent, then closes both ends once, with the code and reason', async () => {
  const [a, b] = LocalSocket.pair();
  const got = collect(b);
  const closes: string[] = [];
  a.on('close', (code: number, reason: Buffer) => closes.push(`a ${code} ${reason.toString()}`));
  b.on('close', (code: number, reason: Buffer) => closes.push(`b ${code} ${reason.toString()}`));
  a.send('last', { binary: false });
  a.close(1001, 'going away');
  b.close(1000);
  assert.equal(a.readyState, 2);
  await once(b, 'close');
  assert.deepEqual(got, [['last', false]]);
  assert.deepEqual(closes, ['a 1001 going away', 'b 1001 going away']);
  assert.equal(b.readyState, 3);
  const failed = await new Promise<Error | undefined>((resolve) => b.send('late', { binary: false }, resolve));
  assert.ok(failed instanceof Error, 'a send on a closed end reports an error');
});
